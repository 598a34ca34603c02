//! What one client may hold of the server: connections per address, requests in flight per client behind
//! a trusted proxy, and time to send a request. Each request learns here who its client is
//! (`ClientAddress`, put in the request's extensions for the wire).
//!
//! A direct connection counts against its address from the moment it is accepted, before it sends a
//! byte: one over the limit is answered 503 and closed at once, so idle connections from one address
//! cannot fill the server's slots while they wait for the request-head timeout. A connection from a
//! trusted proxy is the proxy's, shared by many clients: it is not counted per address; instead each
//! request counts against the client the proxy names while it runs.

use std::collections::HashMap;
use std::future::Future as _;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse};
use actix_web::{web, HttpMessage as _, HttpResponse};

use crate::types::client_address::{ClientAddress, ForwardingHeaders, TrustedProxies};

/// Time a client has to send a whole request body once its head arrived (a 4 MiB body at 200 KiB/s):
/// a client dripping a byte every few seconds is cut off instead of holding its connection for ever.
pub const REQUEST_BODY_DEADLINE: Duration = Duration::from_secs(20);

const BUSY_BODY: &str = "Too many connections from your address; retry later.";

/// The limits and the peers whose forwarding headers are believed, shared by every worker.
pub struct ClientLimits {
    /// Connections one address may hold (direct clients), or requests one client may have running
    /// (behind a trusted proxy).
    pub per_client: u32,
    pub trusted: TrustedProxies,
    open: Mutex<HashMap<IpAddr, u32>>,
    running: Mutex<HashMap<IpAddr, u32>>,
    /// When the last "refused" warning was logged: a flood is summarised, not logged line by line.
    last_warning: Mutex<Option<Instant>>,
}

/// How a connection was admitted, kept in its connection data while it lives.
enum Admission {
    /// From a trusted proxy: not counted per address.
    Proxy,
    /// A direct client's place in its address's count, released when the connection closes.
    Counted(Slot),
}

/// One place in a per-address count, given back when dropped.
struct Slot {
    limits: Arc<ClientLimits>,
    key: IpAddr,
    requests: bool,
    over_limit: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let counts = if self.requests { &self.limits.running } else { &self.limits.open };
        let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl ClientLimits {
    pub fn new(per_client: u32, trusted: TrustedProxies) -> Arc<ClientLimits> {
        Arc::new(ClientLimits {
            per_client,
            trusted,
            open: Mutex::default(),
            running: Mutex::default(),
            last_warning: Mutex::default(),
        })
    }

    fn take(self: &Arc<Self>, key: IpAddr, requests: bool) -> Slot {
        let counts = if requests { &self.running } else { &self.open };
        let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(key).or_insert(0);
        *count += 1;
        Slot { limits: Arc::clone(self), key, requests, over_limit: *count > self.per_client }
    }

    fn warn_refused(&self, client: IpAddr, what: &str) {
        let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
            *last = Some(Instant::now());
            tracing::warn!(client = %client, limit = self.per_client, "{what} refused: too many from this client (logged once per 10 s)");
        }
    }

    /// At accept (actix's `on_connect`): counts a direct connection against its address, and refuses one
    /// over the limit at once (a 503 written straight to the socket, then both directions shut, so the
    /// server drops it on its next read instead of waiting for a request head).
    pub fn admit_connection(self: &Arc<Self>, stream: &tokio::net::TcpStream, data: &mut actix_web::dev::Extensions) {
        let Ok(peer) = stream.peer_addr() else { return };
        let client = ClientAddress::direct(peer.ip());
        if self.trusted.contains(client.ip) {
            data.insert(Admission::Proxy);
            return;
        }
        let slot = self.take(client.limit_key(), false);
        if slot.over_limit {
            self.warn_refused(client.ip, "connection");
            let socket = socket2::SockRef::from(stream);
            let busy = format!(
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{BUSY_BODY}",
                BUSY_BODY.len()
            );
            // A fresh socket's send buffer takes these few bytes at once; should it not, the shutdown below
            // still closes the connection.
            let _ = socket.send_with_flags(busy.as_bytes(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL);
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        data.insert(Admission::Counted(slot));
    }
}

fn busy(req: ServiceRequest) -> ServiceResponse<BoxBody> {
    let response = HttpResponse::ServiceUnavailable().force_close().insert_header(("Retry-After", "5")).body(BUSY_BODY);
    req.into_response(response)
}

/// The request's client, from its socket peer and, when that peer is a trusted proxy, its forwarding
/// headers.
fn resolve(req: &ServiceRequest, trusted: &TrustedProxies) -> ClientAddress {
    let Some(peer) = req.peer_addr() else { return ClientAddress::direct(crate::auth::LOCAL) };
    if !trusted.contains(peer.ip()) {
        return ClientAddress::direct(peer.ip());
    }
    let lines = |name: &str| -> Vec<&str> { req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect() };
    let (forwarded, x_forwarded_for, x_forwarded_proto) =
        (lines("forwarded"), lines("x-forwarded-for"), lines("x-forwarded-proto"));
    let headers = ForwardingHeaders {
        forwarded: &forwarded,
        x_forwarded_for: &x_forwarded_for,
        x_forwarded_proto: &x_forwarded_proto,
    };
    ClientAddress::resolve(peer.ip(), headers, trusted)
}

/// Every request: who its client is, whether that client may have one more request running, and a
/// deadline on its body.
pub fn guard<S>(
    limits: &Arc<ClientLimits>,
    mut req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let client = resolve(&req, &limits.trusted);
    req.extensions_mut().insert(client);
    let admission = req.conn_data::<Admission>();
    let (refused, running) = match admission {
        // Over the limit at accept: the connection is already shut; a request that raced in gets a 503.
        Some(Admission::Counted(slot)) if slot.over_limit => (true, None),
        Some(Admission::Proxy) => {
            let slot = limits.take(client.limit_key(), true);
            if slot.over_limit {
                limits.warn_refused(client.ip, "request");
                (true, None)
            } else {
                (false, Some(slot))
            }
        }
        _ => (false, None),
    };
    let body = req.take_payload();
    let deadline = Box::pin(tokio::time::sleep(REQUEST_BODY_DEADLINE));
    req.set_payload(Payload::Stream { payload: Box::pin(DeadlineBody { inner: body, deadline, expired: false }) });
    let call = if refused { Err(busy(req)) } else { Ok(srv.call(req)) };
    async move {
        let response = match call {
            Ok(call) => call.await,
            Err(busy) => Ok(busy),
        };
        drop(running);
        response
    }
}

/// A request body that fails with a timeout once `REQUEST_BODY_DEADLINE` has passed since its head.
struct DeadlineBody {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl futures_core::Stream for DeadlineBody {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired = true;
            let message = format!("request body not received within {} s", REQUEST_BODY_DEADLINE.as_secs());
            let error = std::io::Error::new(std::io::ErrorKind::TimedOut, message);
            return Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(error))));
        }
        Poll::Pending
    }
}
