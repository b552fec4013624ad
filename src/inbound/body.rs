//! `RawBody`: the request body as raw bytes, capped at `server.max_body_bytes`.
//!
//! Signatures are computed over the exact bytes received, so handlers take this
//! rather than a JSON extractor. An oversized body is refused with 413 from its
//! `Content-Length` before any of it is read, or as soon as the streamed bytes
//! pass the cap; either way before any parsing or crypto.

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use super::error::InboundError;

/// The body cap, registered as app data by `startup`.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// How long the whole body may take to arrive (`server.body_timeout`),
/// registered as app data by `startup`: a client that trickles its body
/// holds a connection only this long.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub std::time::Duration);

pub struct RawBody(pub Bytes);

impl FromRequest for RawBody {
    type Error = InboundError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<BodyLimit>>()
            .map_or(256 * 1024, |l| l.0);
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let timeout = req
            .app_data::<web::Data<BodyTimeout>>()
            .map_or(std::time::Duration::from_secs(15), |t| t.0);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(InboundError::PayloadTooLarge { limit });
            }
            // Grown as bytes arrive beyond the first MiB: a large declared
            // length alone does not reserve memory.
            let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(limit).min(1 << 20));
            let read = async {
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk
                        .map_err(|e| InboundError::BadRequest(format!("cannot read body: {e}")))?;
                    if buf.len() + chunk.len() > limit {
                        return Err(InboundError::PayloadTooLarge { limit });
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(())
            };
            tokio::time::timeout(timeout, read)
                .await
                .map_err(|_| InboundError::BodyTimeout { timeout })??;
            Ok(RawBody(buf.freeze()))
        })
    }
}
