//! The SIP redirect services against SIPp (Debian package `sip-tester`), an independent SIP
//! implementation acting as the SBC: scenarios in `tests/sipp/*.xml`, run over UDP (`-t u1`)
//! and TCP (`-t t1`) against a real development node on ephemeral loopback ports.
//!
//! Every SIPp run is bounded (`-timeout`, `-recv_timeout`, and a kill after
//! [`PROCESS_LIMIT`]); a failed run prints SIPp's screen, its error log and the messages it
//! exchanged. Set `CALLPROOF_TEST_SIPP` to use a SIPp binary other than the one on `PATH`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod sip_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use server::config::FailureAnswer;
use sip_support::*;

/// Longest one SIPp process may run before it is killed.
const PROCESS_LIMIT: Duration = Duration::from_secs(40);

/// SIPp's transports: one UDP socket, one TCP connection.
const UDP: &str = "u1";
const TCP: &str = "t1";

/// The SIPp binary: `CALLPROOF_TEST_SIPP`, else `sipp` on `PATH`. Fails the test with what
/// to install when there is none.
fn sipp_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CALLPROOF_TEST_SIPP") {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("sipp"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "SIPp is not installed, and these tests need it as the SIP peer: install the \
                 Debian package sip-tester (apt-get install sip-tester), or set \
                 CALLPROOF_TEST_SIPP to a sipp binary"
            )
        })
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// One SIPp run.
struct Run<'a> {
    scenario: &'a str,
    target: SocketAddr,
    transport: &'a str,
    calls: u32,
    keys: Vec<(&'a str, String)>,
}

impl<'a> Run<'a> {
    fn new(scenario: &'a str, target: SocketAddr, transport: &'a str) -> Self {
        Self {
            scenario,
            target,
            transport,
            calls: 1,
            keys: Vec::new(),
        }
    }

    fn calls(mut self, calls: u32) -> Self {
        self.calls = calls;
        self
    }

    fn key(mut self, name: &'a str, value: &str) -> Self {
        self.keys.push((name, value.to_owned()));
        self
    }

    /// The command line, for the run and for the failure message.
    fn args(&self, dir: &Path) -> Vec<String> {
        let mut args: Vec<String> = [
            self.target.to_string(),
            "-sf".into(),
            scenario(self.scenario).display().to_string(),
            "-t".into(),
            self.transport.into(),
            "-i".into(),
            "127.0.0.1".into(),
            "-p".into(),
            free_port().to_string(),
            "-m".into(),
            self.calls.to_string(),
            "-r".into(),
            "50".into(),
            "-l".into(),
            "10".into(),
            "-timeout".into(),
            "20s".into(),
            "-timeout_error".into(),
            "-recv_timeout".into(),
            "5000".into(),
            "-nostdin".into(),
            "-trace_err".into(),
            "-error_file".into(),
            dir.join("errors.log").display().to_string(),
            "-trace_msg".into(),
            "-message_file".into(),
            dir.join("messages.log").display().to_string(),
        ]
        .into();
        for (name, value) in &self.keys {
            args.extend(["-key".into(), (*name).to_owned(), value.clone()]);
        }
        args
    }

    /// Runs SIPp to completion (bounded) and fails the test unless every call succeeded.
    async fn expect_success(self) {
        let dir = tempfile::tempdir().unwrap();
        let args = self.args(dir.path());
        let binary = sipp_binary();
        let work = dir.path().to_owned();
        let run_args = args.clone();
        let (status, elapsed) = tokio::task::spawn_blocking(move || {
            let out = std::fs::File::create(work.join("screen.log")).unwrap();
            let err = out.try_clone().unwrap();
            let mut child = Command::new(&binary)
                .args(&run_args)
                .current_dir(&work)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let started = Instant::now();
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    return (Some(status), started.elapsed());
                }
                if started.elapsed() > PROCESS_LIMIT {
                    let _ = child.kill();
                    let _ = child.wait();
                    return (None, started.elapsed());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .await
        .unwrap();
        if status.is_some_and(|s| s.success()) {
            return;
        }
        let read = |name: &str| {
            std::fs::read_to_string(dir.path().join(name)).unwrap_or_else(|_| "(none)".into())
        };
        let tail = |text: String, lines: usize| {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        };
        panic!(
            "SIPp failed ({}, after {elapsed:?}):\nsipp {}\n--- screen ---\n{}\n--- errors ---\n{}\n--- messages ---\n{}",
            status.map_or_else(|| "killed: time limit".to_owned(), |s| s.to_string()),
            args.join(" "),
            tail(read("screen.log"), 60),
            tail(read("errors.log"), 80),
            tail(read("messages.log"), 120),
        );
    }
}

/// A port free for both UDP and TCP on 127.0.0.1, for SIPp's own socket (SIPp takes 5060,
/// or the next free port, when not told; another program could take the port between
/// this check and SIPp's bind, which then fails the run visibly).
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `identity` with one signature character changed: still well-formed, no longer valid.
fn tampered(identity: &str) -> String {
    let (token, params) = identity.split_once(';').unwrap();
    let at = token.rfind('.').unwrap() + 10;
    let new = if &token[at..=at] == "A" { "B" } else { "A" };
    format!("{}{new}{};{params}", &token[..at], &token[at + 1..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_invites_are_signed_over_udp_and_tcp() {
    let node = SipNode::start(|_| {}).await;
    for transport in [UDP, TCP] {
        Run::new("signing_invite.xml", node.signing, transport)
            .calls(20)
            .expect_success()
            .await;
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_a_valid_identity_verifies_over_udp_and_tcp() {
    let node = SipNode::start(|_| {}).await;
    for transport in [UDP, TCP] {
        let identity = node.rest_identity(ORIG, DEST).await;
        Run::new("verification_passed.xml", node.verification, transport)
            .key("identity", &identity)
            .expect_success()
            .await;
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_a_tampered_identity_fails_verification() {
    let node = SipNode::start(|_| {}).await;
    for transport in [UDP, TCP] {
        let identity = tampered(&node.rest_identity(ORIG, DEST).await);
        Run::new("verification_failed.xml", node.verification, transport)
            .key("identity", &identity)
            .expect_success()
            .await;
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_a_tampered_identity_is_rejected_with_438_when_configured() {
    let node = SipNode::start(|c| c.sip.verification_failure = FailureAnswer::Reject).await;
    for transport in [UDP, TCP] {
        let identity = tampered(&node.rest_identity(ORIG, DEST).await);
        Run::new("verification_rejected.xml", node.verification, transport)
            .key("identity", &identity)
            .expect_success()
            .await;
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_malformed_invites_get_400_and_the_service_keeps_serving() {
    let node = SipNode::start(|_| {}).await;
    for target in [node.signing, node.verification] {
        Run::new("malformed.xml", target, UDP)
            .calls(5)
            .expect_success()
            .await;
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_a_retransmitted_invite_gets_the_identical_response() {
    let node = SipNode::start(|_| {}).await;
    for transport in [UDP, TCP] {
        Run::new("retransmission.xml", node.signing, transport)
            .calls(5)
            .expect_success()
            .await;
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_options_gets_200_from_both_services() {
    let node = SipNode::start(|_| {}).await;
    for target in [node.signing, node.verification] {
        for transport in [UDP, TCP] {
            Run::new("options.xml", target, transport)
                .calls(3)
                .expect_success()
                .await;
        }
    }
    node.stop().await;
}
