//! The per-INVITE cost of the `sip` crate in the redirect server, part by part, against the
//! cheapest thing a decoder that owns its input could do, measured in the same run.
//!
//! The server's sequence for one UDP INVITE is: `decode_datagram`; `on_request` in the
//! transaction table; the header reads of the signing path (From, To, P-Asserted-Identity,
//! Identity, Diversion, History-Info, the Vias) and the rewrite of the Via list with
//! `received`/`rport`; `Response::for_request` for a 302 with a Contact and a ~700-byte
//! Identity header; `record`, which serialises the response and keeps the bytes for
//! retransmissions. Each part is measured alone (`decode`, `read`, `transaction` =
//! `on_request` + `record`, `response` = build + `to_bytes`) and the whole sequence
//! together (`sequence`), on a plain INVITE and on one that already carries an Identity
//! header. The transaction table is in a steady state: thousands of live entries, time
//! moving on and old entries expiring, as under load.
//!
//! The ceiling (`copy`) is one allocation and one copy of the datagram.
//!
//! Run: `cargo bench -p sip --bench codec`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benchmark set-up: a failed step aborts the run"
)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BatchSize, Criterion};
use sip::header::{HeaderName, Rport};
use sip::transaction::{Action, RedirectTransactions, Transport};
use sip::{Limits, Message, Request, Response, decode_datagram};

/// Distinct transactions cycled through by the steady-state benchmarks.
const POOL: usize = 4096;
/// Milliseconds between two requests: with 64*T1 = 32 s, 3,200 entries are live and a
/// request comes back only after its entry expired (4,096 * 10 ms = 41 s).
const STEP_MS: u64 = 10;

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("criterion")
}

/// base64url without padding.
fn b64url(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// An Identity header value shaped like a real SHAKEN PASSporT (about 700 bytes).
fn identity_value(seed: u32) -> String {
    let header = r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/cert.pem"}"#;
    let payload = format!(
        r#"{{"attest":"A","dest":{{"tn":["12125551213"]}},"iat":1700000000,"orig":{{"tn":"12155551212"}},"origid":"123e4567-e89b-12d3-a456-42665544{seed:04x}","rcd":{{"nam":"ACME Widgets Customer Service","jcl":"https://rcd.example.org/jcards/acme-widgets-customer-service.json"}},"crn":"Your order has shipped: follow-up call"}}"#
    );
    let signature: Vec<u8> = (0..64u32)
        .map(|i| u8::try_from((i * 37 + seed) % 251).unwrap())
        .collect();
    format!(
        "{}.{}.{};info=<https://cert.example.org/cert.pem>;alg=ES256;ppt=shaken",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes()),
        b64url(&signature)
    )
}

/// A realistic INVITE from a trunk: Via with branch and rport, Max-Forwards, tagged From,
/// To, Call-ID, CSeq, Contact, P-Asserted-Identity, `Content-Length: 0`; optionally an
/// Identity header.
fn invite(n: u32, identity: bool) -> Vec<u8> {
    let mut text = format!(
        "INVITE sip:+12125551213@sip.example.com;user=phone SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1---{n:08x}d4b2;rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:+12155551212@trunk.example.net;user=phone>;tag=9fxced76sl-{n}\r\n\
         To: <sip:+12125551213@sip.example.com;user=phone>\r\n\
         Call-ID: 3848276298220188511-{n}@198.51.100.7\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:+12155551212@198.51.100.7:5060;transport=udp>\r\n\
         P-Asserted-Identity: <sip:+12155551212@trunk.example.net;user=phone>\r\n"
    );
    if identity {
        text.push_str("Identity: ");
        text.push_str(&identity_value(n));
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    text.into_bytes()
}

fn request(bytes: &[u8]) -> Request {
    match decode_datagram(bytes, &Limits::default()).expect("decodes") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("a request"),
    }
}

/// The header reads of the signing path.
fn read(request: &Request) -> usize {
    let h = request.headers();
    let mut n = 0;
    n += h.from_tn().map_or(0, |tn| tn.as_str().len());
    n += h.to_tn().map_or(0, |tn| tn.as_str().len());
    n += h.p_asserted_identities().map_or(0, |v| v.len());
    n += h.identities().map(str::len).sum::<usize>();
    n += h.diversions().map_or(0, |v| v.len());
    n += h.history_info().map_or(0, |v| v.len());
    n += h.top_via().map_or(0, |v| v.host().len());
    n += h.get_all(&HeaderName::VIA).count();
    n
}

