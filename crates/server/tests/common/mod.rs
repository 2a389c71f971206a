//! Helpers for the server's end-to-end tests: a real node on 127.0.0.1 with its data in a
//! temp dir, an HTTP client whose every request is bounded in time, PASSporT decoding that
//! does not use callproof's own decoder, a small x5u server, and bounded child processes;
//! [`browser`]: headless Chromium with axe-core, for the page tests.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test crate uses its own subset of these helpers"
)]

pub mod browser;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use server::config::{Config, HttpConfig, SipConfig, StorageConfig};
use server::node::Node;
use tokio_util::sync::CancellationToken;

/// Longest a node may take to start or to stop.
pub const NODE_LIMIT: Duration = Duration::from_secs(30);
/// Longest one HTTP request may take.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(10);
/// Longest a child process may run.
pub const PROCESS_LIMIT: Duration = Duration::from_secs(20);

/// The DESIGN example's calling number (inside the development range).
pub const ORIG: &str = "12155551212";
/// The DESIGN example's called number.
pub const DEST: &str = "12125551213";
/// The DESIGN example's origid.
pub const ORIGID: &str = "123e4567-e89b-12d3-a456-426655440000";

/// The current Unix time.
pub fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A fresh origid (a valid UUID), different on every call, so no two PASSporTs a test signs
/// are alike.
pub fn fresh_origid() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "123e4567-e89b-42d3-a456-{:012x}",
        n + u64::from(std::process::id()) * 4096
    )
}

/// The configuration of a loopback development node keeping its files in `dir`: HTTP on an
/// ephemeral port, SIP off, the inventory polled often.
pub fn dev_config(dir: &Path) -> Config {
    let defaults = Config::default();
    Config {
        data_dir: dir.to_owned(),
        http: HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..defaults.http
        },
        sip: SipConfig {
            signing_listen: None,
            verification_listen: None,
            ..defaults.sip
        },
        storage: StorageConfig {
            inventory_poll_ms: 50,
            ..defaults.storage
        },
        ..defaults
    }
}

/// A running node, its temp dir and a client for it. Dropping it stops the node.
pub struct TestNode {
    node: Option<Node>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A client with [`REQUEST_LIMIT`].
    pub client: reqwest::Client,
    /// Holds the node's data dir (and anything else the test puts there).
    pub dir: tempfile::TempDir,
}

impl TestNode {
    /// A development node on defaults (see [`dev_config`]).
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A node on [`dev_config`] changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = dev_config(dir.path());
        adjust(&mut config);
        Self::start_in(dir, config).await
    }

    /// A node on `config`, keeping `dir` alive for it.
    pub async fn start_in(dir: tempfile::TempDir, config: Config) -> Self {
        let node = tokio::time::timeout(NODE_LIMIT, Node::start(config))
            .await
            .expect("the node did not start in time")
            .unwrap_or_else(|e| panic!("the node did not start: {e}"));
        Self::from_node(dir, node)
    }

    /// Wraps a node the test started itself.
    pub fn from_node(dir: tempfile::TempDir, node: Node) -> Self {
        let base = format!("http://{}", node.http_addr());
        Self {
            node: Some(node),
            base,
            client: client(),
            dir,
        }
    }

    /// The node.
    pub fn node(&self) -> &Node {
        self.node.as_ref().unwrap()
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs `body` as JSON to `path`, with `headers`; returns the status and the JSON body.
    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        into_json(request.send().await.unwrap()).await
    }

    /// POSTs raw bytes; `content_type` `None` sends no Content-Type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// POSTs `fields` as an HTML form would (`application/x-www-form-urlencoded`): status,
    /// headers, body text.
    pub async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(fields))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    /// GETs `path`: status, headers, body text.
    pub async fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
        get_url(&self.client, &self.url(path)).await
    }

    /// Signs ORIG -> DEST (attest A, `origid`, `iat`) as the development customer; asserts
    /// 200 and returns the Identity value.
    pub async fn sign(&self, orig: &str, dest: &str, iat: i64, origid: &str) -> String {
        self.sign_with(orig, dest, iat, origid, &[]).await
    }

    /// As [`TestNode::sign`], with extra request headers (API keys).
    pub async fn sign_with(
        &self,
        orig: &str,
        dest: &str,
        iat: i64,
        origid: &str,
        headers: &[(&str, &str)],
    ) -> String {
        let (status, body) = self
            .post_json(
                "/stir/v1/signing",
                &signing_request("A", orig, &[dest], iat, origid),
                headers,
            )
            .await;
        assert_eq!(status, 200, "signing failed: {body}");
        identity_of(&body)
    }

    /// Signs a fresh PASSporT for ORIG -> DEST issued now.
    pub async fn sign_fresh(&self) -> String {
        self.sign(ORIG, DEST, now(), &fresh_origid()).await
    }

    /// POSTs an ATIS verificationRequest.
    pub async fn verify(&self, from: &str, to: &str, time: i64, identity: &str) -> (u16, Value) {
        self.post_json(
            "/stir/v1/verification",
            &verification_request(from, to, time, identity),
            &[],
        )
        .await
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
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(node) = &self.node {
            node.shutdown_token().cancel();
        }
    }
}

