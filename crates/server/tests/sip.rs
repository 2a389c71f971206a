//! The SIP redirect services over real sockets, driven by raw datagrams and streams:
//! signing and verification answers, the transaction layer (retransmissions, ACK, CANCEL),
//! malformed and oversized input, TCP framing and limits, the source-address ACL, and
//! shutdown. `tests/sipp.rs` drives the same services with SIPp as an independent peer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod sip_support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use server::config::FailureAnswer;
use server::sip_service::{Role, SipService};
use sip::transaction::Transport;
use sip::{Limits, Message, Response};
use sip_support::*;
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpStream, UdpSocket};

/// Sends `bytes` (retransmitting every 500 ms like a UA on UDP) until a response whose
/// Call-ID is `call_id` arrives.
async fn udp_transaction(
    socket: &UdpSocket,
    to: SocketAddr,
    bytes: &[u8],
    call_id: &str,
) -> Response {
    tokio::time::timeout(ANSWER_LIMIT, async {
        let mut buffer = vec![0u8; 70_000];
        loop {
            socket.send_to(bytes, to).await.unwrap();
            let deadline = Instant::now() + Duration::from_millis(500);
            while let Ok(Ok((n, _))) =
                tokio::time::timeout_at(deadline.into(), socket.recv_from(&mut buffer)).await
            {
                let response = parse(&buffer[..n]);
                if response.headers().call_id().unwrap() == call_id {
                    return response;
                }
            }
        }
    })
    .await
    .expect("no answer to the request in time")
}

async fn invite_udp(to: SocketAddr, build: impl FnOnce(Req) -> Req) -> (Req, Response) {
    let socket = udp_client().await;
    let req = build(Req::invite(socket.local_addr().unwrap(), "UDP"));
    let response = udp_transaction(&socket, to, &req.bytes(), &req.call_id).await;
    (req, response)
}

/// The claims of an Identity header value, decoded without verification.
fn claims(identity: &str) -> serde_json::Value {
    let token = identity.split(';').next().unwrap();
    passport::jws::decode_unverified_json(token).unwrap().1
}

/// `identity` with one signature character changed.
fn tampered(identity: &str) -> String {
    let (token, params) = identity.split_once(';').unwrap();
    let at = token.rfind('.').unwrap() + 10;
    let new = if &token[at..=at] == "A" { "B" } else { "A" };
    format!("{}{new}{};{params}", &token[..at], &token[at + 1..])
}

