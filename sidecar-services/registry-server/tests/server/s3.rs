//! The server on S3 storage (feature `aws`, object_store's `AmazonS3`),
//! against a real S3-compatible server on loopback: moto's S3 (PyPI
//! `moto[server]` 5.2.5), which `cargo xtask test` installs and starts once
//! per run (xtask/src/s3.rs) and names in `AUGMENT_TEST_S3_ENDPOINT`,
//! `AUGMENT_TEST_S3_BUCKET` and `AWS_*`. Each fixture gets its own prefix of
//! that one bucket. Without those variables the tests fail and say how to
//! run them; `AUGMENT_SKIP_S3_TESTS=1` skips them loudly.
//!
//! Why moto: it is on PyPI (reachable here, unlike MinIO's releases), starts
//! in under a second, and implements what the compare-and-swap needs:
//! `PutObject` with `If-None-Match: *` (5.0) and `If-Match: <etag>` (5.1),
//! answering 412 when the condition fails. One caveat, handled in
//! xtask/src/s3_server.py: moto checks the condition and then stores the
//! object in two steps without a lock, so under its stock threaded server
//! two racing conditional writes could both succeed (real S3 never lets
//! them; not seen in practice, the window is small). xtask serves it
//! single-threaded, which makes each request atomic, so these tests cannot
//! pass by luck.
//!
//! Not covered: wrong credentials (moto accepts any), and real S3's 409
//! `ConditionalRequestConflict` for writes racing inside S3 (moto answers
//! 412; `storage.rs` treats both as a lost race).

use std::process::{Command, Stdio};
use std::sync::mpsc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};

use crate::concurrency::eight_publishers_two_replicas;
use crate::support::{DEADLINE, Fixture, LocalS3, client, publish};

#[tokio::test]
async fn publish_serve_and_yank_on_s3() {
    let Some(s3) = LocalS3::from_env() else { return };
    let fixture = Fixture::on_s3(&s3).await;
    let token = fixture.token(&["alpha"]).await;
    let server = fixture.server();
    let http = client();

    let ready: serde_json::Value =
        http.get(format!("{}/ready", server.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["snapshotVersion"], 1, "{ready}");

    let remote = fixture.remote("alpha", "1.0.0", &[("assets/chunk.js", b"console.log('on s3')")]);
    let response = publish(&server.url, Some(&token), &remote).await;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["snapshotVersion"], 2, "{body}");

    // Stored in the bucket, signed, and served byte for byte as stored.
    let snapshot = fixture.stored_snapshot().await;
    assert_eq!(snapshot.version, 2);
    let served = http.get(format!("{}/snapshot.json", server.url)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(served.to_vec(), fixture.object("snapshot.json").await.unwrap());
    let index = fixture.stored_index("alpha").await.expect("alpha is pinned");
    let entry = index.version(&"1.0.0".parse().unwrap()).expect("1.0.0 is listed");
    for file in &entry.files {
        let url = format!("{}/{}", server.url, registry::blob_path(&file.sha256));
        let blob = http.get(url).send().await.unwrap();
        assert_eq!(blob.status(), 200);
        registry::verify_blob(&file.sha256, file.length, &blob.bytes().await.unwrap()).unwrap();
    }

    let yank = http
        .post(format!("{}/api/v1/remotes/alpha/versions/1.0.0/yank", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let status = yank.status();
    let body: serde_json::Value = yank.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["yanked"].as_bool(), body["snapshotVersion"].as_u64()), (Some(true), Some(3)), "{body}");
    let index = fixture.stored_index("alpha").await.unwrap();
    assert!(index.version(&"1.0.0".parse().unwrap()).unwrap().yanked, "the stored index says yanked");
    assert_eq!(fixture.stored_snapshot().await.version, 3);
}

/// The concurrency scenario of `concurrency.rs`, with both replicas on one
/// bucket: the compare-and-swap is S3's own `If-Match`/`If-None-Match`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_publishers_two_replicas_on_one_bucket_lose_nothing() {
    let Some(s3) = LocalS3::from_env() else { return };
    eight_publishers_two_replicas(&Fixture::on_s3(&s3).await).await;
}

