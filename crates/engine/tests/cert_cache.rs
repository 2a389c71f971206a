//! The certificate cache against a real HTTPS x5u server: Cache-Control, negative caching,
//! one fetch per URL however many calls wait for it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::verifier::{DEFAULT_FRESH_SECS, NEGATIVE_TTL_SECS, Verifier, VerifierConfig};
use engine::x5u::FetchOptions;
use passport::verify::Policy;
use pki::testpki::{TEST_NOW, TestPki};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A tiny HTTPS server on 127.0.0.1 answering every request with `status`, `body` and
/// `cache_control`, after `delay`; it counts requests.
struct X5uServer {
    port: u16,
    requests: Arc<AtomicUsize>,
    tls_root_pem: String,
    _task: tokio::task::JoinHandle<()>,
}

impl X5uServer {
    async fn start(
        status: u16,
        body: String,
        cache_control: Option<&'static str>,
        delay_ms: u64,
    ) -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = params.signed_by(&key, &issuer).unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            // Bounded: at most 64 connections, then the server stops.
            for _ in 0..64 {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let counter = Arc::clone(&counter);
                let body = body.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = vec![0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
                    let cc = cache_control
                        .map(|c| format!("cache-control: {c}\r\n"))
                        .unwrap_or_default();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/pem-certificate-chain\r\n{cc}content-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(body.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            port,
            requests,
            tls_root_pem: ca.pem(),
            _task: task,
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/sp.pem", self.port)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn verifier(pki: &TestPki, server: &X5uServer) -> Verifier {
    Verifier::new(VerifierConfig {
        policy: Policy::default(),
        anchors: pki.anchors().unwrap(),
        crls: Vec::new(),
        fetch: FetchOptions {
            extra_tls_roots_pem: vec![server.tls_root_pem.clone().into_bytes()],
            danger_allow_private: true,
            ..FetchOptions::default()
        },
        local_certificates: HashMap::new(),
    })
    .unwrap()
}

#[tokio::test]
async fn concurrent_misses_make_one_fetch_and_cache_control_sets_the_lifetime() {
    let pki = TestPki::builder().at(TEST_NOW).build().unwrap();
    let server = X5uServer::start(200, pki.chain_pem(), Some("public, max-age=300"), 300).await;
    let v = Arc::new(verifier(&pki, &server));
    let url = server.url();
    let mut calls = Vec::new();
    for _ in 0..20 {
        let (v, url) = (Arc::clone(&v), url.clone());
        calls.push(tokio::spawn(
            async move { v.credential(&url, TEST_NOW).await },
        ));
    }
    for c in calls {
        assert!(c.await.unwrap().is_ok());
    }
    assert_eq!(server.requests(), 1, "twenty waiting calls, one fetch");
    // Fresh for max-age=300: no fetch within it, one after it.
    assert!(v.credential(&url, TEST_NOW + 299).await.is_ok());
    assert_eq!(server.requests(), 1);
    assert!(v.credential(&url, TEST_NOW + 301).await.is_ok());
    assert_eq!(server.requests(), 2);
    assert!(v.stats().hits.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn a_failing_x5u_is_remembered_briefly() {
    let pki = TestPki::builder().at(TEST_NOW).build().unwrap();
    let server = X5uServer::start(404, "no".into(), None, 0).await;
    let v = verifier(&pki, &server);
    let url = server.url();
    for _ in 0..5 {
        assert!(v.credential(&url, TEST_NOW).await.is_err());
    }
    assert_eq!(server.requests(), 1, "the failure is cached");
    assert!(
        v.credential(&url, TEST_NOW + NEGATIVE_TTL_SECS + 1)
            .await
            .is_err()
    );
    assert_eq!(server.requests(), 2, "and retried after the negative TTL");
    assert_eq!(v.stats().fetch_errors.load(Ordering::Relaxed), 2);
    assert_eq!(v.stats().negative_hits.load(Ordering::Relaxed), 4);
}

#[tokio::test]
async fn without_cache_control_the_default_lifetime_applies() {
    let pki = TestPki::builder().at(TEST_NOW).build().unwrap();
    let server = X5uServer::start(200, pki.chain_pem(), None, 0).await;
    let v = verifier(&pki, &server);
    let url = server.url();
    assert!(v.credential(&url, TEST_NOW).await.is_ok());
    assert!(
        v.credential(&url, TEST_NOW + DEFAULT_FRESH_SECS)
            .await
            .is_ok()
    );
    assert_eq!(server.requests(), 1);
    assert!(
        v.credential(&url, TEST_NOW + DEFAULT_FRESH_SECS + 1)
            .await
            .is_ok()
    );
    assert_eq!(server.requests(), 2);
}
