//! Hostile clients (issue 20, points 10 and 11): upload bombs, uploads
//! under another remote's token, slowloris and connection floods, against
//! the real binary on loopback; and (point 12) someone who can write to the
//! bucket but does not hold the signing key.

use std::io::Read as _;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{Fixture, Server, client, error_of, publish, publish_bytes};

/// How long a test waits for something that must happen.
const DEADLINE: Duration = Duration::from_secs(15);

fn manifest(name: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "name": name, "version": "1.0.0", "entry": "remoteEntry.js",
        "hostApi": "^1.0.0", "shared": { "react": "^19.0.0" },
    }))
    .unwrap()
}

/// A valid remote, then `entries` files whose tar headers say 0 bytes while
/// a PAX `size` record (which tar readers honour) says `each` bytes of
/// zeros: summing header sizes sees an empty bundle. Gzipped, so a few
/// hundred kilobytes unpack to `entries * each` bytes.
fn pax_size_bomb(name: &str, entries: usize, each: u64) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (path, bytes) in [("remote.json", manifest(name)), ("remoteEntry.js", b"export default 1;".to_vec())] {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, bytes.as_slice()).unwrap();
    }
    for i in 0..entries {
        builder.append_pax_extensions([("size", each.to_string().as_bytes())]).unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_path(format!("assets/chunk-{i}.bin")).unwrap();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(0);
        header.set_mode(0o644);
        header.set_cksum();
        // `append` copies all of the data whatever the header says.
        builder.append(&header, std::io::repeat(0).take(each)).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A line of /proc/PID/status, in bytes (`VmRSS`, `VmHWM`: the peak).
fn memory_of(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(&format!("{field}:"))).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

fn address(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

/// Reads one response (head, then a `Content-Length` body) and returns the
/// head and body as text.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before a response: {}", String::from_utf8_lossy(&bytes));
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .map_or(0, |v| v.parse().unwrap());
    while bytes.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed mid-body");
        bytes.extend_from_slice(&chunk[..n]);
    }
    (head, String::from_utf8_lossy(&bytes[head_end..head_end + length]).into_owned())
}

