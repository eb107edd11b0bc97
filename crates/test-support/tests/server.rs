//! The loopback registry server behaves like a static host, each fault
//! does what its documentation says, and free ports are free and distinct.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, ETAG, IF_NONE_MATCH};
use test_support::{Fault, RecordedRequest, RegistryServer};

const BODY: &[u8] = b"0123456789abcdefghij";

async fn server() -> (tempfile::TempDir, RegistryServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    test_support::write_file(dir.path(), "blobs/sha256/file", BODY).expect("write a file");
    let server = RegistryServer::start(dir.path()).await.expect("start");
    (dir, server)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build().expect("client")
}

#[tokio::test]
async fn it_serves_files_with_strong_etags_and_answers_304() {
    let (_dir, server) = server().await;
    let url = format!("{}blobs/sha256/file", server.url());
    let response = http().get(&url).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()[ETAG].to_str().expect("ascii").to_owned();
    assert_eq!(etag.len(), 66, "a quoted sha256: {etag}");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "strong, quoted: {etag}");
    assert_eq!(response.headers()[CONTENT_LENGTH], BODY.len().to_string().as_str());
    assert_eq!(&response.bytes().await.expect("body")[..], BODY);

    let again = http().get(&url).header(IF_NONE_MATCH, &etag).send().await.expect("GET");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let other = http().get(&url).header(IF_NONE_MATCH, "\"other\"").send().await.expect("GET");
    assert_eq!(other.status(), StatusCode::OK, "a different ETag gets the body");

    let missing = http().get(format!("{}nope.json", server.url())).send().await.expect("GET");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let escape = http().get(format!("{}blobs/../../etc/passwd", server.url())).send().await.expect("GET");
    assert_eq!(escape.status(), StatusCode::NOT_FOUND);

    let recorded = server.requests();
    assert_eq!(recorded.len(), 5, "{recorded:?}");
    assert_eq!(
        recorded[1],
        RecordedRequest {
            method: "GET".into(),
            path: "blobs/sha256/file".into(),
            if_none_match: Some(etag),
            status: Some(304),
        }
    );
}

#[tokio::test]
async fn body_faults_change_what_is_sent() {
    let (_dir, server) = server().await;
    let url = format!("{}blobs/sha256/file", server.url());
    let path = "blobs/sha256/file";

    server.set_fault(path, Fault::ExtraBytes(5));
    let response = http().get(&url).send().await.expect("GET");
    assert!(response.headers().get(CONTENT_LENGTH).is_none(), "sent chunked");
    assert_eq!(response.bytes().await.expect("body").len(), BODY.len() + 5);

    server.set_fault(path, Fault::ExtraBytesWithLength(5));
    let response = http().get(&url).send().await.expect("GET");
    assert_eq!(response.content_length(), Some(BODY.len() as u64 + 5));

    server.set_fault(path, Fault::Truncate(4));
    let body = http().get(&url).send().await.expect("GET").bytes().await.expect("body");
    assert_eq!(&body[..], &BODY[..4]);

    server.set_fault(path, Fault::CutOff(4));
    let response = http().get(&url).send().await.expect("GET");
    assert_eq!(response.content_length(), Some(BODY.len() as u64), "the full length is announced");
    assert!(response.bytes().await.is_err(), "then the connection drops");

    server.set_fault(path, Fault::Status(418));
    let response = http().get(&url).send().await.expect("GET");
    assert_eq!(response.status().as_u16(), 418);

    server.set_fault(path, Fault::Stall);
    let response = http().get(&url).send().await.expect("headers arrive");
    let started = std::time::Instant::now();
    assert!(response.bytes().await.is_err_and(|err| err.is_timeout()), "the body never completes");
    assert!(started.elapsed() < Duration::from_secs(5));

    server.set_fault(path, Fault::Offline);
    let result = http().get(&url).send().await;
    assert!(result.is_err(), "no answer at all: {result:?}");
    assert_eq!(server.requests().last().map(|r| r.status), Some(None), "recorded without a status");

    server.clear_fault(path);
    assert_eq!(http().get(&url).send().await.expect("GET").status(), StatusCode::OK);
}

#[tokio::test]
async fn going_offline_refuses_connections_until_back_online() {
    let (_dir, server) = server().await;
    let url = format!("{}blobs/sha256/file", server.url());
    server.go_offline().await;
    let result = http().get(&url).send().await;
    assert!(result.as_ref().is_err_and(reqwest::Error::is_connect), "{result:?}");
    server.go_online().await.expect("listen again");
    assert_eq!(http().get(&url).send().await.expect("GET").status(), StatusCode::OK);
}

#[test]
fn sample_remote_writes_a_manifest_and_an_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    test_support::sample_remote(dir.path(), "alpha", "1.2.3", "^1.0.0", &[("assets/a.js", b"a")]).expect("write");
    let manifest = std::fs::read(dir.path().join("remote.json")).expect("remote.json");
    let manifest = manifest::RemoteManifest::from_json(&manifest).expect("a valid manifest");
    assert_eq!(manifest.version, manifest::Version::new(1, 2, 3));
    assert!(dir.path().join(&manifest.entry).is_file(), "the entry file exists");
    assert!(dir.path().join("assets/a.js").is_file());
}

#[tokio::test]
async fn the_router_serves_without_a_socket() {
    use tower::ServiceExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    test_support::write_file(dir.path(), "snapshot.json", b"{}").expect("write");
    let request = axum::http::Request::get("/snapshot.json").body(axum::body::Body::empty()).expect("request");
    let response = test_support::app(dir.path()).oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key(ETAG));
}

#[test]
fn free_loopback_ports_are_all_different_and_bindable() {
    let ports = test_support::free_loopback_ports(64);
    let distinct: std::collections::HashSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len(), "{ports:?}");
    let listeners: Vec<_> = ports.iter().map(|port| std::net::TcpListener::bind(("127.0.0.1", *port))).collect();
    assert!(listeners.iter().all(Result::is_ok), "each port can be bound again: {listeners:?}");
}
