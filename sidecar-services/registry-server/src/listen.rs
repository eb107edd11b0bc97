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
//! Hostile clients are bounded by [`ConnectionLimits`]: hyper gets a timer,
//! without which its header-read timeout does nothing (a request head
//! trickled in a byte at a time held its connection forever), and the loop
//! takes a permit of a semaphore before each accept, so past the cap new
//! connections wait in the kernel's listen backlog, unserved, until one of
//! the open ones closes.
//!
//! Graceful shutdown is the same as `axum::serve`'s: stop accepting, let
//! each connection finish its in-flight request, then return.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sidecar_http::SidecarError;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::sendfile::{Backings, SendfileStream};

/// How long to wait before accepting again after an error that is not one
/// connection's (out of file descriptors, say): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What one server allows its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's head (request line and
    /// headers), counted from when the server is ready to read one: from the
    /// accept, and on a kept-alive connection from the end of the previous
    /// response. Then the connection is closed. hyper runs one timer for
    /// both, so this is also the idle keep-alive timeout; a proxy pooling
    /// connections to the server should drop idle ones sooner (ingress-nginx:
    /// `upstream-keepalive-timeout`).
    pub header_read_timeout: Duration,
    /// Connections served at once. Past it the server stops accepting, so a
    /// new connection waits in the listen backlog until an open one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { header_read_timeout: Duration::from_secs(30), max_connections: 1024 }
    }
}

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` completes,
/// then waits for open connections to finish their current request.
pub(crate) async fn serve_http1(
    listener: TcpListener,
    app: Router,
    backings: Backings,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SidecarError> {
    let service = TowerToHyperService::new(app);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut at_capacity = false;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                at_capacity = false;
                permit
            }
            Err(_) => {
                if !at_capacity {
                    at_capacity = true;
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached; new connections wait until one closes (REGISTRY_MAX_CONNECTIONS)"
                    );
                }
                tokio::select! {
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        // The semaphore is never closed.
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
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
                // A client going away mid-request, or too slow with its headers: nothing to act on.
                tracing::trace!(error = %err, "connection ended with an error");
            }
            drop(permit);
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