/// Waits until the server closes `stream` (EOF or reset); `None` if it is
/// still open at the deadline.
async fn closed_within(stream: &mut TcpStream, deadline: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(deadline, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

async fn get_health(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: registry\r\n\r\n").await.unwrap();
    read_response(stream).await.0
}

/// Point 10: header sizes were summed while the tar reader used the PAX
/// size, so this unpacked to 310 MiB under a 256 MiB limit and was held in
/// memory whole. Now the bytes actually unpacked are counted, the archive is
/// checked by streaming it before anything is kept, and the answer is 413.
#[tokio::test]
async fn point_10_pax_size_bomb_is_413_and_server_memory_stays_bounded() {
    let fixture = Fixture::new();
    let token = fixture.token(&["alpha"]).await;
    let server = fixture.server();
    let body = pax_size_bomb("alpha", 10, 31 * 1024 * 1024);
    assert!(body.len() < 1024 * 1024, "a small upload: {} bytes", body.len());
    assert_eq!(client().get(format!("{}/health", server.url)).send().await.unwrap().status(), 200);
    let pid = server.child.id();
    let before = memory_of(pid, "VmRSS");
    let before_tree = fixture.tree();

    let (status, code, message) = error_of(publish_bytes(&server.url, Some(&token), "alpha", body).await).await;

    let growth = memory_of(pid, "VmHWM").saturating_sub(before);
    let grew = format!("the server's peak memory grew by {} MiB", growth / (1024 * 1024));
    eprintln!("a PAX size bomb of 310 MiB unpacked: {grew}");
    assert_eq!((status, code.as_str()), (413, "bundle_too_large"), "{message} ({grew})");
    assert!(message.contains(&(256u64 * 1024 * 1024).to_string()), "the message names the limit: {message}");
    assert!(growth < 64 * 1024 * 1024, "{grew}");
    assert_eq!(fixture.tree(), before_tree, "nothing stored");
}

/// Point 10: a token for another remote used to be refused only after the
/// upload was unpacked (1.9 MB drove the server to 1.99 GB). The remote is
/// now named in `?name=`, so the scope is checked before the body is read:
/// this request announces a body it never sends, and is still answered.
#[tokio::test]
async fn point_10_token_for_another_remote_is_403_before_the_body_is_read() {
    let fixture = Fixture::new();
    let token = fixture.token(&["beta"]).await;
    let server = fixture.server();
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    let request = format!(
        "POST /api/v1/publish?name=alpha HTTP/1.1\r\nHost: registry\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/gzip\r\nContent-Length: 1900000\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (head, body) = tokio::time::timeout(DEADLINE, read_response(&mut stream))
        .await
        .expect("no answer while the body was held back: the server waited to read it before checking the scope");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}{body}");
    assert!(body.contains("alpha") && body.contains("beta"), "the message names the remote and the scope: {body}");
}

/// Point 10: the name the scope was checked against is the name published.
#[tokio::test]
async fn publish_names_its_remote_and_remote_json_must_match_it() {
    let fixture = Fixture::new();
    let token = fixture.token(&["alpha", "beta"]).await;
    let server = fixture.server();
    let remote = fixture.remote("alpha", "1.0.0", &[]);
    let before = fixture.tree();

    let body = registry_server::bundle::pack_dir(&remote).unwrap();
    let (status, code, message) = error_of(publish_bytes(&server.url, Some(&token), "beta", body).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_bundle"), "{message}");
    assert!(message.contains("alpha") && message.contains("beta"), "{message}");

    let body = registry_server::bundle::pack_dir(&remote).unwrap();
    let unnamed = client().post(format!("{}/api/v1/publish", server.url)).bearer_auth(&token).body(body);
    let (status, code, message) = error_of(unnamed.send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "invalid_bundle"), "{message}");
    assert!(message.contains("?name="), "the message says what to send: {message}");
    assert_eq!(fixture.tree(), before, "nothing stored");
}

fn server_with(fixture: &Fixture, env: &[(&str, &str)]) -> Server {
    Server::start(&fixture.registry(), &fixture.key_file(), env)
}

/// Point 11: without a timer hyper's header-read timeout was off, so a
/// request head trickled in one byte at a time held its connection forever.
#[tokio::test]
async fn point_11_slowloris_client_is_disconnected_within_the_header_read_timeout() {
    let fixture = Fixture::new();
    let server = server_with(&fixture, &[("REGISTRY_HEADER_READ_TIMEOUT_SECS", "2")]);
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: registry\r\n").await.unwrap();
    let (mut reader, mut writer) = stream.split();
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let mut chunk = [0u8; 1024];
    let closed = tokio::time::timeout(DEADLINE, async {
        loop {
            tokio::select! {
                read = reader.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => panic!("the server answered a request it never fully got: {}", String::from_utf8_lossy(&chunk[..n])),
                },
                _ = tick.tick() => {
                    // One more byte of a header that never ends.
                    if writer.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    assert!(closed.is_ok(), "still connected after {} s of trickled header bytes", DEADLINE.as_secs());
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(5),
        "disconnected after {elapsed:?}, the timeout being 2 s"
    );
}

/// Point 11: the same timer closes a kept-alive connection left idle.
#[tokio::test]
async fn point_11_idle_kept_alive_connection_is_closed_after_the_timeout() {
    let fixture = Fixture::new();
    let server = server_with(&fixture, &[("REGISTRY_HEADER_READ_TIMEOUT_SECS", "2")]);
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    assert!(get_health(&mut stream).await.starts_with("HTTP/1.1 200"));
    let elapsed = closed_within(&mut stream, DEADLINE)
        .await
        .unwrap_or_else(|| panic!("an idle connection was still open after {} s", DEADLINE.as_secs()));
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5), "closed after {elapsed:?}");
}

/// Point 11: 1,500 half-open connections were all held. Past the cap a
/// connection waits in the listen backlog, unserved, until another closes.
#[tokio::test]
async fn point_11_connections_beyond_the_cap_wait_until_others_close() {
    let fixture = Fixture::new();
    let server = server_with(&fixture, &[("REGISTRY_MAX_CONNECTIONS", "2")]);
    let mut first = TcpStream::connect(address(&server)).await.unwrap();
    let mut second = TcpStream::connect(address(&server)).await.unwrap();
    assert!(get_health(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(get_health(&mut second).await.starts_with("HTTP/1.1 200"));

    let mut third = TcpStream::connect(address(&server)).await.unwrap();
    third.write_all(b"GET /health HTTP/1.1\r\nHost: registry\r\n\r\n").await.unwrap();
    let mut byte = [0u8; 1];
    // Proving that nothing arrives takes a wait; one second is plenty on loopback.
    let early = tokio::time::timeout(Duration::from_secs(1), third.read(&mut byte)).await;
    assert!(early.is_err(), "a third connection was served while two were open (cap 2): {early:?}");

    drop(first);
    let (head, _) = tokio::time::timeout(DEADLINE, read_response(&mut third))
        .await
        .expect("the waiting connection was served once another closed");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(get_health(&mut second).await.starts_with("HTTP/1.1 200"), "open connections keep being served");
}

/// Issue 20, point 12: write access to the storage is not enough to get
/// content signed. An index planted in `remotes/` (a valid one, whose blobs
/// exist) and a version slipped into a published remote's index are not in
/// the snapshot the next legitimate publishes sign, and the tampered index
/// is rebuilt from the pinned one when its remote is published again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_12_an_index_planted_in_storage_is_never_signed() {
    let fixture = Fixture::new();
    let token = fixture.token(&["alpha", "beta"]).await;
    let server = fixture.server();
    let beta = publish(&server.url, Some(&token), &fixture.remote("beta", "1.0.0", &[])).await;
    assert_eq!(beta.status(), 201, "{}", beta.text().await.unwrap());
    let pinned_beta = fixture.snapshot().remotes["beta"].clone();

    // Straight into the bucket: a whole remote, and a version of beta.
    let remotes = fixture.registry().join("remotes");
    let beta_json = std::fs::read_to_string(remotes.join("beta.json")).unwrap();
    std::fs::write(remotes.join("evil.json"), beta_json.replace("\"beta\"", "\"evil\"")).unwrap();
    let mut tampered: serde_json::Value = serde_json::from_str(&beta_json).unwrap();
    let mut planted = tampered["versions"][0].clone();
    planted["manifest"]["version"] = "6.6.6".into();
    tampered["versions"].as_array_mut().unwrap().push(planted);
    std::fs::write(remotes.join("beta.json"), serde_json::to_vec(&tampered).unwrap()).unwrap();
    assert!(
        registry::parse_remote_index(
            "evil",
            &std::fs::read(remotes.join("evil.json")).unwrap(),
            &registry::Limits::default()
        )
        .is_ok(),
        "the planted index is one the server could parse"
    );

    let alpha = publish(&server.url, Some(&token), &fixture.remote("alpha", "1.0.0", &[])).await;
    assert_eq!(alpha.status(), 201, "{}", alpha.text().await.unwrap());
    let snapshot = fixture.snapshot();
    assert!(snapshot.remotes.contains_key("alpha"), "the legitimate publish is signed");
    assert!(!snapshot.remotes.contains_key("evil"), "the planted index is not signed: {:?}", snapshot.remotes.keys());
    assert_eq!(snapshot.remotes["beta"], pinned_beta, "the tampered index is not signed either");

    let next = publish(&server.url, Some(&token), &fixture.remote("beta", "1.1.0", &[])).await;
    assert_eq!(next.status(), 201, "{}", next.text().await.unwrap());
    let versions: Vec<String> =
        fixture.index("beta").unwrap().versions.iter().map(|v| v.manifest.version.to_string()).collect();
    assert_eq!(versions, ["1.0.0", "1.1.0"], "built on the pinned index, not the tampered one");
    assert!(!fixture.snapshot().remotes.contains_key("evil"));
}
