//! Interoperability of `callproof sign` and `callproof verify` with two independent PASSporT
//! implementations, all keys and certificates made at test time by `callproof pki init`:
//!
//! - Python's `jwcrypto`, through the scripts in `tests/interop/`;
//! - Debian's `secsipidx` (Go), as a command line signer and checker, and as an HTTP
//!   verification server that fetches the x5u chain from an in-test HTTPS server.
//!
//! `python3` with `jwcrypto`, and `secsipidx`, are required: without them these tests fail
//! and say what to install. They are never skipped.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap is a failed test"
)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{
    DEST, ORIG, PEM_CHAIN, Pki, Reply, Run, Server, TlsIdentity, X5U, assert_failed, assert_passed,
    local_chain, now, run, verify, write,
};
use serde_json::{Value, json};

const ORIGID: &str = "123e4567-e89b-12d3-a456-426655440000";

// ---------------------------------------------------------------------------------------------
// The peers, and what to do when one is missing

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// Fails the test, saying what to install, unless `python3` can import `jwcrypto`.
fn require_jwcrypto() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        let output = Command::new("python3")
            .args(["-c", "import jwcrypto.jws, jwcrypto.jwk"])
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    });
    if let Err(why) = check {
        panic!(
            "the interop tests need python3 with the jwcrypto package \
             (install python3, then `pip install jwcrypto`): {why}"
        );
    }
}

/// Fails the test, saying what to install, unless `secsipidx` runs.
fn require_secsipidx() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        let output = Command::new("secsipidx")
            .arg("-version")
            .output()
            .map_err(|e| format!("cannot run secsipidx: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        if text.contains("secsipidx") {
            Ok(())
        } else {
            Err(format!("`secsipidx -version` printed {text:?}"))
        }
    });
    if let Err(why) = check {
        panic!(
            "the interop tests need secsipidx (Debian/Ubuntu: `apt-get install secsipidx`; \
             or `go install github.com/asipto/secsipidx@latest`): {why}"
        );
    }
}

/// Options of `jwcrypto_sign.py`.
struct JwcryptoToken<'a> {
    key: &'a Path,
    x5u: &'a str,
    iat: i64,
    non_canonical: bool,
}

/// Signs ORIG -> DEST, attest A, origid ORIGID with jwcrypto; returns the Identity value.
fn jwcrypto_sign(token: &JwcryptoToken<'_>) -> String {
    require_jwcrypto();
    let mut cmd = Command::new("python3");
    cmd.arg(script("jwcrypto_sign.py"))
        .arg("--key")
        .arg(token.key)
        .args([
            "--x5u", token.x5u, "--orig", ORIG, "--dest", DEST, "--attest", "A",
        ])
        .args(["--origid", ORIGID, "--iat", &token.iat.to_string()]);
    if token.non_canonical {
        cmd.arg("--non-canonical");
    }
    let out = run(&mut cmd);
    out.assert_code(0);
    out.stdout.trim().to_owned()
}

/// Verifies `identity` with jwcrypto and the public key of `cert`.
fn jwcrypto_verify(cert: &Path, identity: &str) -> Run {
    require_jwcrypto();
    run(Command::new("python3")
        .arg(script("jwcrypto_verify.py"))
        .arg("--cert")
        .arg(cert)
        .args(["--identity", identity]))
}

/// `secsipidx -sign-full` of ORIG -> DEST, attest A, origid ORIGID; returns the Identity value.
fn secsipidx_sign(key: &Path, x5u: &str, iat: i64) -> String {
    require_secsipidx();
    let out = run(Command::new("secsipidx")
        .arg("-sign-full")
        .arg("-k")
        .arg(key)
        .args([
            "-orig-tn", ORIG, "-dest-tn", DEST, "-attest", "A", "-orig-id", ORIGID,
        ])
        .args(["-iat", &iat.to_string(), "-x5u", x5u]));
    out.assert_code(0);
    let identity = out.stdout.trim().to_owned();
    assert!(
        identity.contains(";info=<"),
        "secsipidx printed {identity:?}"
    );
    identity
}

/// `secsipidx -check` of `identity` with the public key of `cert`.
fn secsipidx_check(cert: &Path, identity: &str) -> Run {
    require_secsipidx();
    run(Command::new("secsipidx")
        .args(["-check", "-identity", identity, "-expire", "60"])
        .arg("-fpubkey")
        .arg(cert))
}

/// Decodes unpadded base64url (the JWS segments).
fn base64url(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => u32::from(c - b'A'),
        b'a'..=b'z' => u32::from(c - b'a') + 26,
        b'0'..=b'9' => u32::from(c - b'0') + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url: {c:?}"),
    };
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let bits =
            chunk.iter().fold(0u32, |acc, &c| (acc << 6) | value(c)) << (6 * (4 - chunk.len()));
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The protected header and payload of the PASSporT in `identity`, as sent.
fn segments(identity: &str) -> (String, String) {
    let token = identity.split(';').next().unwrap();
    let mut parts = token.split('.');
    let header = String::from_utf8(base64url(parts.next().unwrap())).unwrap();
    let payload = String::from_utf8(base64url(parts.next().unwrap())).unwrap();
    (header, payload)
}