#[tokio::test]
async fn a_missing_bucket_stops_the_server_at_startup_with_a_clear_error() {
    let Some(s3) = LocalS3::from_env() else { return };
    let fixture = Fixture::new();
    let bucket = format!("augment-no-such-bucket-{}", std::process::id());
    let (status, stderr) = run_to_exit(s3.server_command(&bucket, "registry", &fixture.key_file()));
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "an error, not a panic: {stderr}");
    assert!(stderr.contains(&format!("s3://{bucket}/registry is not usable")), "names the bucket: {stderr}");
    assert!(stderr.contains("check that the bucket exists"), "says what to check: {stderr}");
}

/// Nothing listening at the endpoint: a clear error once object_store's
/// retries (about 4 s) are spent, not a server that starts and fails every request.
#[tokio::test]
async fn an_unreachable_endpoint_stops_the_server_at_startup_with_a_clear_error() {
    let Some(s3) = LocalS3::from_env() else { return };
    let fixture = Fixture::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere = s3.through(format!("http://{closed}"));
    let (status, stderr) = run_to_exit(nowhere.server_command(&s3.bucket, "registry", &fixture.key_file()));
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "an error, not a panic: {stderr}");
    assert!(stderr.contains(&format!("s3://{}/registry is not usable", s3.bucket)), "{stderr}");
    assert!(stderr.contains("Connection refused"), "says why: {stderr}");
}

/// An S3-compatible store that accepts conditional writes but ignores the
/// condition (here moto behind a proxy that drops `If-Match` and
/// `If-None-Match`, as some gateways and old servers do) would let replicas
/// overwrite each other's publishes: the server refuses to start on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_ignores_conditional_writes_is_refused_at_startup() {
    let Some(s3) = LocalS3::from_env() else { return };
    let fixture = Fixture::on_s3(&s3).await;
    let lying = s3.through(condition_dropping_proxy(&s3.endpoint).await);
    let command = lying.server_command(&s3.bucket, fixture.s3_prefix().unwrap(), &fixture.key_file());
    let (status, stderr) = tokio::task::spawn_blocking(move || run_to_exit(command)).await.unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "an error, not a panic: {stderr}");
    assert!(stderr.contains("does not honour conditional writes (If-None-Match: *)"), "{stderr}");
    assert!(stderr.contains("replicas would overwrite each other's publishes"), "{stderr}");

    // The same bucket through the honest endpoint is fine.
    let server = fixture.server();
    let ready = client().get(format!("{}/ready", server.url)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

/// Runs the configured server until it exits on its own (within the
/// deadline), returning its exit status and standard error.
fn run_to_exit(mut command: Command) -> (std::process::ExitStatus, String) {
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let pid = child.id();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(child.wait_with_output());
    });
    let Ok(output) = receive.recv_timeout(DEADLINE) else {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("the server was still running after {DEADLINE:?}: it should have refused to start");
    };
    let output = output.unwrap();
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A loopback HTTP proxy to `upstream` that forwards every request except
/// its `If-Match` and `If-None-Match` headers; returns its endpoint. It
/// serves until the test's runtime ends.
async fn condition_dropping_proxy(upstream: &str) -> String {
    let upstream = upstream.trim_end_matches('/').to_owned();
    let http = client();
    let forward = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let (http, upstream) = (http.clone(), upstream.clone());
        async move {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let mut request = http.request(method, format!("{upstream}{path}")).body(body);
            for (name, value) in &headers {
                let dropped = ["host", "content-length", "if-match", "if-none-match"];
                if !dropped.contains(&name.as_str()) {
                    request = request.header(name, value);
                }
            }
            let Ok(response) = request.send().await else {
                return (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::new());
            };
            let status = response.status();
            let mut headers = response.headers().clone();
            headers.remove("transfer-encoding");
            headers.remove("content-length");
            (status, headers, response.bytes().await.unwrap_or_default())
        }
    };
    let app = axum::Router::new().fallback(forward);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}
