//! How an RPC route answers: an XML or JSON body, or a [`Fault`], Odoo's error in the request's own
//! protocol (XML-RPC, JSON-RPC or JSON-2), which the access middleware reads back from the response.

use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::error::Error;
use crate::rpc::{jsonrpc, xmlrpc};

pub fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/xml; charset=utf-8").body(body)
}

pub fn json(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::json()).body(body.to_string())
}

/// A failed RPC request, answered in its protocol's own form: Odoo's fault for XML-RPC, a JSON-RPC error
/// object (or Odoo's "session expired") for JSON-RPC. Routes return it with `?`; the access middleware
/// reads it back from the response (`rpc::access`) for the access line and the fault log.
#[derive(Debug)]
pub struct Fault {
    pub error: Error,
    form: Form,
}

#[derive(Debug)]
enum Form {
    XmlRpc {
        legacy: bool,
    },
    JsonRpc {
        id: serde_json::Value,
        status: StatusCode,
    },
    SessionExpired {
        id: serde_json::Value,
    },
    /// Odoo 19's `/json/2`: an HTTP status with Odoo's JSON error object (or, for a request its router
    /// refuses, its HTML page); a 401 carries `WWW-Authenticate: Bearer`.
    Json2 {
        status: StatusCode,
        content_type: &'static str,
        body: String,
    },
}

impl Fault {
    /// An XML-RPC fault: integer codes on `/xmlrpc/2`, Odoo's legacy string codes on `/xmlrpc`.
    pub fn xmlrpc(error: Error, legacy: bool) -> Fault {
        Fault { error, form: Form::XmlRpc { legacy } }
    }

    /// A JSON-RPC error answering the request `id`.
    pub fn jsonrpc(id: serde_json::Value, error: Error) -> Fault {
        Fault { error, form: Form::JsonRpc { id, status: StatusCode::OK } }
    }

    /// A JSON-RPC error with another HTTP status than 200 (a request refused before it is read).
    pub fn jsonrpc_with_status(id: serde_json::Value, error: Error, status: StatusCode) -> Fault {
        Fault { error, form: Form::JsonRpc { id, status } }
    }

    /// A `/json/2` error answered as Odoo 19 answers it: the status and body `fault::json2_error` gives.
    pub fn json2(error: Error) -> Fault {
        let (status, body) = crate::rpc::fault::json2_error(&error);
        Fault::json2_response(error, status, "application/json; charset=utf-8", body.to_string())
    }

    /// A `/json/2` answer of the HTTP layer itself (werkzeug's errors in Odoo, or its HTML pages), with the
    /// error it stands for in the access log.
    pub fn json2_response(error: Error, status: u16, content_type: &'static str, body: String) -> Fault {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Fault { error, form: Form::Json2 { status, content_type, body } }
    }

    /// Odoo's "session expired" (a web route without a live session); logged as access denied.
    pub fn session_expired(id: serde_json::Value) -> Fault {
        Fault { error: Error::access_denied(), form: Form::SessionExpired { id } }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl actix_web::ResponseError for Fault {
    fn status_code(&self) -> StatusCode {
        match &self.form {
            Form::JsonRpc { status, .. } | Form::Json2 { status, .. } => *status,
            Form::XmlRpc { .. } | Form::SessionExpired { .. } => StatusCode::OK,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match &self.form {
            Form::XmlRpc { legacy } => xml(xmlrpc::encode_fault(&self.error, *legacy)),
            Form::JsonRpc { id, status } => HttpResponse::build(*status)
                .content_type(ContentType::json())
                .body(jsonrpc::error(id.clone(), &self.error).to_string()),
            Form::SessionExpired { id } => HttpResponse::Ok()
                .content_type(ContentType::json())
                .body(jsonrpc::session_expired(id.clone()).to_string()),
            Form::Json2 { status, content_type, body } => {
                let mut response = HttpResponse::build(*status);
                if *status == StatusCode::UNAUTHORIZED {
                    response.insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"));
                }
                response.content_type(*content_type).body(body.clone())
            }
        }
    }
}
