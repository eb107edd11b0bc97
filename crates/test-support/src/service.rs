//! A service binary run as a child process on a loopback port, and requests
//! to it over a raw socket, so the headers are exactly what a browser or an
//! attacker would send (no client adds or normalises any).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// How long a service may take to print its "listening" line.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running service binary, killed when dropped.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
}

impl ServiceProcess {
    /// Spawns `command` (already told to listen on `127.0.0.1:port`) and
    /// waits, with a deadline, until it prints a line containing "listening".
    pub fn start(mut command: Command, port: u16) -> Self {
        let mut child = command
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let service = Self { child, port };
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("listening") {
                    let _ = sender.send(true);
                }
            }
            let _ = sender.send(false);
        });
        let listening = receiver.recv_timeout(START_DEADLINE).unwrap_or(false);
        assert!(listening, "{command:?} did not start listening on {port}");
        service
    }

    /// `127.0.0.1:<port>`, the `Host` a local client sends.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// One request with exactly `headers`: the status and the JSON body
    /// (`Null` when the body is not JSON).
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let (status, text) = raw_http_request(self.port, method, path, headers);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request to `127.0.0.1:port` with exactly `headers` (and an
/// empty body): the status and the body text.
pub fn raw_http_request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("nothing answers on 127.0.0.1:{port}: {e}"));
    stream.set_read_timeout(Some(START_DEADLINE)).expect("a read timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("sending the request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reading the answer");
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, body.to_owned())
}

/// Runs `command` until it exits, within a deadline: its exit status and
/// standard error. For a service that must refuse to start; panics (after
/// killing it) if it is still running at the deadline.
pub fn exit_and_stderr(mut command: Command) -> (std::process::ExitStatus, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    // Its stderr ends when it exits; wait for that with a deadline.
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = sender.send(text);
    });
    let Ok(stderr) = receiver.recv_timeout(START_DEADLINE) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{command:?} is still running after {START_DEADLINE:?}");
    };
    (child.wait().expect("waiting for the exit"), stderr)
}