fn expected_claims(iat: i64) -> Value {
    json!({"attest": "A", "dest": {"tn": [DEST]}, "iat": iat, "orig": {"tn": ORIG}, "origid": ORIGID})
}

/// `callproof verify --detail` with the local chain; asserts a pass and returns the detail.
fn verify_passes_with_detail(identity: &str, pki: &Pki) -> Value {
    let out = verify(identity, pki, &["--cert", &local_chain(pki), "--detail"]);
    out.assert_code(0);
    let json = out.json();
    assert_eq!(
        json["verificationResponse"],
        json!({"verstat": "TN-Validation-Passed"})
    );
    json["detail"]["identities"][0].clone()
}

// ---------------------------------------------------------------------------------------------
// jwcrypto

#[test]
fn jwcrypto_signed_passport_verifies_with_callproof() {
    let pki = Pki::init(&[]);
    let iat = now();
    let key = pki.file("sp-key.pem");
    let identity = jwcrypto_sign(&JwcryptoToken {
        key: &key,
        x5u: X5U,
        iat,
        non_canonical: false,
    });
    let detail = verify_passes_with_detail(&identity, &pki);
    assert_eq!(detail["attest"], "A");
    assert_eq!(detail["origid"], ORIGID);
    assert_eq!(detail["iat"], json!(iat));
    assert_eq!(detail["ppt"], "shaken");
}

#[test]
fn jwcrypto_passport_in_non_canonical_json_verifies_with_callproof() {
    let pki = Pki::init(&[]);
    let iat = now();
    let key = pki.file("sp-key.pem");
    let identity = jwcrypto_sign(&JwcryptoToken {
        key: &key,
        x5u: X5U,
        iat,
        non_canonical: true,
    });
    // What went over the wire really is non-canonical: whitespace, keys out of order.
    let (header, payload) = segments(&identity);
    assert!(header.starts_with("{\n  \"x5u\""), "{header}");
    assert!(payload.starts_with("{\"origid\" : "), "{payload}");
    let detail = verify_passes_with_detail(&identity, &pki);
    assert_eq!(detail["origid"], ORIGID);
    assert_eq!(detail["iat"], json!(iat));
    // A changed claim still breaks the signature: the bytes are what is verified.
    let (token, params) = identity.split_once(';').unwrap();
    let mut parts: Vec<&str> = token.split('.').collect();
    let other_payload = payload.replace("\"attest\" : \"A\"", "\"attest\" : \"B\"");
    assert_ne!(other_payload, payload);
    let encoded = encode_base64url(other_payload.as_bytes());
    parts[1] = &encoded;
    let forged = format!("{};{params}", parts.join("."));
    let out = verify(&forged, &pki, &["--cert", &local_chain(&pki)]);
    assert_failed(&out, 438, "TN-Validation-Failed");
}

