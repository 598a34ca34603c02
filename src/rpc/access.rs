//! The access line of every RPC request, written in one place: a middleware wrapped once around the
//! bridge's routes. A route takes an [`Access`] and tells it what was called and who called; it answers a
//! failure with a [`Fault`], which the middleware reads back from the response. A request whose route
//! takes no `Access` (health, Salt Edge's callbacks) writes no access line.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};

use crate::rpc::answer::Fault;
use crate::rpc::fault::{self, escaped};
use crate::rpc::services::Caller;
use crate::types::client_address::ClientAddress;

struct Note {
    protocol: &'static str,
    what: String,
    caller: Caller,
}

/// One request's access record, as its route fills it in.
#[derive(Clone)]
pub struct Access(Rc<RefCell<Note>>);

impl Access {
    /// What is called (`service.method`, a model method; never arguments or credentials), over which
    /// protocol. Said again as the request is understood better.
    pub fn describe(&self, protocol: &'static str, what: impl Into<String>) {
        let mut note = self.0.borrow_mut();
        note.protocol = protocol;
        note.what = what.into();
    }

    /// Who called, as the call found out.
    pub fn caller(&self, caller: Caller) {
        self.0.borrow_mut().caller = caller;
    }
}

impl FromRequest for Access {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Access, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut extensions = req.extensions_mut();
        // Until the route says more: the path, over the protocol it serves.
        let access = extensions.get::<Access>().cloned().unwrap_or_else(|| {
            let protocol = if req.path().starts_with("/xmlrpc") { "xmlrpc" } else { "jsonrpc" };
            Access(Rc::new(RefCell::new(Note { protocol, what: req.path().to_string(), caller: Caller::default() })))
        });
        extensions.insert(access.clone());
        std::future::ready(Ok(access))
    }
}

/// Where a request comes from: its socket peer, or behind a trusted proxy the client the proxy names
/// (`server` resolves it once per request; a forwarding header from any other peer is never read).
#[derive(Clone, Copy, Debug)]
pub struct Client(pub ClientAddress);

impl Client {
    pub fn of(req: &HttpRequest) -> ClientAddress {
        let resolved = req.extensions().get::<ClientAddress>().copied();
        resolved.unwrap_or_else(|| ClientAddress::direct(req.peer_addr().map_or(crate::auth::LOCAL, |a| a.ip())))
    }
}

impl FromRequest for Client {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Client, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Client(Client::of(req))))
    }
}

/// The client for a log line: `address:port` of a direct client; the address a trusted proxy named,
/// then `via` that proxy's socket address.
pub fn peer_of(req: &HttpRequest) -> String {
    let socket = req.peer_addr().map_or_else(|| "-".to_string(), |a| a.to_string());
    match Client::of(req) {
        ClientAddress { ip, via: Some(_), .. } => format!("{ip} via {socket}"),
        _ => socket,
    }
}

/// The middleware: runs the request, then writes its access line (and logs its fault) when its route
/// described it.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let response = next.call(req).await?;
    let access = response.request().extensions().get::<Access>().cloned();
    // A request refused before its route ran (a body too large or too slow) is not an RPC call.
    let error = response.response().error();
    let fault = error.and_then(|e| e.as_error::<Fault>());
    if let (Some(Access(note)), true) = (access, error.is_none() || fault.is_some()) {
        let note = note.borrow();
        if let Some(fault) = fault {
            fault::log(&fault.error, &note.what);
        }
        write_line(&note, &peer_of(response.request()), fault, started);
    }
    Ok(response)
}

/// The access line of one RPC request, at info: what was called, by whom (uid and company, 0 when not
/// authenticated), from where, the fault code (0 for success) and the time taken. Refused credentials
/// log "access denied" with the login the caller gave. Client-supplied names are escaped; the fields
/// stay separate so a JSON log format keeps them apart.
fn write_line(note: &Note, peer: &str, fault: Option<&Fault>, started: Instant) {
    let Note { protocol, what, caller } = note;
    let uid = caller.identity.map(|i| i.uid).or(caller.claimed_uid).unwrap_or(0);
    let company = caller.identity.map_or(0, |i| i.company_id);
    let fault = fault.map_or(0, |f| fault::int_code(f.error.kind()));
    let elapsed = started.elapsed();
    let ms = elapsed.as_millis() as u64;
    let outcome = match (fault, caller.denied) {
        (_, true) | (3, _) => "access_denied",
        (0, _) => "ok",
        (2, _) => "user_error",
        (4, _) => "access_error",
        _ => "error",
    };
    let labels = crate::metrics::RequestLabels { protocol, method: metric_method(what), outcome };
    crate::metrics::request(labels, elapsed.as_secs_f64());
    let call = escaped(what);
    if caller.denied {
        let login = escaped(caller.login.as_deref().unwrap_or("-"));
        tracing::info!(target: "bankbridge::access", protocol, call = %call, login = %login, uid, peer = %peer, fault, ms, "access denied");
    } else {
        tracing::info!(target: "bankbridge::access", protocol, call = %call, uid, company, peer = %peer, fault, ms, "access");
    }
}

/// The method label of a call's metrics, from its description (`service.method`, `object.execute_kw
/// MODEL.METHOD`, `web MODEL.METHOD`): the model method of a model call, the service method otherwise,
/// `other` for anything no model or service serves (a client's made-up name must not become a label).
fn metric_method(what: &str) -> &'static str {
    const SERVICE_METHODS: &[&str] = &[
        "common.version",
        "common.about",
        "common.login",
        "common.authenticate",
        "common.set_loglevel",
        "db.list",
        "db.server_version",
        "db.db_exist",
        "db.list_lang",
        "web.session.authenticate",
        "web.session.get_session_info",
        "web.session.destroy",
        "web.webclient.version_info",
        "web.database.list",
    ];
    match what.rsplit_once(' ') {
        Some((_, model_method)) => {
            model_method.rsplit_once('.').and_then(|(_, method)| crate::models::known_method(method)).unwrap_or("other")
        }
        None => SERVICE_METHODS.iter().copied().find(|known| *known == what).unwrap_or("other"),
    }
}
