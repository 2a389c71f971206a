//! `callproof api-key`: the first admin key of a node that requires keys, created in its
//! storage, then used against the running node.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_callproof");

fn callproof(args: &[&str], config: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("CALLPROOF_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn an_admin_key_created_in_storage_opens_the_admin_api_of_a_node_that_requires_keys() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\ndevelopment_mode = false\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
             public_url = \"https://sti.example.test\"\n[sip]\nsigning_listen = \"\"\nverification_listen = \"\"\n\
             [log]\nlevel = \"warn\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();

    let out = callproof(
        &["api-key", "create", "--name", "ops", "--scope", "admin"],
        &config,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_owned();
    assert!(key.starts_with("cp_"), "{stdout}");
    let refused = callproof(
        &[
            "api-key",
            "create",
            "--name",
            "x",
            "--scope",
            "admin",
            "--customer",
            "acme",
        ],
        &config,
    );
    assert_eq!(refused.status.code(), Some(2));

    let mut node = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{base}/readyz"))
        .send()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
        != 200
    {
        assert!(Instant::now() < deadline, "node not ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let post = |key: Option<&str>| {
        let mut req = client
            .post(format!("{base}/v1/customers"))
            .json(&serde_json::json!({"name": "acme"}));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().unwrap().status().as_u16()
    };
    assert_eq!(
        post(None),
        401,
        "loopback is no key outside development mode"
    );
    assert_eq!(post(Some(&key)), 201);

    let revoked = callproof(&["api-key", "revoke", "1"], &config);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = client
            .get(format!("{base}/v1/customers"))
            .bearer_auth(&key)
            .send()
            .unwrap()
            .status()
            .as_u16();
        if status == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked key still works");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = node.kill();
    let _ = node.wait();
}