/// The server's Via rewrite: the top Via gets `received` and `rport` filled in.
fn stamp_via(request: &mut Request) {
    let headers = request.headers_mut();
    let Ok(top) = headers.top_via() else {
        return;
    };
    let mut stamped = format!("SIP/2.0/{} {}", top.transport(), top.host());
    if let Some(p) = top.port() {
        stamped.push_str(&format!(":{p}"));
    }
    for param in top.params().iter() {
        let name = param.name();
        if name.eq_ignore_ascii_case("rport") || name.eq_ignore_ascii_case("received") {
            continue;
        }
        stamped.push(';');
        stamped.push_str(name);
        if let Some(v) = param.value() {
            stamped.push('=');
            stamped.push_str(v);
        }
    }
    if top.rport() != Rport::Absent {
        stamped.push_str(";received=203.0.113.9;rport=40001");
    }
    let rest: Vec<String> = headers
        .get_all(&HeaderName::VIA)
        .skip(1)
        .map(str::to_owned)
        .collect();
    headers.remove_all(&HeaderName::VIA);
    headers.push(HeaderName::VIA, &stamped).expect("via");
    for via in &rest {
        headers.push(HeaderName::VIA, via).expect("via");
    }
}

fn respond(request: &Request, identity: &str) -> Response {
    let contact = format!("<{}>", request.uri());
    Response::for_request(request, 302, "Moved Temporarily", "cp5f3a9c1e42")
        .expect("response")
        .with_header(HeaderName::CONTACT, &contact)
        .expect("contact")
        .with_header(HeaderName::IDENTITY, identity)
        .expect("identity")
}

/// A table in its steady state, fed `pool` round-robin with the clock moving on.
struct Steady {
    table: RedirectTransactions,
    next: usize,
    now: u64,
}

impl Steady {
    /// A table that has seen the pool once, so that entries are expiring as others come.
    fn warm(requests: &[Request], responses: &[Response]) -> Self {
        let mut s = Self {
            table: RedirectTransactions::default(),
            next: 0,
            now: 0,
        };
        for _ in 0..POOL {
            let (i, now) = s.tick();
            if let Ok(Action::New(key)) = s.table.on_request(&requests[i], Transport::Udp, now) {
                s.table.record(&key, &responses[i], now);
            }
        }
        s
    }

    fn tick(&mut self) -> (usize, u64) {
        let i = self.next;
        self.next = (self.next + 1) % POOL;
        self.now += STEP_MS;
        (i, self.now)
    }
}

fn main() {
    let mut c = Criterion::default()
        .output_directory(&out_dir())
        .configure_from_args();
    let limits = Limits::default();
    let signed = identity_value(0xbeef);

    for (variant, with_identity) in [("plain", false), ("identity", true)] {
        let wires: Vec<Vec<u8>> = (0..POOL)
            .map(|n| invite(u32::try_from(n).unwrap(), with_identity))
            .collect();
        let requests: Vec<Request> = wires.iter().map(|w| request(w)).collect();
        let responses: Vec<Response> = requests.iter().map(|r| respond(r, &signed)).collect();
        let wire = &wires[0];
        let one = &requests[0];

        let mut g = c.benchmark_group(variant);
        g.bench_function("copy", |b| b.iter(|| black_box(wire.as_slice()).to_vec()));
        g.bench_function("decode", |b| {
            b.iter(|| decode_datagram(black_box(wire), &limits).expect("decodes"));
        });
        g.bench_function("read", |b| {
            b.iter_batched_ref(
                || one.clone(),
                |r| {
                    let n = read(black_box(r));
                    stamp_via(r);
                    n
                },
                BatchSize::SmallInput,
            );
        });
        let mut s = Steady::warm(&requests, &responses);
        g.bench_function("transaction", |b| {
            b.iter(|| {
                let (i, now) = s.tick();
                let Ok(Action::New(key)) = s.table.on_request(&requests[i], Transport::Udp, now)
                else {
                    panic!("a new transaction");
                };
                s.table.record(&key, &responses[i], now)
            });
        });
        g.bench_function("response", |b| {
            b.iter(|| respond(black_box(one), &signed).to_bytes());
        });
        let mut s = Steady::warm(&requests, &responses);
        g.bench_function("sequence", |b| {
            b.iter(|| {
                let (i, now) = s.tick();
                let Ok(Message::Request(mut r)) = decode_datagram(black_box(&wires[i]), &limits)
                else {
                    panic!("a request");
                };
                let Ok(Action::New(key)) = s.table.on_request(&r, Transport::Udp, now) else {
                    panic!("a new transaction");
                };
                black_box(read(&r));
                stamp_via(&mut r);
                let response = respond(&r, &signed);
                s.table.record(&key, &response, now)
            });
        });
        g.finish();
    }
    c.final_summary();
    report();
}

/// Reads criterion's median estimates back and prints each part and its ratio to the copy.
fn report() {
    let median = |group: &str, name: &str| -> Option<f64> {
        let path = out_dir()
            .join(group)
            .join(name)
            .join("new")
            .join("estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v.pointer("/median/point_estimate")?.as_f64()
    };
    for group in ["plain", "identity"] {
        let Some(copy) = median(group, "copy") else {
            continue;
        };
        eprintln!();
        eprintln!("{group} INVITE (medians, one core): copy of the datagram {copy:.0} ns");
        for name in ["decode", "read", "transaction", "response", "sequence"] {
            if let Some(ns) = median(group, name) {
                eprintln!(
                    "  {name:<12} {ns:>8.0} ns  {:>9.0} /s  {:>6.1}x the copy",
                    1e9 / ns,
                    ns / copy
                );
            }
        }
    }
}
