//! Properties of the codec: no input makes it panic, whatever decodes re-encodes to the same
//! message, generated valid messages decode to what was generated, and a stream frames a
//! message however its bytes are split.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use sip::{Framed, Limits, Message, Response, StreamDecoder, decode_datagram, decode_stream};

/// Encoding writes full header names and always a Content-Length, so a message right at a
/// limit may grow past it; re-decoding uses limits with room for that.
fn relaxed() -> Limits {
    let mut l = Limits::default();
    l.max_message_size *= 4;
    l.max_header_line *= 4;
    l.max_start_line *= 4;
    l
}

fn assert_round_trip(message: &Message) {
    let encoded = message.to_bytes();
    let again = decode_datagram(&encoded, &relaxed()).unwrap_or_else(|e| {
        panic!(
            "re-decoding failed with {e:?}: {:?}",
            String::from_utf8_lossy(&encoded)
        )
    });
    assert_eq!(&again, message);
    assert_eq!(again.to_bytes(), encoded);
}

/// Feeds `input` to every entry point and checks what comes back.
fn exercise(input: &[u8]) {
    let limits = Limits::default();
    match decode_datagram(input, &limits) {
        Ok(message) => assert_round_trip(&message),
        Err(error) => {
            if let Some(answer) = Response::for_malformed(input, &error, &limits, "h.example", "t1")
            {
                let wire = answer.to_bytes();
                let decoded = decode_datagram(&wire, &relaxed()).unwrap_or_else(|e| {
                    panic!(
                        "answer does not decode ({e:?}): {:?}",
                        String::from_utf8_lossy(&wire)
                    )
                });
                assert!(decoded.as_response().is_some());
            }
        }
    }
    match decode_stream(input, &limits) {
        Ok(Some(Framed::Message { message, consumed })) => {
            assert!(consumed <= input.len());
            assert_round_trip(&message);
        }
        Ok(Some(Framed::KeepAlive { consumed, .. })) => assert!((2..=4).contains(&consumed)),
        Ok(None) | Err(_) => {}
    }
}

/// A generated request and what it should decode to.
#[derive(Debug, Clone)]
struct Generated {
    text: Vec<u8>,
    method: String,
    uri: String,
    call_id: String,
    cseq: u32,
    vias: usize,
    body: Vec<u8>,
}

fn host() -> impl Strategy<Value = String> {
    vec("[a-z]([a-z0-9-]{0,6}[a-z0-9])?", 1..4).prop_map(|labels| labels.join("."))
}

/// Writes a header name in one of its spellings: compact, odd case, space before the colon.
fn spelled(name: &str, compact: Option<&str>, style: u8) -> String {
    let name = match (style % 4, compact) {
        (0, Some(c)) => c.to_owned(),
        (1, _) => name.to_ascii_uppercase(),
        (2, _) => name.to_ascii_lowercase(),
        _ => name.to_owned(),
    };
    let colon = if style & 4 != 0 { " :" } else { ":" };
    let space = match style >> 3 & 3 {
        0 => "",
        1 => " ",
        2 => "   ",
        _ => "\t",
    };
    format!("{name}{colon}{space}")
}

prop_compose! {
    fn request()(
        method in prop_oneof![
            Just("INVITE".to_owned()),
            Just("OPTIONS".to_owned()),
            Just("BYE".to_owned()),
            "[A-Z][A-Z0-9_.!%*+~-]{0,10}",
        ],
        user in prop_oneof!["[+]?[0-9]{1,15}", "[a-z][a-z0-9._-]{0,10}"],
        uri_host in host(),
        port in proptest::option::of(1u16..),
        uri_param in select(vec!["", ";user=phone", ";transport=tcp", ";lr"]),
        vias in vec((select(vec!["UDP", "TCP", "TLS"]), host(), "[a-zA-Z0-9]{1,12}", any::<bool>()), 1..5),
        display in proptest::option::of("[A-Za-z][A-Za-z ]{0,12}"),
        from_tag in "[a-zA-Z0-9~!.-]{1,16}",
        call_id in "[a-zA-Z0-9.-]{1,20}(@[a-z0-9.]{1,10})?",
        cseq in 0u32..(1 << 31),
        subject in proptest::option::of("[ -~]{0,60}"),
        fold_subject in any::<bool>(),
        supported in vec("[a-z0-9]{1,8}", 0..4),
        extension in proptest::option::of(("X-[A-Za-z]{1,6}", "[ -~]{0,40}")),
        styles in vec(any::<u8>(), 8),
        body in vec(any::<u8>(), 0..200),
    ) -> Generated {
        let uri = match port {
            Some(p) => format!("sip:{user}@{uri_host}:{p}{uri_param}"),
            None => format!("sip:{user}@{uri_host}{uri_param}"),
        };
        let mut lines = vec![format!("{method} {uri} SIP/2.0")];
        for (transport, via_host, branch, rport) in &vias {
            let rport = if *rport { ";rport" } else { "" };
            lines.push(format!(
                "{}SIP/2.0/{transport} {via_host};branch=z9hG4bK{branch}{rport}",
                spelled("Via", Some("v"), styles[0])
            ));
        }
        let display = display.map(|d| format!("\"{d}\" ")).unwrap_or_default();
        lines.push(format!(
            "{}{display}<sip:{user}@{uri_host}>;tag={from_tag}",
            spelled("From", Some("f"), styles[1])
        ));
        lines.push(format!("{}<{uri}>", spelled("To", Some("t"), styles[2])));
        lines.push(format!("{}{call_id}", spelled("Call-ID", Some("i"), styles[3])));
        lines.push(format!("{}{cseq} {method}", spelled("CSeq", None, styles[4])));
        if let Some(subject) = subject {
            let subject = subject.trim().to_owned();
            match subject.split_once(' ') {
                Some((a, b)) if fold_subject => {
                    lines.push(format!("{}{a}", spelled("Subject", Some("s"), styles[5])));
                    lines.push(format!("  {}", b.trim()));
                }
                _ => lines.push(format!("{}{subject}", spelled("Subject", Some("s"), styles[5]))),
            }
        }
        if !supported.is_empty() {
            lines.push(format!("{}{}", spelled("Supported", Some("k"), styles[6]), supported.join(", ")));
        }
        if let Some((name, value)) = extension {
            lines.push(format!("{name}: {value}"));
        }
        lines.push(format!("{}{}", spelled("Content-Length", Some("l"), styles[7]), body.len()));
        let mut text = lines.join("\r\n").into_bytes();
        text.extend_from_slice(b"\r\n\r\n");
        text.extend_from_slice(&body);
        Generated { text, method, uri, call_id, cseq, vias: vias.len(), body }
    }
}