fn encode_base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut buf = [0u8; 3];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = (u32::from(buf[0]) << 16) | (u32::from(buf[1]) << 8) | u32::from(buf[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[test]
fn jwcrypto_passport_signed_with_another_key_fails_callproof_verification() {
    let pki = Pki::init(&[]);
    let stranger = Pki::init(&[]);
    let key = stranger.file("sp-key.pem");
    let identity = jwcrypto_sign(&JwcryptoToken {
        key: &key,
        x5u: X5U,
        iat: now(),
        non_canonical: false,
    });
    let out = verify(&identity, &pki, &["--cert", &local_chain(&pki)]);
    assert_failed(&out, 438, "TN-Validation-Failed");
}

#[test]
fn callproof_signed_passport_verifies_with_jwcrypto() {
    let pki = Pki::init(&[]);
    let iat = now();
    let identity = pki.sign(&[
        "--x5u",
        X5U,
        "--orig",
        ORIG,
        "--dest",
        DEST,
        "--attest",
        "A",
        "--origid",
        ORIGID,
        "--iat",
        &iat.to_string(),
    ]);
    let out = jwcrypto_verify(&pki.file("sp.pem"), &identity);
    out.assert_code(0);
    let json = out.json();
    assert_eq!(
        json["header"],
        json!({"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": X5U})
    );
    assert_eq!(json["claims"], expected_claims(iat));
    assert_eq!(
        json["params"],
        json!([format!("info=<{X5U}>"), "alg=ES256", "ppt=shaken"])
    );
    // And jwcrypto does tell a wrong key apart.
    let stranger = Pki::init(&[]);
    let out = jwcrypto_verify(&stranger.file("sp.pem"), &identity);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("signature does not verify"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// secsipidx

#[test]
fn secsipidx_signed_passport_verifies_with_callproof() {
    let pki = Pki::init(&[]);
    let iat = now();
    let identity = secsipidx_sign(&pki.file("sp-key.pem"), X5U, iat);
    let (_, payload) = segments(&identity);
    assert_eq!(
        serde_json::from_str::<Value>(&payload).unwrap(),
        expected_claims(iat)
    );
    let detail = verify_passes_with_detail(&identity, &pki);
    assert_eq!(detail["attest"], "A");
    assert_eq!(detail["origid"], ORIGID);
    assert_eq!(detail["iat"], json!(iat));
}

#[test]
fn secsipidx_passport_signed_with_another_key_fails_callproof_verification() {
    let pki = Pki::init(&[]);
    let stranger = Pki::init(&[]);
    let identity = secsipidx_sign(&stranger.file("sp-key.pem"), X5U, now());
    let out = verify(&identity, &pki, &["--cert", &local_chain(&pki)]);
    assert_failed(&out, 438, "TN-Validation-Failed");
}

#[test]
fn callproof_signed_passport_verifies_with_secsipidx_check() {
    let pki = Pki::init(&[]);
    let identity = pki.sign(&[
        "--x5u", X5U, "--orig", ORIG, "--dest", DEST, "--attest", "A", "--origid", ORIGID,
    ]);
    let out = secsipidx_check(&pki.file("sp.pem"), &identity);
    out.assert_code(0);
    assert_eq!(out.stdout.trim(), "ok");
    // secsipidx does tell a wrong key apart.
    let stranger = Pki::init(&[]);
    let out = secsipidx_check(&stranger.file("sp.pem"), &identity);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("not-ok"), "{}", out.stdout);
}

/// A `secsipidx -http-srv` verification server, killed (by its own handle) when dropped.
struct SecsipidxServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl SecsipidxServer {
    /// Starts a server that fetches x5u itself (no -fpubkey) and validates the chain against
    /// `root` and `intermediate` (-cert-verify 13: validity + CA file + intermediate file),
    /// trusting `tls_root` for HTTPS.
    fn start(dir: &Path, tls_root: &Path, root: &Path, intermediate: &Path) -> Self {
        require_secsipidx();
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let log = dir.join(format!("secsipidx-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new("secsipidx")
            .args(["-http-srv", &format!("127.0.0.1:{port}")])
            .args(["-expire", "60", "-timeout", "5", "-cert-verify", "13"])
            .arg("-ca-file")
            .arg(root)
            .arg("-ca-inter")
            .arg(intermediate)
            // Go's TLS client reads its roots from here.
            .env("SSL_CERT_FILE", tls_root)
            .env_remove("SSL_CERT_DIR")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap();
        let server = Self { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "secsipidx did not listen: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// True once the log contains `needle` (it is written as the server goes; wait up to 5 s).
    fn logged(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.log().contains(needle) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// POSTs `identity` to /v1/check; returns the status code and body.
    fn check(&self, identity: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{identity}",
            self.port,
            identity.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, body.trim().to_owned())
    }
}

impl Drop for SecsipidxServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn callproof_signed_passport_verifies_with_secsipidx_fetching_x5u_over_https() {
    let pki = Pki::init(&[]);
    let tls = TlsIdentity::generate();
    let dir = pki.dir.path();
    let tls_root = write(dir, "tls-root.pem", &tls.root_pem);
    let chain = std::fs::read(pki.file("chain.pem")).unwrap();
    let https = Server::https(
        &tls,
        vec![(
            "/chain.pem",
            Reply::Body {
                content_type: PEM_CHAIN,
                body: chain,
            },
        )],
    );
    let x5u = https.url("/chain.pem");
    let secsipidx = SecsipidxServer::start(
        dir,
        &tls_root,
        &pki.file("root.pem"),
        &pki.file("intermediate.pem"),
    );

    let identity = pki.sign(&[
        "--x5u", &x5u, "--orig", ORIG, "--dest", DEST, "--attest", "A",
    ]);
    let (status, body) = secsipidx.check(&identity);
    assert_eq!((status, body.as_str()), (200, "OK"), "{}", secsipidx.log());
    assert_eq!(
        https.paths(),
        ["/chain.pem"],
        "secsipidx fetched x5u from the HTTPS server"
    );

    // The same x5u with a signature by another key is refused.
    let stranger = Pki::init(&[]);
    let forged = stranger.sign(&[
        "--x5u", &x5u, "--orig", ORIG, "--dest", DEST, "--attest", "A",
    ]);
    let (status, body) = secsipidx.check(&forged);
    assert_ne!((status, body.as_str()), (200, "OK"), "{}", secsipidx.log());

    // And so is a chain that does not lead to secsipidx's CA file.
    let elsewhere = SecsipidxServer::start(
        dir,
        &tls_root,
        &stranger.file("root.pem"),
        &stranger.file("intermediate.pem"),
    );
    let (status, body) = elsewhere.check(&identity);
    assert_ne!((status, body.as_str()), (200, "OK"), "{}", elsewhere.log());
    assert!(elsewhere.logged("x509"), "{}", elsewhere.log());

    // callproof verifies the very same header over the same HTTPS server.
    let out = verify(
        &identity,
        &pki,
        &[
            "--x5u-tls-ca",
            tls_root.to_str().unwrap(),
            "--danger-allow-private-x5u",
        ],
    );
    assert_passed(&out);
}