/// An HTTP client with [`REQUEST_LIMIT`] and no proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_LIMIT)
        .connect_timeout(REQUEST_LIMIT)
        .no_proxy()
        .build()
        .unwrap()
}

/// GETs `url`: status, headers, body text.
pub async fn get_url(
    client: &reqwest::Client,
    url: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url} failed: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// The status and the body parsed as JSON (the test fails on a non-JSON body).
pub async fn into_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
    (status, value)
}

/// An ATIS signingRequest in the DESIGN's first form.
pub fn signing_request(attest: &str, orig: &str, dest: &[&str], iat: i64, origid: &str) -> Value {
    json!({"signingRequest": {
        "attest": attest,
        "dest": {"tn": dest},
        "iat": iat,
        "orig": {"tn": orig},
        "origid": origid,
    }})
}

/// An ATIS verificationRequest in the DESIGN's first form.
pub fn verification_request(from: &str, to: &str, time: i64, identity: &str) -> Value {
    json!({"verificationRequest": {
        "from": {"tn": from},
        "to": {"tn": [to]},
        "time": time,
        "identity": identity,
    }})
}

/// `signingResponse.identity`, checking the response has that shape and nothing else.
pub fn identity_of(body: &Value) -> String {
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 1, "unexpected members in {body}");
    let response = body["signingResponse"].as_object().unwrap();
    assert_eq!(response.len(), 1, "unexpected members in {body}");
    response["identity"].as_str().unwrap().to_owned()
}

/// An ATIS service/policy exception body.
pub fn atis_error(kind: &str, id: &str, text: &str, variables: &[&str]) -> Value {
    let mut body = json!({"messageId": id, "text": text});
    if !variables.is_empty() {
        body["variables"] = json!(variables);
    }
    json!({"requestError": {kind: body}})
}

/// A failed verification's body.
pub fn failure(code: u16, text: &str, desc: &str, verstat: &str) -> Value {
    json!({"verificationResponse": {
        "reasoncode": code,
        "reasontext": text,
        "reasondesc": desc,
        "verstat": verstat,
    }})
}

/// The passed verification's body, exactly as the DESIGN shows it.
pub fn passed() -> Value {
    json!({"verificationResponse": {"verstat": "TN-Validation-Passed"}})
}

/// The parts of an Identity header value, decoded here with `base64` and `serde_json`
/// (not with callproof's own decoder).
#[derive(Debug)]
pub struct Decoded {
    /// The protected header as sent (decoded bytes, as text).
    pub header_text: String,
    /// The payload as sent.
    pub payload_text: String,
    /// The protected header.
    pub header: Value,
    /// The claims.
    pub claims: Value,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The parameters after the token, as written (`;info=<...>;alg=ES256;ppt=shaken`).
    pub params: String,
    /// The URL inside `info=<...>`.
    pub info: String,
}