/// Small edits that keep a message close to valid, so the decoder's deeper paths run.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, &'static [u8]),
    Delete(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<usize>(),
            select(vec![
                &b"\r\n"[..],
                b"\r\n ",
                b" ",
                b"\t",
                b":",
                b",",
                b";",
                b"\"",
                b"<",
                b">",
                b"\n",
                b"\r",
                b"\0",
                b"=",
                b"@",
                b"/",
                b"\r\n\r\n",
                b"%",
                b"[",
                b"]",
                b"..x",
            ])
        )
            .prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 0usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

fn apply(text: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = text.to_vec();
    for e in edits {
        let len = out.len().max(1);
        match *e {
            Edit::Set(i, b) => {
                if let Some(slot) = out.get_mut(i % len) {
                    *slot = b;
                }
            }
            Edit::Insert(i, s) => {
                let at = (i % len).min(out.len());
                out.splice(at..at, s.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = (i % len).min(out.len());
                let end = (at + n).min(out.len());
                out.drain(at..end);
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..1024)) {
        exercise(&input);
    }

    #[test]
    fn sip_shaped_text_never_panics(
        lines in vec("[ -~\t]{0,60}", 0..12),
        start in select(vec!["INVITE sip:a@b SIP/2.0", "SIP/2.0 200 OK", "ACK sip:a@b SIP/2.0", "x"]),
    ) {
        let text = format!("{start}\r\n{}\r\n\r\n", lines.join("\r\n"));
        exercise(text.as_bytes());
    }

    #[test]
    fn generated_requests_decode_to_what_was_generated(g in request()) {
        let message = decode_datagram(&g.text, &Limits::default())
            .unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(&g.text)));
        let request = message.as_request().unwrap();
        prop_assert_eq!(request.method().as_str(), g.method.as_str());
        prop_assert_eq!(request.uri().as_str(), g.uri.as_str());
        prop_assert_eq!(request.headers().call_id().unwrap(), g.call_id.as_str());
        prop_assert_eq!(request.headers().cseq().unwrap().seq(), g.cseq);
        prop_assert_eq!(request.headers().via().unwrap().len(), g.vias);
        prop_assert_eq!(request.body(), &g.body[..]);
        assert_round_trip(&message);
        let answer = Response::for_request(request, 302, "Moved Temporarily", "x1").unwrap();
        let answer = decode_datagram(&answer.to_bytes(), &Limits::default()).unwrap();
        prop_assert_eq!(answer.headers().via().unwrap().len(), g.vias);
    }

    #[test]
    fn a_stream_frames_a_message_however_it_is_split(g in request(), cut in any::<prop::sample::Index>()) {
        let limits = Limits::default();
        let cut = cut.index(g.text.len());
        prop_assert_eq!(decode_stream(&g.text[..cut], &limits), Ok(None));
        let mut buffer = g.text.clone();
        buffer.extend_from_slice(b"INVITE sip:next");
        match decode_stream(&buffer, &limits) {
            Ok(Some(Framed::Message { message, consumed })) => {
                prop_assert_eq!(consumed, g.text.len());
                prop_assert_eq!(message, decode_datagram(&g.text, &limits).unwrap());
            }
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_kept_decoder_agrees_with_the_stateless_one(
        g in request(),
        edits in vec(edit(), 0..3),
        chunks in vec(1usize..64, 1..64),
        ping in any::<bool>(),
    ) {
        // A connection carrying an (edited) message, maybe a ping, then a valid message,
        // delivered in chunks; both decoders must see the same frames and errors.
        let mut wire = apply(&g.text, &edits);
        if ping {
            wire.extend_from_slice(b"\r\n\r\n");
        }
        wire.extend_from_slice(&g.text);
        let limits = Limits::default();
        let mut decoder = StreamDecoder::new(limits.clone());
        let mut buffer: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut chunks = chunks.into_iter().cycle();
        loop {
            let kept = decoder.decode(&buffer);
            let fresh = decode_stream(&buffer, &limits);
            prop_assert_eq!(&kept, &fresh);
            match kept {
                Ok(Some(Framed::Message { consumed, .. } | Framed::KeepAlive { consumed, .. })) => {
                    buffer.drain(..consumed);
                }
                Ok(None) if fed < wire.len() => {
                    let n = chunks.next().unwrap_or(1).min(wire.len() - fed);
                    buffer.extend_from_slice(&wire[fed..fed + n]);
                    fed += n;
                }
                Ok(None) | Err(_) => break,
            }
        }
    }

    #[test]
    fn edited_requests_never_panic(g in request(), edits in vec(edit(), 1..6)) {
        exercise(&apply(&g.text, &edits));
    }
}
