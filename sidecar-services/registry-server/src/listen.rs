//! Accepting connections: HTTP/1.1 straight on hyper, without what
//! `axum::serve` adds to every connection and request.
//!
//! Why not `axum::serve` (what `sidecar_http::serve_listener` uses): it
//! runs hyper-util's auto builder, which reads each connection's first
//! bytes to look for an HTTP/2 preface, and `ConnectInfo` puts the peer
//! address into every request's extensions (an allocation per request);
//! the registry needs neither (clients and ingresses speak HTTP/1.1 to it,
//! no handler reads the peer). Accepted sockets get `TCP_NODELAY`, as
//! nginx's keep-alive connections do, so a response's last segment is
//! never held back waiting for the client's ACK. Cached documents are sent
//! from their memfd ([`crate::sendfile`]).
//!
//! Graceful shutdown is the same as `axum::serve`'s: stop accepting, let
//! each connection finish its in-flight request, then return.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sidecar_http::SidecarError;
use tokio::net::TcpListener;

use crate::sendfile::{Backings, SendfileStream};

/// How long to wait before accepting again after an error that is not one
/// connection's (out of file descriptors, say): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` completes,
/// then waits for open connections to finish their current request.
pub(crate) async fn serve_http1(
    listener: TcpListener,
    app: Router,
    backings: Backings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SidecarError> {
    let service = TowerToHyperService::new(app);
    let http = hyper::server::conn::http1::Builder::new();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    backoff_after(&err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(SendfileStream::new(stream, backings.clone())), service.clone()));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                // A client going away mid-request: nothing to act on.
                tracing::trace!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one connection (reset before it was accepted) are skipped;
/// others (EMFILE, ENOBUFS) are logged and retried after a pause.
async fn backoff_after(err: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::warn!(error = %err, "accepting a connection failed; retrying");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}
