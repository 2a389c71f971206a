//! Helpers shared by the end-to-end tests: running the real `callproof` binary (and other
//! programs) with a hang guard, a development PKI in a temp dir, and a small HTTP(S) server
//! on 127.0.0.1 whose every loop is bounded, to serve x5u certificate chains; [`serve`]:
//! `callproof serve` as a child process to kill and restart, and a PostgreSQL database of
//! a test's own.

#![allow(
    dead_code,
    reason = "each test crate uses its own subset of these helpers"
)]

pub(crate) mod serve;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read as _;
use std::net::TcpListener as StdTcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Longest any child process may run before it is killed and the test fails.
pub(crate) const PROCESS_LIMIT: Duration = Duration::from_secs(30);

/// What a finished process left behind.
#[derive(Debug)]
pub(crate) struct Run {
    /// The exit code (-1 when killed by a signal).
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Wall-clock time the process took.
    pub(crate) elapsed: Duration,
}

impl Run {
    /// stdout parsed as one JSON document.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\nstdout: {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// Panics with the whole output unless the exit code is `code`.
    pub(crate) fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `cmd` to completion, killing it (and failing the test) after [`PROCESS_LIMIT`].
pub(crate) fn run(cmd: &mut Command) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PROCESS_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {PROCESS_LIMIT:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        elapsed: start.elapsed(),
    }
}

/// The `callproof` binary built for this test run.
pub(crate) fn callproof_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_callproof"))
}

/// Runs `callproof` with `args`.
pub(crate) fn callproof<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(callproof_command().args(args))
}

/// The current Unix time.
pub(crate) fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A development PKI written by `callproof pki init` into its own temp dir.
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
}

impl Pki {
    /// `callproof pki init --out <tmp>/pki <extra...>`; panics unless it succeeds.
    pub(crate) fn init(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pki");
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("pki"),
            OsStr::new("init"),
            OsStr::new("--out"),
            out.as_os_str(),
        ];
        args.extend(extra.iter().map(OsStr::new));
        callproof(args).assert_code(0);
        Self { dir }
    }

    /// A file of the PKI: root.pem, intermediate.pem, sp.pem, sp-key.pem, chain.pem.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join("pki").join(name)
    }

    /// [`Pki::file`] as a `String`, for argument lists.
    pub(crate) fn arg(&self, name: &str) -> String {
        self.file(name).to_str().unwrap().to_owned()
    }

    /// `callproof sign --key <this PKI's key> <args>`; returns the Identity header value.
    pub(crate) fn sign(&self, args: &[&str]) -> String {
        let key = self.arg("sp-key.pem");
        let mut full = vec!["sign", "--key", key.as_str()];
        full.extend_from_slice(args);
        let run = callproof(&full);
        run.assert_code(0);
        let identity = run.stdout.trim().to_owned();
        assert_eq!(
            identity.lines().count(),
            1,
            "one Identity header per line: {identity}"
        );
        identity
    }
}

/// The calling number of the tests' calls.
pub(crate) const ORIG: &str = "12155551212";
/// The called number.
pub(crate) const DEST: &str = "12125551213";
/// An x5u that is never fetched: every test using it passes `--cert X5U=chain.pem`.
pub(crate) const X5U: &str = "https://certs.example.org/sp/chain.pem";

/// `callproof verify` of one identity against the call ORIG -> DEST, trusting `pki`'s root.
pub(crate) fn verify(identity: &str, pki: &Pki, extra: &[&str]) -> Run {
    let anchors = pki.arg("root.pem");
    let mut args = vec![
        "verify",
        "--identity",
        identity,
        "--trust-anchors",
        anchors.as_str(),
    ];
    for (flag, default) in [("--from", ORIG), ("--to", DEST)] {
        if !extra.contains(&flag) {
            args.extend([flag, default]);
        }
    }
    args.extend_from_slice(extra);
    callproof(&args)
}

/// `--cert X5U=<pki chain.pem>`.
pub(crate) fn local_chain(pki: &Pki) -> String {
    format!("{X5U}={}", pki.arg("chain.pem"))
}

/// The verificationResponse object.
pub(crate) fn response(run: &Run) -> Value {
    run.json()["verificationResponse"].clone()
}

/// Asserts a passed verification: exit 0 and exactly the ATIS success body.
pub(crate) fn assert_passed(run: &Run) {
    run.assert_code(0);
    assert_eq!(
        run.json(),
        json!({"verificationResponse": {"verstat": "TN-Validation-Passed"}})
    );
}

/// Asserts a failed verification with this reason code and verstat; returns `reasondesc`.
pub(crate) fn assert_failed(run: &Run, code: u16, verstat: &str) -> String {
    run.assert_code(1);
    let r = response(run);
    assert_eq!(r["reasoncode"], json!(code), "{r}");
    assert_eq!(r["verstat"], json!(verstat), "{r}");
    let text = match code {
        403 => "Stale Date",
        436 => "Bad Identity Info",
        437 => "Unsupported Credential",
        438 => "Invalid Identity Header",
        _ => panic!("unexpected code {code}"),
    };
    assert_eq!(r["reasontext"], json!(text), "{r}");
    r["reasondesc"].as_str().unwrap().to_owned()
}

/// Writes `contents` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Content type of a certificate chain at an x5u URL (RFC 8555 section 9.1).
pub(crate) const PEM_CHAIN: &str = "application/pem-certificate-chain";

/// A TLS server identity for 127.0.0.1 and localhost, issued at test time by its own root.
pub(crate) struct TlsIdentity {
    /// The root that issued the server certificate, PEM: the client's extra trust anchor.
    pub(crate) root_pem: String,
    pub(crate) config: Arc<rustls::ServerConfig>,
}

