//! Helpers for the SIP tests: a development node with both SIP services on ephemeral
//! loopback ports, SIP messages to send, and UDP/TCP exchanges bounded in time.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test crate uses its own subset of these helpers"
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use server::config::Config;
use server::node::Node;
use sip::{Limits, Message, Response};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};

/// Longest a node may take to start or stop.
pub const NODE_LIMIT: Duration = Duration::from_secs(30);
/// Longest the test waits for one SIP answer.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(10);
/// How long "no answer" is waited for.
pub const SILENCE: Duration = Duration::from_millis(400);

/// A calling number in the development range (the development customer's own).
pub const ORIG: &str = "12155551212";
/// A called number.
pub const DEST: &str = "12125551213";
/// Where a diverted call goes.
pub const FORWARDED_TO: &str = "12125551299";

/// A development node with its data in a temp dir, SIP services on ephemeral ports.
pub struct SipNode {
    pub node: Option<Node>,
    pub dir: tempfile::TempDir,
    pub signing: SocketAddr,
    pub verification: SocketAddr,
}

impl SipNode {
    /// Starts a loopback development node, with `adjust` applied to its configuration.
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        config.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.sip.signing_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.sip.verification_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.storage.inventory_poll_ms = 50;
        adjust(&mut config);
        let node = tokio::time::timeout(NODE_LIMIT, Node::start(config))
            .await
            .expect("the node did not start in time")
            .unwrap_or_else(|e| panic!("the node did not start: {e}"));
        let signing = node.sip_signing_addr().expect("signing service is on");
        let verification = node
            .sip_verification_addr()
            .expect("verification service is on");
        Self {
            node: Some(node),
            dir,
            signing,
            verification,
        }
    }

    pub fn node(&self) -> &Node {
        self.node.as_ref().unwrap()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.node().http_addr())
    }

    /// Stops the node and waits for it, bounded.
    pub async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown_token().cancel();
            tokio::time::timeout(NODE_LIMIT, node.wait())
                .await
                .expect("the node did not stop in time");
        }
    }

    /// Signs ORIG -> `dest` through the REST API as the loopback development caller and
    /// returns the Identity header value.
    pub async fn rest_identity(&self, orig: &str, dest: &str) -> String {
        let client = reqwest::Client::builder()
            .timeout(ANSWER_LIMIT)
            .no_proxy()
            .build()
            .unwrap();
        let iat = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let body = serde_json::json!({"signingRequest": {
            "attest": "A",
            "dest": {"tn": [dest]},
            "iat": iat,
            "orig": {"tn": orig},
            "origid": format!("123e4567-e89b-42d3-a456-{:012x}", next_id()),
        }});
        let response = client
            .post(format!("{}/stir/v1/signing", self.base()))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let value: serde_json::Value = response.json().await.unwrap();
        value["signingResponse"]["identity"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Drop for SipNode {
    fn drop(&mut self) {
        if let Some(node) = &self.node {
            node.shutdown_token().cancel();
        }
    }
}

/// A number unique within the test process (branches, Call-IDs).
pub fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 1_000_000
}

/// A request to build and send.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: &'static str,
    pub uri: String,
    pub transport: &'static str,
    pub via_host: String,
    pub branch: String,
    pub from: String,
    pub to: String,
    pub call_id: String,
    pub extra: Vec<String>,
}

impl Req {
    /// An INVITE ORIG -> DEST sent from `local`.
    pub fn invite(local: SocketAddr, transport: &'static str) -> Self {
        Self::new("INVITE", local, transport)
    }

    pub fn new(method: &'static str, local: SocketAddr, transport: &'static str) -> Self {
        let id = next_id();
        Self {
            method,
            uri: format!("sip:+{DEST}@127.0.0.1;user=phone"),
            transport,
            via_host: local.to_string(),
            branch: format!("z9hG4bK-test-{id}"),
            from: format!("\"Alice\" <sip:+{ORIG}@example.com;user=phone>;tag=f{id}"),
            to: format!("<sip:+{DEST}@example.com;user=phone>"),
            call_id: format!("call-{id}@test"),
            extra: Vec::new(),
        }
    }

    pub fn header(mut self, line: impl Into<String>) -> Self {
        self.extra.push(line.into());
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut text = format!(
            "{} {} SIP/2.0\r\nVia: SIP/2.0/{} {};branch={};rport\r\nMax-Forwards: 70\r\n\
             From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 {}\r\n",
            self.method,
            self.uri,
            self.transport,
            self.via_host,
            self.branch,
            self.from,
            self.to,
            self.call_id,
            self.method
        );
        for line in &self.extra {
            text.push_str(line);
            text.push_str("\r\n");
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        text.into_bytes()
    }

    /// The ACK for a non-2xx final `response` to this INVITE (same branch, the response's
    /// To).
    pub fn ack_for(&self, response: &Response) -> Vec<u8> {
        let to = response
            .headers()
            .get(&sip::header::HeaderName::TO)
            .unwrap();
        format!(
            "ACK {} SIP/2.0\r\nVia: SIP/2.0/{} {};branch={};rport\r\nMax-Forwards: 70\r\n\
             From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
            self.uri, self.transport, self.via_host, self.branch, self.from, self.call_id
        )
        .into_bytes()
    }
}

/// Parses a response.
pub fn parse(bytes: &[u8]) -> Response {
    match sip::decode_datagram(bytes, &Limits::default()) {
        Ok(Message::Response(r)) => r,
        other => panic!(
            "not a SIP response: {other:?}\n{}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// All values of header `name` in `response`.
pub fn values(response: &Response, name: &str) -> Vec<String> {
    let name = sip::header::HeaderName::new(name).unwrap();
    response
        .headers()
        .get_all(&name)
        .map(str::to_owned)
        .collect()
}

/// A UDP client socket on loopback.
pub async fn udp_client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

/// Sends `bytes` to `to` and waits for one datagram back.
pub async fn udp_exchange(socket: &UdpSocket, to: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    socket.send_to(bytes, to).await.unwrap();
    udp_receive(socket).await
}

/// Waits for one datagram.
pub async fn udp_receive(socket: &UdpSocket) -> Vec<u8> {
    let mut buffer = vec![0u8; 70_000];
    let (n, _) = tokio::time::timeout(ANSWER_LIMIT, socket.recv_from(&mut buffer))
        .await
        .expect("no SIP answer in time")
        .unwrap();
    buffer.truncate(n);
    buffer
}

/// True when nothing arrives within [`SILENCE`].
pub async fn udp_silent(socket: &UdpSocket) -> bool {
    let mut buffer = vec![0u8; 70_000];
    tokio::time::timeout(SILENCE, socket.recv_from(&mut buffer))
        .await
        .is_err()
}

/// Reads one SIP message (headers up to the empty line, then Content-Length bytes) from a
/// stream, bounded in time.
pub async fn tcp_read_message(stream: &mut TcpStream) -> Vec<u8> {
    tokio::time::timeout(ANSWER_LIMIT, async {
        let mut out = Vec::new();
        let mut byte = [0u8; 1];
        while !out.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.unwrap();
            assert_eq!(n, 1, "connection closed before a full message");
            out.push(byte[0]);
            // A leading CRLF (a pong) is not part of the message.
            if out == b"\r\n" {
                out.clear();
            }
        }
        let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
        let length: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.unwrap();
        out.extend_from_slice(&body);
        out
    })
    .await
    .expect("no SIP answer on TCP in time")
}

/// Writes `bytes` on a stream.
pub async fn tcp_write(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).await.unwrap();
}
