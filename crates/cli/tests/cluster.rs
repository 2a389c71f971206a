//! Several `callproof serve` processes: two nodes sharing PostgreSQL and Redis, and a node
//! killed with SIGKILL under load. Real binaries, real servers (`CALLPROOF_TEST_POSTGRES_URL`
//! and `CALLPROOF_TEST_REDIS_URL`, defaulting to the local ones); an unreachable server fails
//! the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_callproof");

fn pg_url() -> String {
    std::env::var("CALLPROOF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn redis_url() -> String {
    std::env::var("CALLPROOF_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rand_hex() -> String {
    use std::io::Read as _;
    let mut b = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A database of its own for one test, dropped at the end.
struct Database {
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Database {
    fn create() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = format!("cp_cluster_{}", rand_hex());
        runtime.block_on(async {
            let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL at {} is required for this test: {e}", pg_url())
                });
            let task = tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            drop(client);
            let _ = task.await;
        });
        Self { name, runtime }
    }

    fn url(&self) -> String {
        let base = pg_url();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        format!("{prefix}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let name = self.name.clone();
        self.runtime.block_on(async move {
            if let Ok((client, conn)) =
                tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await
            {
                let task = tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                drop(client);
                let _ = task.await;
            }
        });
    }
}

/// A `callproof serve` child process, killed when dropped.
struct Node {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Node {
    fn start(config: &Path, port: u16, log: &Path) -> Self {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("CALLPROOF_CONFIG")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        let node = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        node.wait_ready();
        node
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::blocking::get(format!("{}/readyz", self.base))
                && r.status() == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "node {} not ready in 30 s; log:\n{}",
            self.base,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    fn post(&self, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut req = client.post(format!("{}{path}", self.base)).json(body);
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        match req.send() {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        match reqwest::blocking::get(format!("{}{path}", self.base)) {
            Ok(r) => (r.status().as_u16(), r.json().unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    fn sign(&self, orig: &str, key: Option<&str>) -> (u16, Value) {
        self.post(
            "/stir/v1/signing",
            &json!({"signingRequest": {"attest": "A", "dest": {"tn": ["12125551213"]}, "iat": now(),
                "orig": {"tn": orig}, "origid": "123e4567-e89b-12d3-a456-426655440000"}}),
            key,
        )
    }

    fn verify(&self, orig: &str, identity: &str, key: Option<&str>) -> Value {
        let (status, body) = self.post(
            "/stir/v1/verification",
            &json!({"verificationRequest": {"from": {"tn": orig}, "to": {"tn": ["12125551213"]},
                "time": now(), "identity": identity}}),
            key,
        );
        assert_eq!(status, 200, "{body}");
        body
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The attestation inside an Identity header's PASSporT.
fn attest_of(identity: &str) -> String {
    use base64::Engine as _;
    let payload = identity.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["attest"].as_str().unwrap().to_owned()
}

fn pki(dir: &Path) -> PathBuf {
    let out = dir.join("pki");
    let status = Command::new(BIN)
        .args(["pki", "init", "--out"])
        .arg(&out)
        .args(["--tn-range", "13125550000:10000"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    out
}

fn write_config(path: &Path, data: &Path, port: u16, storage: &str, replay: &str, pki: &Path) {
    let text = format!(
        r#"data_dir = "{data}"
[http]
listen = "127.0.0.1:{port}"
[sip]
signing_listen = ""
verification_listen = ""
[storage]
{storage}
inventory_poll_ms = 200
[replay]
{replay}
[signing]
certificate_chain = "{pki}/chain.pem"
private_key = "{pki}/sp-key.pem"
x5u = "https://certs.cluster.test/sti/{{fingerprint}}.pem"
[verification]
trust_anchors = "{pki}/root.pem"
[log]
level = "warn"
"#,
        data = data.display(),
        pki = pki.display(),
    );
    std::fs::write(path, text).unwrap();
}

fn retry<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_nodes_share_the_inventory_and_the_replay_cache() {
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let storage = format!("kind = \"postgres\"\npostgres_url = \"{}\"", db.url());
    let replay = format!("kind = \"redis\"\nredis_url = \"{}\"", redis_url());
    let (pa, pb) = (free_port(), free_port());
    let (ca, cb) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    write_config(&ca, &dir.path().join("a"), pa, &storage, &replay, &pki);
    write_config(&cb, &dir.path().join("b"), pb, &storage, &replay, &pki);
    let a = Node::start(&ca, pa, &dir.path().join("a.log"));
    let b = Node::start(&cb, pb, &dir.path().join("b.log"));

    // Before the import, node B knows nothing of acme's numbers: B attestation at best.
    let (status, body) = b.sign("13125550042", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        attest_of(body["signingResponse"]["identity"].as_str().unwrap()),
        "B"
    );

    // The inventory is imported through node A.
    assert_eq!(
        a.post("/v1/customers", &json!({"name": "acme"}), None).0,
        201
    );
    let (status, body) = a.post(
        "/v1/customers/acme/numbers",
        &json!({"numbers": [{"start": "+13125550000", "count": 100}]}),
        None,
    );
    assert!(status == 200 || status == 201, "{status} {body}");
    let (status, key) = a.post(
        "/v1/api-keys",
        &json!({"customer": "acme", "name": "sbc-1", "scopes": ["sign", "verify"]}),
        None,
    );
    assert_eq!(status, 201, "{key}");
    let key = key["key"].as_str().unwrap().to_owned();

    // Node B uses it: acme's key works there and acme's number gets attestation A.
    let identity = retry("node B to learn acme's key and numbers", || {
        let (status, body) = b.sign("13125550042", Some(&key));
        let identity = body["signingResponse"]["identity"].as_str()?.to_owned();
        (status == 200 && attest_of(&identity) == "A").then_some(identity)
    });

    // Verified on A first, then replayed to B: B says so.
    let first = a.verify("13125550042", &identity, Some(&key));
    assert_eq!(
        first,
        json!({"verificationResponse": {"verstat": "TN-Validation-Passed"}})
    );
    let replay = b.verify("13125550042", &identity, Some(&key));
    assert_eq!(replay["callproof"]["replayed"], json!(true), "{replay}");
}

fn kill_under_load(storage: &str, db: Option<&Database>) {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let port = free_port();
    let config = dir.path().join("node.toml");
    let storage = match db {
        Some(db) => format!("kind = \"postgres\"\npostgres_url = \"{}\"", db.url()),
        None => storage.to_owned(),
    };
    write_config(
        &config,
        &dir.path().join("data"),
        port,
        &storage,
        "kind = \"memory\"",
        &pki,
    );
    let mut node = Node::start(&config, port, &dir.path().join("node.log"));
    assert_eq!(
        node.post("/v1/customers", &json!({"name": "acme"}), None).0,
        201
    );

    // Load: a signing benchmark against the node for the whole test.
    let mut load = Command::new(BIN)
        .args([
            "bench",
            "--mode",
            "rest-sign",
            "-c",
            "8",
            "-d",
            "5",
            "--quiet",
            "--target",
            &node.base,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Inventory writes, one number each; those answered 2xx are acknowledged.
    let mut acknowledged = Vec::new();
    let started = Instant::now();
    let mut i = 0u32;
    while started.elapsed() < Duration::from_millis(2500) {
        let tn = format!("1313555{i:04}");
        let (status, _) = node.post(
            "/v1/customers/acme/numbers",
            &json!({"numbers": [{"tn": tn}]}),
            None,
        );
        if status == 200 || status == 201 {
            acknowledged.push(tn);
        }
        i += 1;
    }
    // Writes go on from another thread while the node is killed mid-stream.
    let base = node.base.clone();
    let writer = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let mut acked = Vec::new();
        for j in 0..200u32 {
            let tn = format!("1314555{j:04}");
            let ok = client
                .post(format!("{base}/v1/customers/acme/numbers"))
                .json(&json!({"numbers": [{"tn": tn}]}))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ok {
                acked.push(tn);
            }
        }
        acked
    });
    std::thread::sleep(Duration::from_millis(150));
    node.kill();
    acknowledged.extend(writer.join().unwrap());
    let _ = load.kill();
    let _ = load.wait();
    assert!(
        acknowledged.len() > 10,
        "too few writes acknowledged to mean anything: {}",
        acknowledged.len()
    );

    // Restarted on the same data, every acknowledged number is there and the node serves.
    let restarted = Node::start(&config, port, &dir.path().join("restart.log"));
    let mut owned = std::collections::HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/customers/acme/numbers?after={a}&limit=1000"),
            None => "/v1/customers/acme/numbers?limit=1000".to_owned(),
        };
        let (status, page) = restarted.get(&path);
        assert_eq!(status, 200, "{page}");
        let items = page["blocks"].as_array().cloned().unwrap_or_default();
        for n in &items {
            owned.insert(n["start"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) if !items.is_empty() => after = Some(next.to_owned()),
            _ => break,
        }
    }
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|tn| !owned.contains(*tn))
        .collect();
    eprintln!(
        "SIGKILL under load: {} writes acknowledged, {} numbers found after restart, {} lost",
        acknowledged.len(),
        owned.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "acknowledged but lost after SIGKILL: {lost:?} (of {})",
        acknowledged.len()
    );
    let (status, body) = restarted.sign("13125550042", None);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_node_killed_under_load_loses_no_acknowledged_write_sqlite() {
    kill_under_load("kind = \"sqlite\"", None);
}

#[test]
fn a_node_killed_under_load_loses_no_acknowledged_write_postgres() {
    let db = Database::create();
    kill_under_load("", Some(&db));
}

/// Brand policy written through one node is enforced by the other: an opt-out and a
/// partner's revocation reach node B within 5 s.
/// Creates brand "bank" of customer "bank" with `fields` (reasons, call-back number),
/// listed on 13125550000..+100.
fn bank_brand(node: &Node, fields: Value) {
    let mut brand = json!({"slug": "bank", "customer": "bank", "legalName": "Bank plc",
        "displayName": "Bank"});
    brand
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let (status, body) = node.post("/v1/brands", &brand, None);
    assert_eq!(status, 201, "{body}");
    let (status, body) = node.post(
        "/v1/brands/bank/numbers",
        &json!({"kind": "listed", "numbers": [{"start": "13125550000", "count": 100}]}),
        None,
    );
    assert_eq!(status, 201, "{body}");
}

#[test]
fn brand_policy_changes_reach_every_node_within_five_seconds() {
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let storage = format!("kind = \"postgres\"\npostgres_url = \"{}\"", db.url());
    let replay = format!("kind = \"redis\"\nredis_url = \"{}\"", redis_url());
    let (pa, pb) = (free_port(), free_port());
    let (ca, cb) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    write_config(&ca, &dir.path().join("a"), pa, &storage, &replay, &pki);
    write_config(&cb, &dir.path().join("b"), pb, &storage, &replay, &pki);
    let a = Node::start(&ca, pa, &dir.path().join("a.log"));
    let b = Node::start(&cb, pb, &dir.path().join("b.log"));

    for name in ["bank", "callco"] {
        assert_eq!(a.post("/v1/customers", &json!({"name": name}), None).0, 201);
    }
    let (status, key) = a.post(
        "/v1/api-keys",
        &json!({"customer": "callco", "name": "dialler", "scopes": ["sign"]}),
        None,
    );
    assert_eq!(status, 201, "{key}");
    let key = key["key"].as_str().unwrap().to_owned();
    bank_brand(
        &a,
        json!({"callReasons": [
            {"code": "offers", "text": "Offers", "marketing": true},
            {"code": "fraud-alert", "text": "Fraud alert"}]}),
    );
    let (status, partner) = a.post(
        "/v1/brands/bank/partners",
        &json!({"customer": "callco", "numbers": [{"start": "13125550000", "count": 10}]}),
        None,
    );
    assert_eq!(status, 201, "{partner}");

    let sign = |node: &Node, dest: &str, reason: &str| {
        node.post(
            "/stir/v1/signing",
            &json!({"signingRequest": {"attest": "A", "dest": {"tn": [dest]}, "iat": now(),
                "orig": {"tn": "13125550001"}, "origid": "123e4567-e89b-12d3-a456-426655440000",
                "callReason": reason}}),
            Some(&key),
        )
        .0
    };
    // Node B learns the key, the brand and the partner.
    retry("node B to sign for the partner", || {
        (sign(&b, "12125551213", "offers") == 200).then_some(())
    });

    // An opt-out through A: B refuses marketing to that number within 5 s, still signs
    // service calls to it.
    let (status, body) = a.post(
        "/v1/brands/bank/opt-outs",
        &json!({"numbers": ["12125551213"]}),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let started = Instant::now();
    retry("node B to enforce the opt-out", || {
        (sign(&b, "12125551213", "offers") == 403).then_some(())
    });
    let opt_out_took = started.elapsed();
    assert!(opt_out_took < Duration::from_secs(5), "{opt_out_took:?}");
    assert_eq!(sign(&b, "12125551213", "fraud-alert"), 200);

    // The partner revoked through A: B refuses it within 5 s.
    let id = partner["id"].as_i64().unwrap();
    let response = reqwest::blocking::Client::new()
        .delete(format!("{}/v1/brands/bank/partners/{id}", a.base))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let started = Instant::now();
    retry("node B to enforce the revocation", || {
        (sign(&b, "12125550000", "fraud-alert") == 403).then_some(())
    });
    let revoke_took = started.elapsed();
    assert!(revoke_took < Duration::from_secs(5), "{revoke_took:?}");
    eprintln!("opt-out reached node B in {opt_out_took:?}, revocation in {revoke_took:?}");
}

/// An INVITE over UDP from `from` to `to`, sent to the SIP signing service at `sip`; the
/// answer's status line and headers.
fn invite_over_udp(sip: std::net::SocketAddr, from: &str, to: &str) -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let local = socket.local_addr().unwrap();
    let call_id = format!("{}@cluster.test", rand_hex());
    let message = format!(
        "INVITE sip:+{to}@{sip} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+{from}@{local}>;tag={tag}\r\n\
         To: <sip:+{to}@{sip}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:+{from}@{local}>\r\n\
         Call-Info: <https://bank.example/reasons>;purpose=call-reason;call-reason=\"fraud-alert\"\r\n\
         Content-Length: 0\r\n\r\n",
        branch = rand_hex(),
        tag = rand_hex(),
    );
    socket.send_to(message.as_bytes(), sip).unwrap();
    let mut buf = vec![0u8; 65_536];
    loop {
        let n = socket.recv(&mut buf).expect("an answer to the INVITE");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        // Skip a provisional 100 Trying, if any.
        if !text.starts_with("SIP/2.0 1") {
            return text;
        }
    }
}

/// A brand's call signed by the SIP signer of node A is "calling you now" on node B's check
/// page and API (shared PostgreSQL) within a second; a pair never called is "not us".
#[test]
fn a_call_signed_over_sip_on_one_node_is_calling_now_on_another_within_a_second() {
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let storage = format!("kind = \"postgres\"\npostgres_url = \"{}\"", db.url());
    let replay = format!("kind = \"redis\"\nredis_url = \"{}\"", redis_url());
    let (pa, pb, sip_port) = (free_port(), free_port(), free_port());
    let (ca, cb) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    write_config(&ca, &dir.path().join("a"), pa, &storage, &replay, &pki);
    write_config(&cb, &dir.path().join("b"), pb, &storage, &replay, &pki);
    // Node A runs the SIP signing service; both share the rate limits in Redis.
    let shared_limits = format!(
        "[check]\nrate_limit = \"redis\"\nredis_url = \"{}\"\n",
        redis_url()
    );
    let a_text = std::fs::read_to_string(&ca).unwrap().replacen(
        "signing_listen = \"\"",
        &format!("signing_listen = \"127.0.0.1:{sip_port}\""),
        1,
    ) + &shared_limits;
    std::fs::write(&ca, a_text).unwrap();
    let b_text = std::fs::read_to_string(&cb).unwrap() + &shared_limits;
    std::fs::write(&cb, b_text).unwrap();
    let a = Node::start(&ca, pa, &dir.path().join("a.log"));
    let b = Node::start(&cb, pb, &dir.path().join("b.log"));

    // The bank's SBC sends INVITEs from loopback; the brand lists 13125550000..+100.
    assert_eq!(
        a.post("/v1/customers", &json!({"name": "bank"}), None).0,
        201
    );
    let (status, body) = a.post(
        "/v1/customers/bank/trunks",
        &json!({"cidr": "127.0.0.1/32"}),
        None,
    );
    assert!(status == 200 || status == 201, "{status} {body}");
    bank_brand(
        &a,
        json!({"callback": "+18005550199",
            "callReasons": [{"code": "fraud-alert", "text": "Fraud alert"}]}),
    );
    // Node B knows the brand (its policy poll) before the call.
    retry("node B to learn the brand", || {
        let (status, _) = b.post(
            "/v1/check",
            &json!({"brand": "bank", "callingNumber": "+13125550001",
                "calledNumber": "+12125550100"}),
            None,
        );
        (status == 200).then_some(())
    });

    let sip: std::net::SocketAddr = format!("127.0.0.1:{sip_port}").parse().unwrap();
    let answer = invite_over_udp(sip, "13125550001", "12125551213");
    assert!(answer.starts_with("SIP/2.0 302"), "{answer}");
    assert!(answer.contains("Identity:"), "{answer}");
    let signed_at = Instant::now();

    let check = |calling: &str, called: &str| {
        let (status, body) = b.post(
            "/v1/check",
            &json!({"brand": "bank", "callingNumber": calling, "calledNumber": called}),
            None,
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    let deadline = signed_at + Duration::from_secs(1);
    let seen = loop {
        let body = check("+13125550001", "+12125551213");
        if body["answer"] == "calling-now" {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "node B did not see the call within 1 s: {body}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = signed_at.elapsed();
    assert_eq!(seen["reason"]["text"], "Fraud alert", "{seen}");
    assert_eq!(seen["callingNumber"], "13125550001");

    // The check page of node B says the same in plain words.
    let page = reqwest::blocking::Client::new()
        .post(format!("{}/brands/bank/check", b.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("calling=%2B1+312+555+0001&called=%2B1+212+555+1213")
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains("is calling you now"), "{page}");

    // Another number on the screen, or another called number: not us.
    assert_eq!(check("+13125550002", "+12125551213")["answer"], "not-us");
    assert_eq!(check("+13125550001", "+12125559999")["answer"], "not-us");
    eprintln!("the SIP-signed call was calling-now on node B after {took:?}");
}