impl TlsIdentity {
    pub(crate) fn generate() -> Self {
        let mut root_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root_params
            .distinguished_name
            .push(DnType::CommonName, "callproof test TLS root");
        root_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let root = CertifiedIssuer::self_signed(root_params, KeyPair::generate().unwrap()).unwrap();

        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &*root).unwrap();

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), root.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        Self {
            root_pem: root.pem(),
            config: Arc::new(config),
        }
    }
}

/// What the test server answers for a path.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// `200 OK` with a Content-Length.
    Body {
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// `200 OK` without a Content-Length: the body is streamed in small chunks and ends when
    /// the connection closes.
    Streamed {
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// This status with an empty body.
    Status(u16),
    /// `302 Found` to this location.
    Redirect(String),
    /// Read the request, then never answer.
    Stall,
}

/// How the server treats a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Https,
    Http,
    /// Accept the TCP connection and never send a byte (no TLS handshake either).
    Silent,
}

/// Longest a test server lives, whatever the test does.
const SERVER_LIFETIME: Duration = Duration::from_secs(60);
/// Most connections a test server accepts.
const MAX_CONNECTIONS: usize = 16;
/// Largest request head the server reads.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

#[derive(Default)]
struct State {
    stop: AtomicBool,
    connections: AtomicUsize,
    paths: Mutex<Vec<String>>,
}

/// An HTTP(S) server on 127.0.0.1 with a fixed route table, on its own thread and runtime.
/// It stops when dropped, after [`SERVER_LIFETIME`], and accepts at most [`MAX_CONNECTIONS`].
pub(crate) struct Server {
    port: u16,
    https: bool,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// An HTTPS server presenting `tls`.
    pub(crate) fn https(tls: &TlsIdentity, routes: Vec<(&str, Reply)>) -> Self {
        Self::start(Mode::Https, Some(tls), routes)
    }

    /// A plain-HTTP server.
    pub(crate) fn http(routes: Vec<(&str, Reply)>) -> Self {
        Self::start(Mode::Http, None, routes)
    }

    /// A server that accepts connections and never answers, not even the TLS handshake.
    pub(crate) fn silent() -> Self {
        Self::start(Mode::Silent, None, Vec::new())
    }

    fn start(mode: Mode, tls: Option<&TlsIdentity>, routes: Vec<(&str, Reply)>) -> Self {
        let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(Arc::clone(&t.config)));
        let routes: Arc<HashMap<String, Reply>> =
            Arc::new(routes.into_iter().map(|(p, r)| (p.to_owned(), r)).collect());
        let thread = std::thread::spawn({
            let state = Arc::clone(&state);
            move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(serve(listener, mode, acceptor, routes, state));
                // Dropping the runtime cancels connections still held open.
            }
        });
        Self {
            port,
            https: mode != Mode::Http,
            state,
            thread: Some(thread),
        }
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `path` on this server, by IP literal.
    pub(crate) fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// TCP connections accepted so far.
    pub(crate) fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The request paths received so far, in order.
    pub(crate) fn paths(&self) -> Vec<String> {
        self.state.paths.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: StdTcpListener,
    mode: Mode,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    routes: Arc<HashMap<String, Reply>>,
    state: Arc<State>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let deadline = Instant::now() + SERVER_LIFETIME;
    while !state.stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        if state.connections.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let Ok(Ok((tcp, _))) =
            tokio::time::timeout(Duration::from_millis(20), listener.accept()).await
        else {
            continue;
        };
        state.connections.fetch_add(1, Ordering::SeqCst);
        let (acceptor, routes, state) = (acceptor.clone(), Arc::clone(&routes), Arc::clone(&state));
        tokio::spawn(async move {
            match (mode, acceptor) {
                (Mode::Silent, _) => std::future::pending::<()>().await,
                (Mode::Https, Some(acceptor)) => {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(5), acceptor.accept(tcp));
                    if let Ok(Ok(stream)) = handshake.await {
                        exchange(stream, &routes, &state).await;
                    }
                }
                (Mode::Http | Mode::Https, _) => exchange(tcp, &routes, &state).await,
            }
        });
    }
}

/// Reads one request head and answers it from `routes` (404 for an unknown path).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    routes: &HashMap<String, Reply>,
    state: &State,
) {
    let Some(path) = read_request_path(&mut stream).await else {
        return;
    };
    state.paths.lock().unwrap().push(path.clone());
    let reply = routes.get(&path).cloned().unwrap_or(Reply::Status(404));
    let (head, body, chunked) = match reply {
        Reply::Body { content_type, body } => (
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            ),
            body,
            false,
        ),
        Reply::Streamed { content_type, body } => (
            format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n"),
            body,
            true,
        ),
        Reply::Status(code) => (
            format!("HTTP/1.1 {code} Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            Vec::new(),
            false,
        ),
        Reply::Redirect(location) => (
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            ),
            Vec::new(),
            false,
        ),
        Reply::Stall => std::future::pending().await,
    };
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    if chunked {
        for piece in body.chunks(4096) {
            if stream.write_all(piece).await.is_err() || stream.flush().await.is_err() {
                return;
            }
        }
    } else if stream.write_all(&body).await.is_err() {
        return;
    }
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

/// The path of the request line, once the whole head (up to a blank line) has arrived.
async fn read_request_path<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return None;
        }
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        match read {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
    let line = String::from_utf8_lossy(&head).lines().next()?.to_owned();
    let mut parts = line.split(' ');
    let _method = parts.next()?;
    parts.next().map(str::to_owned)
}
