//! Sending cached documents with `sendfile(2)` instead of copying them into
//! the socket, as nginx does with files.
//!
//! Why: for a 33.6 KiB index, copying the body into the socket took ~18% of
//! the serving core and was the whole difference in requests/s to nginx,
//! which sends the file's pages without a copy (BENCHMARKS.md). hyper only
//! writes buffers, so the connection's stream does the swap: a large cached
//! document body is also written once into a memfd ([`Backings::back`]),
//! and when hyper asks [`SendfileStream`] to write memory that lies inside
//! such a body, the stream sends the same bytes from the memfd. Every other
//! write is an ordinary one. Linux only; elsewhere nothing is backed. The
//! cost: a backed body is held twice (heap and memfd) and takes one file
//! descriptor, at most [`MOST_BACKED`] of them.
//!
//! Why it is safe to send from the memfd: a registration ([`FileBacked`])
//! holds a clone of the body, so the memory it covers stays allocated (and,
//! being `Bytes`, unchanged) for as long as it is registered; no other buffer
//! can occupy that memory meanwhile, so memory inside a registered range is
//! that body, and the memfd holds exactly its bytes.

use std::collections::BTreeMap;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Smaller bodies are cheaper to copy than to send from a file.
const BACK_FROM: usize = 16 * 1024;
/// Each backed body holds a file descriptor; past this many (a registry with
/// hundreds of remotes), further documents are copied, so the memfds can
/// never use up the descriptors the server needs for connections.
const MOST_BACKED: usize = 256;

/// The registered bodies, by the address of their first byte.
#[derive(Debug, Default, Clone)]
pub(crate) struct Backings(Arc<RwLock<BTreeMap<usize, Backing>>>);

#[derive(Debug)]
struct Backing {
    len: usize,
    file: Arc<std::fs::File>,
}

/// One registered body; unregistered when dropped.
#[derive(Debug)]
pub(crate) struct FileBacked {
    backings: Backings,
    start: usize,
    /// Keeps the registered memory allocated (see the module docs).
    _body: Bytes,
}

impl Drop for FileBacked {
    fn drop(&mut self) {
        self.backings.write().remove(&self.start);
    }
}

impl Backings {
    /// Copies `body` into a memfd and registers it, so the connections send
    /// it from there. `None` (and the body is copied as usual) when it is
    /// small, [`MOST_BACKED`] are registered, off Linux, or the memfd could
    /// not be made.
    pub(crate) fn back(&self, body: &Bytes) -> Option<FileBacked> {
        if body.len() < BACK_FROM || self.0.read().unwrap_or_else(PoisonError::into_inner).len() >= MOST_BACKED {
            return None;
        }
        let file = match memfd_holding(body) {
            Ok(file) => Arc::new(file),
            Err(err) => {
                tracing::debug!(error = %err, "could not back a document with a memfd; it will be copied");
                return None;
            }
        };
        let start = body.as_ptr() as usize;
        let mut backings = self.write();
        // Checked again under the lock: others may have registered meanwhile.
        if backings.len() >= MOST_BACKED {
            return None;
        }
        backings.insert(start, Backing { len: body.len(), file });
        drop(backings);
        Some(FileBacked { backings: self.clone(), start, _body: body.clone() })
    }

    /// The memfd holding `slice` and the slice's offset in it, when `slice`
    /// lies inside a registered body.
    fn find(&self, slice: &[u8]) -> Option<(Arc<std::fs::File>, u64)> {
        if slice.is_empty() {
            return None;
        }
        let address = slice.as_ptr() as usize;
        let backings = self.0.read().unwrap_or_else(PoisonError::into_inner);
        let (start, backing) = backings.range(..=address).next_back()?;
        let offset = address - start;
        (offset + slice.len() <= backing.len).then(|| (backing.file.clone(), offset as u64))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<usize, Backing>> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(target_os = "linux")]
fn memfd_holding(body: &[u8]) -> io::Result<std::fs::File> {
    use std::io::Write as _;
    let fd = rustix::fs::memfd_create("registry-document", rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(body)?;
    Ok(file)
}

#[cfg(not(target_os = "linux"))]
fn memfd_holding(_body: &[u8]) -> io::Result<std::fs::File> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "sendfile is used on Linux only"))
}

/// A connection that sends registered bodies from their memfd.
#[derive(Debug)]
pub(crate) struct SendfileStream {
    stream: TcpStream,
    backings: Backings,
}

impl SendfileStream {
    pub(crate) fn new(stream: TcpStream, backings: Backings) -> Self {
        SendfileStream { stream, backings }
    }

