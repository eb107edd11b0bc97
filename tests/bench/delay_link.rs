//! A link delay in user space, for the shaped-link bench on kernels without
//! `netem` (`bench-core delay-link LISTEN UPSTREAM ONE_WAY_MS`): a TCP proxy
//! that holds every chunk, in both directions, for the one-way delay, and
//! holds the first request of each connection one round trip more, for the
//! TCP handshake the proxy's own (instant) accept hides. Throughput is kept:
//! chunks are stamped as they are read and written out `delay` later by a
//! second task. The rate is the link's own (`tbf` on the veth pair).
//!
//! What it does not emulate: TCP's congestion window grows with the
//! proxy's near-zero round trip instead of the emulated one, so slow start
//! costs less than on a real link; both clients of the bench go through it
//! alike.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// Forwards every connection accepted on `listen` to `upstream` through
/// the delayed link; runs until the process is killed.
pub async fn serve(listen: SocketAddr, upstream: SocketAddr, one_way: Duration) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    println!("delay-link listening on {listen}");
    loop {
        let (client, _) = listener.accept().await?;
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else { return };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (from_client, to_client) = client.into_split();
            let (from_server, to_server) = server.into_split();
            tokio::join!(
                pump(from_client, to_server, one_way, 2 * one_way),
                pump(from_server, to_client, one_way, Duration::ZERO),
            );
        });
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read (the first
/// one `first_extra` later still), then passes the end of the stream on.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration, first_extra: Duration) {
    let (chunks, mut delayed) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut extra = first_extra;
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if chunks.send((Instant::now() + delay + extra, buf[..n].to_vec())).is_err() {
                break;
            }
            extra = Duration::ZERO;
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = delayed.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
