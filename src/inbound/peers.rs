//! Requests in progress per client address, bounded
//! (`server.max_requests_per_peer`): a burst of slow clients from one place
//! cannot take every connection the process may hold, so health checks and
//! genuine callbacks from elsewhere are still answered. A request over the
//! bound is answered 503 at once, before its body is read, and its
//! connection closed.
//!
//! With the body deadline (`server.body_timeout`, in `body.rs`), the header
//! deadline and the global connection cap (`startup.rs`), this bounds what
//! a slow client costs: one connection for at most the deadline, and at
//! most this many from one address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use super::InboundError;

/// Paths never refused here: probes must see the truth even under a flood.
const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

pub struct Peers {
    limit: usize,
    busy: Mutex<HashMap<IpAddr, usize>>,
}

impl Peers {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            busy: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request from `ip`, unless `ip` already has `limit` in progress.
    fn enter(&self, ip: IpAddr) -> Option<Entered<'_>> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let n = busy.entry(ip).or_default();
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(Entered { peers: self, ip })
    }
}

/// One counted request; uncounted when dropped (answered, or cancelled by a
/// closed connection).
struct Entered<'a> {
    peers: &'a Peers,
    ip: IpAddr,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let mut busy = self.peers.busy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = busy.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                busy.remove(&self.ip);
            }
        }
    }
}

/// Middleware: refuses a request whose address has too many in progress.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let peers = req.app_data::<web::Data<Peers>>().cloned();
    let ip = req.peer_addr().map(|a| a.ip());
    let (Some(peers), Some(ip)) = (peers, ip) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    if EXEMPT.contains(&req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let Some(_entered) = peers.enter(ip) else {
        tracing::warn!(%ip, "too many requests in progress from one address: refused");
        // The error response closes the connection.
        let res = InboundError::TooManyConnections.error_response();
        return Ok(req.into_response(res).map_into_right_body());
    };
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_bound() {
        let peers = Peers::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let one = peers.enter(a).unwrap();
        let _two = peers.enter(a).unwrap();
        assert!(peers.enter(a).is_none());
        assert!(peers.enter(b).is_some());
        drop(one);
        assert!(peers.enter(a).is_some());
        drop(_two);
        assert!(peers.busy.lock().unwrap().is_empty());
    }
}
