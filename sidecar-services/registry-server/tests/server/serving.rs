//! The tree as a static host serves it: ETags, 304s, cache headers, gzip,
//! HEAD, large documents sent from a memfd, and nothing outside the tree.

use crate::support::{Fixture, client, publish};

#[tokio::test]
async fn serves_the_tree_with_etags_cache_headers_and_gzip() {
    let fixture = Fixture::new();
    let token = fixture.token(&["alpha"]).await;
    let big = vec![b'x'; 4096];
    let remote = fixture.remote("alpha", "1.0.0", &[("assets/big.js", &big)]);
    let server = fixture.server();
    assert_eq!(publish(&server.url, Some(&token), &remote).await.status(), 201);
    let http = client();

    // snapshot.json: JSON, revalidated every time, strong ETag, 304 on match.
    let response = http.get(format!("{}/snapshot.json", server.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong ETag, got {etag}");
    let body = response.bytes().await.unwrap();
    assert_eq!(
        body.as_ref(),
        std::fs::read(fixture.registry().join("snapshot.json")).unwrap(),
        "served bytes are the stored bytes"
    );
    let again = http.get(format!("{}/snapshot.json", server.url)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304, "a matching If-None-Match is answered 304");
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);

    // A blob: immutable, ETag is its hash, 304 without a storage read.
    let index = fixture.index("alpha").unwrap();
    let file = &index.versions[0].files.iter().find(|f| f.path == "assets/big.js").unwrap().clone();
    let url = format!("{}/blobs/sha256/{}", server.url, file.sha256);
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    assert_eq!(response.headers()["etag"].to_str().unwrap(), format!("\"{}\"", file.sha256));
    assert!(response.headers().get("content-encoding").is_none(), "blobs are served as stored");
    assert_eq!(response.bytes().await.unwrap().len() as u64, file.length);
    let again = http.get(&url).header("if-none-match", format!("\"{}\"", file.sha256)).send().await.unwrap();
    assert_eq!(again.status(), 304);

    // HEAD: headers with the length, no body.
    let head = http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"].to_str().unwrap(), file.length.to_string());
    assert_eq!(head.bytes().await.unwrap().len(), 0);

    // gzip for JSON when asked, with its own ETag that still revalidates.
    let response =
        http.get(format!("{}/remotes/alpha.json", server.url)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let gz_etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(gz_etag.ends_with("-gzip\""), "the gzipped variant has its own strong ETag: {gz_etag}");
    let compressed = response.bytes().await.unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut plain).unwrap();
    assert_eq!(plain, std::fs::read(fixture.registry().join("remotes/alpha.json")).unwrap());
    let again = http
        .get(format!("{}/remotes/alpha.json", server.url))
        .header("accept-encoding", "gzip")
        .header("if-none-match", &gz_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn nothing_outside_the_tree_is_served() {
    let fixture = Fixture::new();
    let _token = fixture.token(&["alpha"]).await;
    let server = fixture.server();
    let http = client();
    assert!(fixture.registry().join(".server/tokens.json").exists());
    for path in [
        "/.server/tokens.json",
        "/.publish.lock",
        "/remotes/..%2F.server%2Ftokens.json",
        "/remotes/Not_A_Name.json",
        "/blobs/sha256/abc",
        "/roots/x.root.json",
        "/keys/registry.key",
    ] {
        let response = http.get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path} must not be served");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
    }
    let root = http.get(format!("{}/roots/1.root.json", server.url)).send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert_eq!(root.headers()["cache-control"], "public, max-age=31536000, immutable");
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let fixture = Fixture::new();
    let server = fixture.server();
    let http = client();
    let health: serde_json::Value =
        http.get(format!("{}/health", server.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = http.get(format!("{}/ready", server.url)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["snapshotVersion"], 1);
    let metrics = http.get(format!("{}/metrics", server.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("registry_server_http_requests_total"), "{metrics}");

    // Storage gone: not ready, with a reason, still alive.
    std::fs::remove_file(fixture.registry().join("snapshot.json")).unwrap();
    let ready = http.get(format!("{}/ready", server.url)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("snapshot.json"), "{body}");
    assert_eq!(http.get(format!("{}/health", server.url)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn graceful_shutdown_on_sigterm() {
    let fixture = Fixture::new();
    let mut server = fixture.server();
    let pid = server.child.id().to_string();
    let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "SIGTERM ends the server cleanly, got {exit}");
}

/// The server's own accept loop (src/listen.rs) must not wait forever for
/// an idle keep-alive connection: SIGTERM closes it and the process exits.
#[tokio::test]
async fn sigterm_closes_idle_keep_alive_connections() {
    use std::io::{Read as _, Write as _};
    use std::time::{Duration, Instant};

    let fixture = Fixture::new();
    let mut server = fixture.server();
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut idle = std::net::TcpStream::connect(&address).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: registry\r\n\r\n").unwrap();
    let mut head = [0u8; 64];
    let read = idle.read(&mut head).unwrap();
    assert!(head[..read].starts_with(b"HTTP/1.1 200"), "got {:?}", String::from_utf8_lossy(&head[..read]));

    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGTERM with an idle keep-alive connection open");
        std::thread::sleep(Duration::from_millis(20)); // poll interval
    };
    assert!(exit.success(), "SIGTERM ends the server cleanly, got {exit}");
    let mut rest = Vec::new();
    assert!(idle.read_to_end(&mut rest).is_ok(), "the server closed the idle connection");
}

/// Documents over 16 KiB go out with `sendfile` from a memfd; the bytes must
/// be the stored ones, plain and gzipped, mixed with copied responses on the
/// same keep-alive connections.
#[tokio::test]
async fn large_documents_arrive_whole_on_busy_keep_alive_connections() {
    let fixture = Fixture::new();
    let token = fixture.token(&["wide"]).await;
    // 400 distinct files: an index of ~60 KiB whose gzip is still over 16 KiB.
    let files: Vec<(String, Vec<u8>)> =
        (0..400).map(|i| (format!("assets/chunk-{i:03}.js"), format!("export default {i};\n").into_bytes())).collect();
    let extra: Vec<(&str, &[u8])> = files.iter().map(|(path, body)| (path.as_str(), body.as_slice())).collect();
    let remote = fixture.remote("wide", "1.0.0", &extra);
    let server = fixture.server();
    assert_eq!(publish(&server.url, Some(&token), &remote).await.status(), 201);
    let stored_index = std::fs::read(fixture.registry().join("remotes/wide.json")).unwrap();
    let stored_snapshot = std::fs::read(fixture.registry().join("snapshot.json")).unwrap();
    assert!(stored_index.len() > 32 * 1024, "the index is large: {} bytes", stored_index.len());

    let http = client();
    let requests = (0..8).map(|task| {
        let (http, url) = (http.clone(), server.url.clone());
        let (stored_index, stored_snapshot) = (stored_index.clone(), stored_snapshot.clone());
        tokio::spawn(async move {
            for round in 0..25 {
                let gzip = (task + round) % 2 == 0;
                let mut request = http.get(format!("{url}/remotes/wide.json"));
                if gzip {
                    request = request.header("accept-encoding", "gzip");
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                let body = response.bytes().await.unwrap();
                let plain = if gzip {
                    assert!(body.len() > 16 * 1024, "the gzipped index is large too: {} bytes", body.len());
                    let mut plain = Vec::new();
                    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
                    plain
                } else {
                    body.to_vec()
                };
                assert!(plain == stored_index, "task {task} round {round}: the index differs from the stored one");
                let snapshot = http.get(format!("{url}/snapshot.json")).send().await.unwrap().bytes().await.unwrap();
                assert!(snapshot == stored_snapshot, "task {task} round {round}: the snapshot differs");
            }
        })
    });
    for request in requests.collect::<Vec<_>>() {
        request.await.unwrap();
    }
}

/// Issue 20, point 13: with `REGISTRY_ADMIN_LISTEN`, `/metrics` and `/ready`
/// answer on a port of their own (which only monitoring is let through to),
/// and `/metrics` leaves the public port; the probes still answer there.
#[tokio::test]
async fn point_13_metrics_and_ready_on_a_separate_admin_port() {
    let fixture = Fixture::new();
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let admin = format!("http://127.0.0.1:{admin_port}");
    let server = crate::support::Server::start(
        &fixture.registry(),
        &fixture.key_file(),
        &[("REGISTRY_ADMIN_LISTEN", &format!("127.0.0.1:{admin_port}"))],
    );
    let http = client();
    assert_eq!(http.get(format!("{}/snapshot.json", server.url)).send().await.unwrap().status(), 200);
    let metrics = http
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("nothing answers on the admin port: {e}"));
    assert_eq!(metrics.status(), 200);
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains("registry_server_"), "{metrics}");
    for probe in ["/ready", "/health"] {
        let answer = http.get(format!("{admin}{probe}")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{probe} on the admin port");
        assert_eq!(http.get(format!("{}{probe}", server.url)).send().await.unwrap().status(), 200, "{probe}");
    }
    assert_eq!(http.get(format!("{admin}/snapshot.json")).send().await.unwrap().status(), 404, "only operations");
    let public = http.get(format!("{}/metrics", server.url)).send().await.unwrap();
    assert_eq!(public.status(), 404, "/metrics moved to the admin port");
}
