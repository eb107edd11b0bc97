//! Test-only stand-ins for NocoDB, Airtable and Databricks, written from each
//! service's public API documentation, on a loopback port. Each keeps its
//! tables in memory, checks the credential header the real service checks,
//! pages the way it pages, answers 429 with `Retry-After` past its rate limit,
//! and can be told to fail part of a write, so the connectors are tested
//! against a counterpart that misbehaves the documented ways.
//!
//! A [`Served`] server stops when dropped.

pub mod airtable;
pub mod databricks;
pub mod nocodb;
mod recorder;

pub use recorder::{Request, of_route};

use std::net::SocketAddr;

use tokio::task::JoinHandle;

/// A server running on 127.0.0.1; aborted on drop.
#[derive(Debug)]
pub struct Served {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Served {
    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on a free loopback port.
pub async fn serve(router: axum::Router) -> std::io::Result<Served> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::warn!(%err, "fake data store stopped");
        }
    });
    Ok(Served { addr, task })
}