    /// Runs `op` when the socket is writable, until it does not block.
    #[cfg(target_os = "linux")]
    fn poll_io(&self, cx: &mut Context<'_>, mut op: impl FnMut() -> io::Result<usize>) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_io(tokio::io::Interest::WRITABLE, &mut op) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// Writes up to the first registered slice (with `MSG_MORE`, so the
    /// headers and the body leave in the same segments), or sends that slice
    /// from its memfd; hyper calls again for the rest.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        {
            // Empty slices carry nothing; before a backed one they would make
            // a zero-length send that hyper takes for a closed connection.
            let bufs = &bufs[bufs.iter().take_while(|buf| buf.is_empty()).count()..];
            let backed = bufs.iter().enumerate().find_map(|(i, buf)| self.backings.find(buf).map(|found| (i, found)));
            match backed {
                Some((0, (file, offset))) => {
                    let len = bufs[0].len();
                    return self.poll_io(cx, || {
                        let mut offset = offset;
                        Ok(rustix::fs::sendfile(&self.stream, &*file, Some(&mut offset), len)?)
                    });
                }
                Some((first_backed, _)) => {
                    use rustix::net::{SendAncillaryBuffer, SendFlags};
                    let before = &bufs[..first_backed];
                    return self.poll_io(cx, || {
                        let flags = SendFlags::MORE | SendFlags::NOSIGNAL;
                        Ok(rustix::net::sendmsg(&self.stream, before, &mut SendAncillaryBuffer::default(), flags)?)
                    });
                }
                None => {}
            }
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    fn pseudo_random(len: usize) -> Bytes {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect::<Vec<u8>>()
            .into()
    }

    /// Writes every slice whole, as hyper does: advancing past what each
    /// call wrote.
    async fn write_all_vectored(stream: &mut SendfileStream, parts: &[&[u8]]) -> io::Result<()> {
        let mut parts: Vec<&[u8]> = parts.to_vec();
        while !parts.is_empty() {
            let slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
            let mut written = stream.write_vectored(&slices).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            while written > 0 {
                let taken = written.min(parts[0].len());
                parts[0] = &parts[0][taken..];
                written -= taken;
                if parts[0].is_empty() {
                    parts.remove(0);
                }
            }
            while parts.first().is_some_and(|p| p.is_empty()) {
                parts.remove(0);
            }
        }
        stream.flush().await
    }

    #[tokio::test]
    async fn a_backed_body_arrives_whole_through_partial_writes() {
        let backings = Backings::default();
        let body = pseudo_random(1024 * 1024 + 7);
        let _backed = backings.back(&body).expect("a 1 MiB body is backed");
        let header = b"HTTP/1.1 200 OK\r\ncontent-length: 1048583\r\n\r\n".to_vec();
        let trailer = b"next response".to_vec();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let mut client = TcpStream::connect(address).await.unwrap();
            let mut received = Vec::new();
            let mut chunk = vec![0u8; 4096];
            // Small reads keep the socket's buffer full, so sends are partial.
            loop {
                let n = client.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break received;
                }
                received.extend_from_slice(&chunk[..n]);
            }
        });
        let (accepted, _) = listener.accept().await.unwrap();
        rustix::net::sockopt::set_socket_send_buffer_size(&accepted, 4096).unwrap();
        let mut stream = SendfileStream::new(accepted, backings.clone());
        // The body's middle, as hyper hands it after a partial write.
        write_all_vectored(&mut stream, &[&header, &body[..10], &[], &body[10..], &trailer]).await.unwrap();
        // An empty slice first, then the body's end, as after a partial write.
        write_all_vectored(&mut stream, &[&[], &body[body.len() - 5..]]).await.unwrap();
        stream.shutdown().await.unwrap();
        drop(stream);

        let received = reader.await.unwrap();
        let expected: Vec<u8> = [&header[..], &body[..], &trailer[..], &body[body.len() - 5..]].concat();
        assert_eq!(received.len(), expected.len());
        assert!(received == expected, "the bytes received differ from the bytes written");
    }

    #[test]
    fn only_memory_inside_a_registered_body_is_found() {
        let backings = Backings::default();
        let body = pseudo_random(64 * 1024);
        let small = pseudo_random(100);
        assert!(backings.back(&small).is_none(), "small bodies are copied");
        let backed = backings.back(&body).expect("backed");
        assert_eq!(backings.find(&body[100..200]).map(|(_, offset)| offset), Some(100));
        assert!(backings.find(&body).is_some());
        let other = pseudo_random(64 * 1024);
        assert!(backings.find(&other).is_none());
        drop(backed);
        assert!(backings.find(&body).is_none(), "dropping the registration unregisters it");
    }

    #[test]
    fn at_most_so_many_bodies_hold_a_descriptor() {
        let backings = Backings::default();
        let bodies: Vec<Bytes> = (0..=MOST_BACKED).map(|_| pseudo_random(BACK_FROM)).collect();
        let mut backed: Vec<FileBacked> =
            bodies[..MOST_BACKED].iter().map(|b| backings.back(b).expect("backed")).collect();
        assert!(backings.back(&bodies[MOST_BACKED]).is_none(), "one over the limit is copied");
        backed.pop();
        assert!(backings.back(&bodies[MOST_BACKED]).is_some(), "a freed place is used again");
    }
}