/// Decodes an Identity header value in full form.
pub fn decode(identity: &str) -> Decoded {
    let (token, params) = identity
        .split_once(';')
        .unwrap_or_else(|| panic!("no parameters in {identity:?}"));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a full-form JWS: {token:?}");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let text = |s: &str| String::from_utf8(b64.decode(s).unwrap()).unwrap();
    let header_text = text(parts[0]);
    let payload_text = text(parts[1]);
    let info = params
        .split_once("info=<")
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(url, _)| url.to_owned())
        .unwrap_or_default();
    Decoded {
        header: serde_json::from_str(&header_text).unwrap(),
        claims: serde_json::from_str(&payload_text).unwrap(),
        header_text,
        payload_text,
        signature: b64.decode(parts[2]).unwrap(),
        params: format!(";{params}"),
        info,
    }
}

/// `identity` with one character of its signature changed (still valid base64url, a
/// different 64-byte signature).
pub fn alter_signature(identity: &str) -> String {
    let (token, params) = identity.split_once(';').unwrap();
    let sig_start = token.rfind('.').unwrap() + 1;
    let at = sig_start + 10;
    let old = &token[at..=at];
    let new = if old == "A" { "B" } else { "A" };
    format!("{}{new}{};{params}", &token[..at], &token[at + 1..])
}

/// Polls `check` every 50 ms until it returns `Some`, failing the test with `what` after
/// `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes `contents` to `path` with `mode` (Unix permissions), creating or truncating it.
pub fn write_file(path: &Path, contents: &str, mode: u32) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    use std::os::unix::fs::PermissionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file.sync_all().unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Replaces `path` atomically: writes a sibling temp file, then renames it over `path`.
pub fn replace_file(path: &Path, contents: &str, mode: u32) {
    let tmp = path.with_extension("tmp");
    write_file(&tmp, contents, mode);
    std::fs::rename(&tmp, path).unwrap();
}

/// The first PEM block of a chain (the leaf).
pub fn first_pem(chain: &str) -> String {
    const END: &str = "-----END CERTIFICATE-----";
    let end = chain.find(END).expect("no certificate in the chain") + END.len();
    format!("{}\n", &chain[..end])
}

/// An unused port on 127.0.0.1 (bound, then released: another process could take it in
/// between, which a test then reports as a start failure).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// What a finished child process printed.
#[derive(Debug)]
pub struct Output {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd`, killing it and failing the test after [`PROCESS_LIMIT`].
pub fn run(cmd: &mut Command) -> Output {
    try_run(cmd).unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// As [`run`], returning the error when the program cannot be started at all.
pub fn try_run(cmd: &mut Command) -> std::io::Result<Output> {
    use std::io::Read as _;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + PROCESS_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} ran longer than {PROCESS_LIMIT:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        code: status.code().unwrap_or(-1),
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    })
}

/// A tiny HTTP server on 127.0.0.1 serving fixed bodies by path (an x5u repository that is
/// not callproof). Stops when dropped.
pub struct StaticServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stop: CancellationToken,
}

impl StaticServer {
    /// Serves each `(path, body)` with `application/pem-certificate-chain`.
    pub async fn start(files: Vec<(String, String)>) -> Self {
        use axum::http::header;
        let mut router = axum::Router::new();
        for (path, body) in files {
            router = router.route(
                &path,
                axum::routing::get(move || {
                    let body = body.clone();
                    async move {
                        (
                            [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
                            body,
                        )
                    }
                }),
            );
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let until = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(until)
                .await;
        });
        Self { base, stop }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A path inside the node's temp dir.
pub fn path_in(node: &TestNode, name: &str) -> PathBuf {
    node.dir.path().join(name)
}

/// `application/x-www-form-urlencoded` of `fields`, in order (a name may repeat).
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
