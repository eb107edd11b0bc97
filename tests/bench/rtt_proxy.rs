//! A TCP proxy for the update-check bench: it sits in front of the test
//! registry server, holds every chunk of every answer for a fixed delay (a
//! round-trip time, put on the answer path) and records when each request
//! arrived and when its answer was passed on. From those timestamps
//! [`round_trips`] tells whether a client's requests went out together (one
//! round trip) or one after another's answer.
//!
//! Connection set-up is not delayed (the kernel accepts at once): the round
//! trips counted are HTTP exchanges.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One request seen by the proxy.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub path: String,
    /// When its first bytes reached the proxy.
    pub arrived: Instant,
    /// When the first bytes of its answer were passed on to the client
    /// (after the delay); `None` if no answer came.
    pub answered: Option<Instant>,
}

#[derive(Debug)]
pub struct RttProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Exchange>>>,
    task: JoinHandle<()>,
}

impl RttProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr, delay: Duration) -> io::Result<Self> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let log = Arc::clone(&log);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(relay(client, upstream, delay, Arc::clone(&log)));
                }
            }
        });
        Ok(Self { addr, log, task })
    }

    /// The base URL, ending in `/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The exchanges recorded since the last call, oldest first.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for RttProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The longest chain of exchanges in which each request arrived only after
/// the previous one's answer had been passed on: 1 when every request went
/// out before any answer came back.
pub fn round_trips(exchanges: &[Exchange]) -> usize {
    let mut sorted: Vec<&Exchange> = exchanges.iter().collect();
    sorted.sort_by_key(|exchange| exchange.arrived);
    let mut depth = vec![0usize; sorted.len()];
    for i in 0..sorted.len() {
        let after = (0..i)
            .filter(|&j| sorted[j].answered.is_some_and(|answered| answered <= sorted[i].arrived))
            .map(|j| depth[j])
            .max()
            .unwrap_or(0);
        depth[i] = after + 1;
    }
    depth.into_iter().max().unwrap_or(0)
}

/// The path of an HTTP request whose head starts this chunk.
fn request_path(chunk: &[u8]) -> Option<String> {
    let line = chunk.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split(' ');
    let method = words.next()?;
    if !matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "DELETE") {
        return None;
    }
    Some(words.next()?.trim_start_matches('/').to_owned())
}

async fn relay(client: TcpStream, upstream: SocketAddr, delay: Duration, log: Arc<Mutex<Vec<Exchange>>>) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    // Requests on this connection still waiting for their answer (HTTP/1.1:
    // answers come back in request order), as indexes into the log.
    let waiting = Arc::new(Mutex::new(VecDeque::new()));

    let upstream_half = {
        let (log, waiting) = (Arc::clone(&log), Arc::clone(&waiting));
        async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match from_client.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if let Some(path) = request_path(&buf[..n]) {
                    let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                    log.push(Exchange { path, arrived: Instant::now(), answered: None });
                    waiting.lock().unwrap_or_else(PoisonError::into_inner).push_back(log.len() - 1);
                }
                if to_server.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = to_server.shutdown().await;
        }
    };

    // Chunks are stamped as they are read and written out `delay` later by
    // a second task, so a long answer keeps its throughput.
    let (chunks, mut delayed) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>, Option<usize>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from_server.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let answers = waiting.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
            if chunks.send((Instant::now(), buf[..n].to_vec(), answers)).is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((read_at, chunk, answers)) = delayed.recv().await {
            tokio::time::sleep_until(read_at + delay).await;
            if let Some(index) = answers
                && let Some(exchange) = log.lock().unwrap_or_else(PoisonError::into_inner).get_mut(index)
            {
                exchange.answered = Some(Instant::now());
            }
            if to_client.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to_client.shutdown().await;
    };
    tokio::join!(upstream_half, reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(arrived: u64, answered: u64) -> Exchange {
        let base = Instant::now();
        Exchange {
            path: String::new(),
            arrived: base + Duration::from_millis(arrived),
            answered: Some(base + Duration::from_millis(answered)),
        }
    }

    #[test]
    fn together_is_one_round_trip_and_one_after_another_two() {
        assert_eq!(round_trips(&[exchange(0, 20), exchange(1, 21)]), 1);
        assert_eq!(round_trips(&[exchange(0, 20), exchange(21, 41)]), 2);
        assert_eq!(round_trips(&[]), 0);
        assert_eq!(request_path(b"GET /snapshot.json HTTP/1.1\r\nhost: x\r\n\r\n").as_deref(), Some("snapshot.json"));
        assert_eq!(request_path(b"HTTP/1.1 304 Not Modified\r\n"), None);
    }
}