fn header(response: &Response, name: &str) -> String {
    values(response, name)
        .into_iter()
        .next()
        .unwrap_or_else(|| {
            panic!(
                "no {name} in {}",
                String::from_utf8_lossy(&response.to_bytes())
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_over_udp_is_signed_with_a_302() {
    let node = SipNode::start(|_| {}).await;
    let (req, r) = invite_udp(node.signing, |r| r).await;
    assert_eq!((r.status(), r.reason()), (302, "Moved Temporarily"));
    assert_eq!(values(&r, "Contact"), [format!("<{}>", req.uri)]);
    let identities = values(&r, "Identity");
    assert_eq!(identities.len(), 1, "{identities:?}");
    let c = claims(&identities[0]);
    assert_eq!(c["orig"]["tn"], ORIG);
    assert_eq!(c["dest"]["tn"][0], DEST);
    // The development customer owns ORIG: full attestation.
    assert_eq!(c["attest"], "A");
    assert!(identities[0].contains(";ppt=shaken"), "{}", identities[0]);
    // RFC 3581: the client asked with rport, so the response says where it came from.
    let local_port = req.via_host.rsplit(':').next().unwrap();
    assert!(
        header(&r, "Via").ends_with(&format!(";received=127.0.0.1;rport={local_port}")),
        "{}",
        header(&r, "Via")
    );
    assert!(r.headers().to().unwrap().tag().is_some());
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calling_number_is_taken_from_p_asserted_identity_first() {
    let node = SipNode::start(|_| {}).await;
    let (_, r) = invite_udp(node.signing, |r| {
        r.header("P-Asserted-Identity: <sip:+12155550042@example.com;user=phone>")
    })
    .await;
    assert_eq!(r.status(), 302);
    assert_eq!(claims(&header(&r, "Identity"))["orig"]["tn"], "12155550042");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retransmitted_invite_gets_the_same_bytes_and_its_ack_is_absorbed() {
    let node = SipNode::start(|_| {}).await;
    let socket = udp_client().await;
    let req = Req::invite(socket.local_addr().unwrap(), "UDP");
    let first = udp_exchange(&socket, node.signing, &req.bytes()).await;
    let second = udp_exchange(&socket, node.signing, &req.bytes()).await;
    assert_eq!(
        first, second,
        "a retransmission must get the identical response"
    );
    assert_eq!(parse(&first).status(), 302);
    socket
        .send_to(&req.ack_for(&parse(&first)), node.signing)
        .await
        .unwrap();
    assert!(udp_silent(&socket).await, "an ACK is never answered");
    // After the ACK the transaction absorbs late INVITE retransmissions (Timer I).
    socket.send_to(&req.bytes(), node.signing).await.unwrap();
    assert!(udp_silent(&socket).await);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_cancel_and_other_methods_get_their_answers() {
    let node = SipNode::start(|_| {}).await;
    let socket = udp_client().await;
    let local = socket.local_addr().unwrap();
    for to in [node.signing, node.verification] {
        let options = Req::new("OPTIONS", local, "UDP");
        let r = udp_transaction(&socket, to, &options.bytes(), &options.call_id).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "Allow"), "INVITE");

        let bye = Req::new("BYE", local, "UDP");
        let r = udp_transaction(&socket, to, &bye.bytes(), &bye.call_id).await;
        assert_eq!((r.status(), r.reason()), (405, "Method Not Allowed"));
        assert_eq!(values(&r, "Allow"), ["INVITE", "ACK", "CANCEL", "OPTIONS"]);

        let cancel = Req::new("CANCEL", local, "UDP");
        let r = udp_transaction(&socket, to, &cancel.bytes(), &cancel.call_id).await;
        assert_eq!(r.status(), 481);
    }
    // A CANCEL matching an INVITE transaction gets 200 (the INVITE already had its 302).
    let invite = Req::invite(local, "UDP");
    let r = udp_transaction(&socket, node.signing, &invite.bytes(), &invite.call_id).await;
    assert_eq!(r.status(), 302);
    let mut cancel = invite.clone();
    cancel.method = "CANCEL";
    let r = udp_transaction(&socket, node.signing, &cancel.bytes(), &cancel.call_id).await;
    assert_eq!(r.status(), 200);
    // A required extension is refused.
    let (_, r) = invite_udp(node.signing, |r| r.header("Require: 100rel")).await;
    assert_eq!(
        (r.status(), header(&r, "Unsupported")),
        (420, "100rel".into())
    );
    // So is it on OPTIONS (RFC 3261 8.2.2.3).
    let mut options = Req::new("OPTIONS", local, "UDP").header("Require: 100rel");
    options.branch.push_str("-options");
    let r = udp_transaction(&socket, node.signing, &options.bytes(), &options.call_id).await;
    assert_eq!(
        (r.status(), header(&r, "Unsupported")),
        (420, "100rel".into())
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_that_are_missing_get_400_or_484_with_a_warning() {
    let node = SipNode::start(|_| {}).await;
    let (_, r) = invite_udp(node.signing, |mut r| {
        r.from = "<sip:alice@example.com>;tag=1".into();
        r
    })
    .await;
    assert_eq!(r.status(), 400);
    assert!(header(&r, "Warning").contains("From URI does not hold a telephone number"));
    let (_, r) = invite_udp(node.signing, |mut r| {
        r.to = "<sip:bob@example.com>".into();
        r.uri = "sip:bob@example.com".into();
        r
    })
    .await;
    assert_eq!((r.status(), r.reason()), (484, "Address Incomplete"));
    assert!(header(&r, "Warning").starts_with("399 127.0.0.1:"));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_datagrams_get_400_when_answerable_and_the_service_keeps_serving() {
    let node = SipNode::start(|_| {}).await;
    let socket = udp_client().await;
    let local = socket.local_addr().unwrap();
    let valid = String::from_utf8(Req::invite(local, "UDP").bytes()).unwrap();

    // A Content-Length that is not a number.
    let bad_length = valid.replace("Content-Length: 0", "Content-Length: zero");
    let r = parse(&udp_exchange(&socket, node.signing, bad_length.as_bytes()).await);
    assert_eq!(r.status(), 400);
    assert!(
        header(&r, "Warning").contains("Content-Length"),
        "{}",
        header(&r, "Warning")
    );
    // A Content-Length larger than the datagram's body.
    let long = Req::invite(local, "UDP");
    let text = String::from_utf8(long.bytes())
        .unwrap()
        .replace("Content-Length: 0", "Content-Length: 10");
    let r = parse(&udp_exchange(&socket, node.signing, text.as_bytes()).await);
    assert_eq!(r.status(), 400);
    // A start line with a fourth element.
    let text = String::from_utf8(Req::invite(local, "UDP").bytes())
        .unwrap()
        .replacen(" SIP/2.0\r\n", " SIP/2.0 extra\r\n", 1);
    let r = parse(&udp_exchange(&socket, node.signing, text.as_bytes()).await);
    assert_eq!(r.status(), 400);
    // SIP/3.0.
    let text = String::from_utf8(Req::invite(local, "UDP").bytes())
        .unwrap()
        .replacen(" SIP/2.0\r\n", " SIP/3.0\r\n", 1);
    let r = parse(&udp_exchange(&socket, node.signing, text.as_bytes()).await);
    assert_eq!(r.status(), 505);
    // Without Call-ID the request cannot be answered (a response is matched by it).
    let no_call_id: String = valid
        .split("\r\n")
        .filter(|l| !l.starts_with("Call-ID"))
        .collect::<Vec<_>>()
        .join("\r\n");
    socket
        .send_to(no_call_id.as_bytes(), node.signing)
        .await
        .unwrap();
    assert!(udp_silent(&socket).await);

    // 1000 datagrams of garbage, then a valid INVITE is still answered.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..1000usize {
        let len = 1 + (i * 37) % 1400;
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()[0]
            })
            .collect();
        socket.send_to(&garbage, node.signing).await.unwrap();
    }
    let (_, r) = invite_udp(node.signing, |r| r).await;
    assert_eq!(r.status(), 302);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_datagram_gets_513() {
    let node = SipNode::start(|c| c.sip.max_message_bytes = 2048).await;
    let socket = udp_client().await;
    let req = Req::invite(socket.local_addr().unwrap(), "UDP")
        .header(format!("X-Padding: {}", "a".repeat(3000)));
    let r = parse(&udp_exchange(&socket, node.signing, &req.bytes()).await);
    assert_eq!((r.status(), r.reason()), (513, "Message Too Large"));
    assert!(
        header(&r, "Warning").contains("2048"),
        "{}",
        header(&r, "Warning")
    );
    assert_eq!(r.headers().call_id().unwrap(), req.call_id);
    // Just under the limit is fine.
    let (_, r) = invite_udp(node.signing, |r| {
        r.header(format!("X-Padding: {}", "a".repeat(1000)))
    })
    .await;
    assert_eq!(r.status(), 302);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_frames_a_request_sent_one_byte_at_a_time_and_answers_keep_alives() {
    let node = SipNode::start(|_| {}).await;
    let mut stream = TcpStream::connect(node.signing).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let local = stream.local_addr().unwrap();
    let req = Req::invite(local, "TCP");
    for byte in req.bytes() {
        tcp_write(&mut stream, &[byte]).await;
        tokio::task::yield_now().await;
    }
    let r = parse(&tcp_read_message(&mut stream).await);
    assert_eq!(r.status(), 302);
    assert_eq!(values(&r, "Identity").len(), 1);

    // RFC 5626 keep-alive: a double CRLF gets a CRLF.
    tcp_write(&mut stream, b"\r\n\r\n").await;
    let mut pong = [0u8; 2];
    tokio::time::timeout(ANSWER_LIMIT, stream.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");

    // Two requests in one write, both answered on the connection.
    let (a, b) = (Req::invite(local, "TCP"), Req::new("OPTIONS", local, "TCP"));
    let mut both = a.bytes();
    both.extend_from_slice(&b.bytes());
    tcp_write(&mut stream, &both).await;
    let mut statuses = vec![
        parse(&tcp_read_message(&mut stream).await).status(),
        parse(&tcp_read_message(&mut stream).await).status(),
    ];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 302]);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_stream_is_answered_then_closed_and_others_are_served() {
    let node = SipNode::start(|_| {}).await;
    let mut stream = TcpStream::connect(node.signing).await.unwrap();
    let req = Req::invite(stream.local_addr().unwrap(), "TCP");
    let text =
        String::from_utf8(req.bytes())
            .unwrap()
            .replacen(" SIP/2.0\r\n", " SIP/2.0 extra\r\n", 1);
    tcp_write(&mut stream, text.as_bytes()).await;
    let r = parse(&tcp_read_message(&mut stream).await);
    assert_eq!(r.status(), 400);
    let mut rest = Vec::new();
    let n = tokio::time::timeout(ANSWER_LIMIT, stream.read_to_end(&mut rest))
        .await
        .expect("the connection is closed after an unframeable message")
        .unwrap_or(0);
    assert_eq!(n, 0);

    let mut stream = TcpStream::connect(node.signing).await.unwrap();
    let req = Req::invite(stream.local_addr().unwrap(), "TCP");
    tcp_write(&mut stream, &req.bytes()).await;
    assert_eq!(parse(&tcp_read_message(&mut stream).await).status(), 302);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connections_are_limited_and_idle_ones_closed() {
    let node = SipNode::start(|c| {
        c.sip.max_tcp_connections = 1;
        c.sip.tcp_idle_timeout_ms = 1_000;
    })
    .await;
    let first = TcpStream::connect(node.signing).await.unwrap();
    // Give the service time to accept the first connection and take the only permit.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = TcpStream::connect(node.signing).await.unwrap();
    let req = Req::invite(second.local_addr().unwrap(), "TCP");
    tcp_write(&mut second, &req.bytes()).await;
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(SILENCE, second.peek(&mut byte))
            .await
            .is_err(),
        "the second connection waits while the first holds the only permit"
    );
    drop(first);
    assert_eq!(parse(&tcp_read_message(&mut second).await).status(), 302);
    // Idle for longer than tcp_idle_timeout_ms: closed by the service.
    let started = Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(ANSWER_LIMIT, second.read_to_end(&mut rest))
        .await
        .expect("an idle connection is closed")
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(500));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_on_no_trunk_gets_403() {
    let node = SipNode::start(|_| {}).await;
    // The service logic, given a source address outside every trunk (the development
    // customer's trunks are 127.0.0.0/8 and ::1).
    let service = SipService::new(Role::Signing, Arc::clone(node.node().state()), node.signing);
    let stranger: SocketAddr = "192.0.2.1:5060".parse().unwrap();
    let req = Req::invite(stranger, "UDP");
    let Ok(Message::Request(request)) = sip::decode_datagram(&req.bytes(), &Limits::default())
    else {
        panic!("the test INVITE decodes");
    };
    let r = service
        .respond(&request, stranger, Transport::Udp)
        .await
        .unwrap();
    assert_eq!((r.status(), r.reason()), (403, "Forbidden"));
    assert!(header(&r, "Warning").contains("192.0.2.1 is not on any customer trunk"));
    assert!(values(&r, "Identity").is_empty());
    // OPTIONS is answered whoever asks.
    let req = Req::new("OPTIONS", stranger, "UDP");
    let Ok(Message::Request(request)) = sip::decode_datagram(&req.bytes(), &Limits::default())
    else {
        panic!("the test OPTIONS decodes");
    };
    let r = service
        .respond(&request, stranger, Transport::Udp)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The verification service serves trunks only, too: it fetches certificates for callers.
    let verifier = SipService::new(
        Role::Verification,
        Arc::clone(node.node().state()),
        node.verification,
    );
    let req = Req::invite(stranger, "UDP");
    let Ok(Message::Request(request)) = sip::decode_datagram(&req.bytes(), &Limits::default())
    else {
        panic!("the test INVITE decodes");
    };
    let r = verifier
        .respond(&request, stranger, Transport::Udp)
        .await
        .unwrap();
    assert_eq!((r.status(), r.reason()), (403, "Forbidden"));

    // Over a real socket, when this host has a non-loopback address to send from.
    match non_loopback_address() {
        Some(ip) => {
            let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await.unwrap();
            let req = Req::invite(socket.local_addr().unwrap(), "UDP");
            let r = udp_transaction(&socket, node.signing, &req.bytes(), &req.call_id).await;
            assert_eq!(r.status(), 403);
        }
        None => eprintln!("no non-loopback address on this host: the socket part is skipped"),
    }
    node.stop().await;
}

/// A local address that is not loopback (the one a route to a public address would use),
/// if the host has one. Connecting a UDP socket sends nothing.
fn non_loopback_address() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    [
        "192.0.2.1:9",
        "198.51.100.1:9",
        "203.0.113.1:9",
        "10.255.255.1:9",
    ]
    .iter()
    .find_map(|target| {
        socket.connect(target).ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_redirects_with_verstat() {
    let node = SipNode::start(|_| {}).await;
    let (_, signed) = invite_udp(node.signing, |r| r).await;
    let identity = header(&signed, "Identity");

    let (_, r) = invite_udp(node.verification, |r| {
        r.header(format!("Identity: {identity}"))
    })
    .await;
    assert_eq!(r.status(), 302);
    assert_eq!(
        header(&r, "P-Asserted-Identity"),
        format!("\"Alice\" <sip:+{ORIG}@example.com;user=phone;verstat=TN-Validation-Passed>")
    );
    assert!(values(&r, "Reason").is_empty());
    assert!(header(&r, "Contact").starts_with("<sip:+"));

    let (_, r) = invite_udp(node.verification, |r| {
        r.header(format!("Identity: {}", tampered(&identity)))
    })
    .await;
    assert_eq!(r.status(), 302);
    assert!(header(&r, "P-Asserted-Identity").contains(";verstat=TN-Validation-Failed>"));
    assert_eq!(
        header(&r, "Reason"),
        "SIP ;cause=438 ;text=\"Invalid Identity Header\""
    );

    let (_, r) = invite_udp(node.verification, |r| r).await;
    assert_eq!(r.status(), 302);
    assert!(header(&r, "P-Asserted-Identity").contains(";verstat=No-TN-Validation>"));
    assert!(header(&r, "Reason").contains("cause=428"));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_block_policy_declines_calls_found_false_and_passes_the_unverifiable_on() {
    let node = SipNode::start(|c| c.sip.verification_failure = FailureAnswer::Decline).await;
    let identity = node.rest_identity(ORIG, DEST).await;

    let (_, r) = invite_udp(node.verification, |r| {
        r.header(format!("Identity: {identity}"))
    })
    .await;
    assert_eq!(r.status(), 302);
    assert!(header(&r, "P-Asserted-Identity").contains("verstat=TN-Validation-Passed"));

    // Checked and found false (a forged signature): declined.
    let (_, r) = invite_udp(node.verification, |r| {
        r.header(format!("Identity: {}", tampered(&identity)))
    })
    .await;
    assert_eq!((r.status(), r.reason()), (603, "Decline"));
    assert!(header(&r, "Reason").contains("cause=438"));
    assert!(values(&r, "P-Asserted-Identity").is_empty());

    // Not checkable (no Identity at all): the call goes on, marked as such.
    let (_, r) = invite_udp(node.verification, |r| r).await;
    assert_eq!(r.status(), 302);
    assert!(header(&r, "P-Asserted-Identity").contains("verstat=No-TN-Validation"));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_rejects_with_the_rfc_8224_code_when_configured() {
    let node = SipNode::start(|c| c.sip.verification_failure = FailureAnswer::Reject).await;
    let identity = node.rest_identity(ORIG, DEST).await;

    let (_, r) = invite_udp(node.verification, |r| {
        r.header(format!("Identity: {identity}"))
    })
    .await;
    assert_eq!(r.status(), 302);
    assert!(header(&r, "P-Asserted-Identity").contains("verstat=TN-Validation-Passed"));

    let (_, r) = invite_udp(node.verification, |r| {
        r.header(format!("Identity: {}", tampered(&identity)))
    })
    .await;
    assert_eq!((r.status(), r.reason()), (438, "Invalid Identity Header"));
    assert!(values(&r, "P-Asserted-Identity").is_empty());

    let (_, r) = invite_udp(node.verification, |r| r).await;
    assert_eq!((r.status(), r.reason()), (428, "Use Identity Header"));

    let (_, r) = invite_udp(node.verification, |r| {
        r.header(format!("Identity: {identity}"))
            .header("Date: Sat, 13 Nov 2010 23:29:00 GMT")
    })
    .await;
    assert_eq!((r.status(), r.reason()), (403, "Stale Date"));

    // The ACK to a rejection is absorbed.
    let socket = udp_client().await;
    let req = Req::invite(socket.local_addr().unwrap(), "UDP");
    let r = udp_transaction(&socket, node.verification, &req.bytes(), &req.call_id).await;
    assert_eq!(r.status(), 428);
    socket
        .send_to(&req.ack_for(&r), node.verification)
        .await
        .unwrap();
    assert!(udp_silent(&socket).await);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diverted_call_gains_a_div_passport_that_verifies() {
    let node = SipNode::start(|_| {}).await;
    // The diverting number is the calling customer's own (the development customer owns
    // 12155550000..+10000): only its owner may have a div PASSporT signed for it.
    const DIVERTER: &str = "12155559000";
    let shaken = node.rest_identity(ORIG, DIVERTER).await;
    // DIVERTER forwards the call to FORWARDED_TO: To stays, the Request-URI is the new target.
    let forwarded = |r: Req| {
        let mut r = r;
        r.uri = format!("sip:+{FORWARDED_TO}@127.0.0.1;user=phone");
        r.to = format!("<sip:+{DIVERTER}@example.com;user=phone>");
        r
    };
    let (_, r) = invite_udp(node.signing, |r| {
        forwarded(r)
            .header(format!("Identity: {shaken}"))
            .header(format!(
                "Diversion: <sip:+{DIVERTER}@example.com;user=phone>;reason=unconditional"
            ))
    })
    .await;
    assert_eq!(r.status(), 302);
    let identities = values(&r, "Identity");
    assert_eq!(identities.len(), 2, "{identities:?}");
    assert_eq!(identities[0], shaken);
    assert!(identities[1].contains(";ppt=div"), "{}", identities[1]);
    let div = claims(&identities[1]);
    assert_eq!(div["div"]["tn"], DIVERTER);
    assert_eq!(div["dest"]["tn"][0], FORWARDED_TO);
    assert_eq!(div["orig"]["tn"], ORIG);

    let (_, v) = invite_udp(node.verification, |r| {
        forwarded(r)
            .header(format!("Identity: {}", identities[0]))
            .header(format!("Identity: {}", identities[1]))
    })
    .await;
    assert_eq!(v.status(), 302);
    assert!(header(&v, "P-Asserted-Identity").contains("verstat=TN-Validation-Passed"));
    assert_eq!(
        values(&v, "Callproof-Div"),
        [format!(
            "2;verstat=TN-Validation-Passed;div={DIVERTER};dest={FORWARDED_TO}"
        )]
    );

    // A diversion from a number that is not the customer's gets no div PASSporT.
    let foreign = node.rest_identity(ORIG, DEST).await;
    let (_, r) = invite_udp(node.signing, |r| {
        forwarded(r)
            .header(format!("Identity: {foreign}"))
            .header(format!(
                "Diversion: <sip:+{DEST}@example.com;user=phone>;reason=unconditional"
            ))
    })
    .await;
    assert_eq!((r.status(), r.reason()), (403, "Forbidden"));
    assert!(header(&r, "Warning").contains("not this customer's"));

    // A div PASSporT that fails is reported as such.
    let (_, v) = invite_udp(node.verification, |r| {
        forwarded(r)
            .header(format!("Identity: {}", identities[0]))
            .header(format!("Identity: {}", tampered(&identities[1])))
    })
    .await;
    assert_eq!(
        values(&v, "Callproof-Div"),
        ["2;verstat=TN-Validation-Failed;cause=438"]
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_requests_are_counted_in_the_metrics() {
    let node = SipNode::start(|_| {}).await;
    let (_, r) = invite_udp(node.signing, |r| r).await;
    assert_eq!(r.status(), 302);
    let text = reqwest::Client::builder()
        .no_proxy()
        .timeout(ANSWER_LIMIT)
        .build()
        .unwrap()
        .get(format!("{}/metrics", node.base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "callproof_sip_requests_total{service=\"signing\",method=\"INVITE\",status=\"302\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("callproof_sip_request_seconds_count{service=\"signing\"} 1"),
        "{text}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_open_connections_promptly() {
    let node = SipNode::start(|_| {}).await;
    let mut stream = TcpStream::connect(node.signing).await.unwrap();
    let req = Req::invite(stream.local_addr().unwrap(), "TCP");
    tcp_write(&mut stream, &req.bytes()).await;
    assert_eq!(parse(&tcp_read_message(&mut stream).await).status(), 302);
    let signing = node.signing;
    let started = Instant::now();
    node.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let mut rest = Vec::new();
    let n = tokio::time::timeout(ANSWER_LIMIT, stream.read_to_end(&mut rest))
        .await
        .expect("the connection is closed at shutdown")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(
        TcpStream::connect(signing).await.is_err(),
        "nothing listens after shutdown"
    );
}

/// Sends an admin request to the node over HTTP (development mode: loopback is admin).
async fn admin(node: &SipNode, method: reqwest::Method, path: &str, body: serde_json::Value) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .request(method, format!("{}{path}", node.base()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brand_call_is_signed_with_rcd_and_shown_by_the_verification_service() {
    use reqwest::Method;
    // rcd PASSporTs of their own (RFC 9795): two Identity headers.
    let node = SipNode::start(|c| c.signing.rcd_mode = engine::signing::RcdMode::Separate).await;
    admin(
        &node,
        Method::POST,
        "/v1/brands",
        serde_json::json!({
            "slug": "acme-bank", "customer": "development",
            "legalName": "Acme Bank plc", "displayName": "Acme Bank",
            "callReasons": [
                {"code": "fraud-alert", "text": "Card fraud alert"},
                {"code": "offers", "text": "Savings \"offers\"", "marketing": true}
            ]
        }),
    )
    .await;
    let logo = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .put(format!("{}/v1/brands/acme-bank/logo", node.base()))
        .header("content-type", "image/svg+xml")
        .body("<svg xmlns='http://www.w3.org/2000/svg'/>")
        .send()
        .await
        .unwrap();
    assert_eq!(logo.status(), 200);
    let logo: serde_json::Value = logo.json().await.unwrap();
    for (kind, start, count) in [
        ("listed", "12155551200", 100),
        ("inbound_only", "12155559999", 1),
    ] {
        admin(
            &node,
            Method::POST,
            "/v1/brands/acme-bank/numbers",
            serde_json::json!({"kind": kind, "numbers": [{"start": start, "count": count}]}),
        )
        .await;
    }

    // Signing: the call reason comes from Call-Info (RFC 9796); two Identity headers.
    let (_, r) = invite_udp(node.signing, |r| {
        r.header("Call-Info: <data:>;purpose=jcard;call-reason=\"fraud-alert\"")
    })
    .await;
    assert_eq!(
        r.status(),
        302,
        "{}",
        String::from_utf8_lossy(&r.to_bytes())
    );
    let identities = values(&r, "Identity");
    assert_eq!(identities.len(), 2, "{identities:?}");
    assert!(identities[1].ends_with(";ppt=rcd"), "{}", identities[1]);
    let rcd = claims(&identities[1]);
    assert_eq!(rcd["rcd"]["nam"], "Acme Bank");
    assert_eq!(rcd["crn"], "Card fraud alert");
    assert_eq!(rcd["rcd"]["icn"], logo["url"]);

    // Verification: the verified name in P-Asserted-Identity, logo and reason in Call-Info.
    let (_, r) = invite_udp(node.verification, |mut r| {
        for identity in &identities {
            r = r.header(format!("Identity: {identity}"));
        }
        r
    })
    .await;
    assert_eq!(r.status(), 302);
    assert_eq!(
        header(&r, "P-Asserted-Identity"),
        format!("\"Acme Bank\" <sip:+{ORIG}@example.com;user=phone;verstat=TN-Validation-Passed>")
    );
    assert_eq!(
        values(&r, "Call-Info"),
        [format!(
            "<{}>;purpose=icon;call-reason=\"Card fraud alert\"",
            logo["url"].as_str().unwrap()
        )]
    );
    // Without the rcd PASSporT: the caller's own display name, no Call-Info.
    let (_, r) = invite_udp(node.verification, |r| {
        r.header(format!("Identity: {}", identities[0]))
    })
    .await;
    assert!(header(&r, "P-Asserted-Identity").starts_with("\"Alice\" <"));
    assert!(values(&r, "Call-Info").is_empty());

    // A quoted reason text is quoted back correctly.
    let (_, r) = invite_udp(node.signing, |r| {
        r.header("Call-Info: <data:>;purpose=jcard;call-reason=\"offers\"")
    })
    .await;
    let identities = values(&r, "Identity");
    let (_, r) = invite_udp(node.verification, |mut r| {
        for identity in &identities {
            r = r.header(format!("Identity: {identity}"));
        }
        r
    })
    .await;
    assert!(
        header(&r, "Call-Info").ends_with(";call-reason=\"Savings \\\"offers\\\"\""),
        "{}",
        header(&r, "Call-Info")
    );

    // Refusals are 403 with a Warning: an unknown reason, a Do-Not-Originate number.
    let (_, r) = invite_udp(node.signing, |r| {
        r.header("Call-Info: <data:>;purpose=jcard;call-reason=\"lottery\"")
    })
    .await;
    assert_eq!(r.status(), 403);
    assert!(
        header(&r, "Warning").contains("not a call reason"),
        "{}",
        header(&r, "Warning")
    );
    let (_, r) = invite_udp(node.signing, |mut r| {
        r.from = "<sip:+12155559999@example.com;user=phone>;tag=dno".into();
        r
    })
    .await;
    assert_eq!(r.status(), 403);
    assert!(
        header(&r, "Warning").contains("Do-Not-Originate"),
        "{}",
        header(&r, "Warning")
    );
    node.stop().await;
}
