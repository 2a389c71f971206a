//! SIP messages kept as data files under `tests/vectors/`, in the spirit of the RFC 4475
//! torture tests: odd but valid messages that must decode to the listed values, and invalid
//! ones that must be refused with the listed error and answered only when answerable.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use passport::identity::IdentityHeader;
use serde_json::Value;
use sip::header::{HeaderName, NameAddr, Rport};
use sip::{
    Framed, Limits, Message, Response, SipError, StreamDecoder, Uri, decode_datagram, decode_stream,
};

const AGENT: &str = "sip.example.com:5060";

fn manifest() -> Value {
    let path = format!("{}/tests/vectors/cases.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes(case: &Value) -> Vec<u8> {
    let file = case["file"].as_str().unwrap();
    std::fs::read(format!(
        "{}/tests/vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn cases(kind: &str) -> Vec<Value> {
    let cases = manifest()[kind].as_array().unwrap().clone();
    assert!(cases.len() > 10, "the {kind} vectors went missing");
    cases
}

fn opt_str(v: &Value) -> Option<&str> {
    v.as_str()
}

/// Checks one listed value against the decoded message.
fn check(message: &Message, key: &str, expected: &Value, file: &str) {
    let h = message.headers();
    let request = message.as_request();
    let at = format!("{file}: {key}");
    match key {
        "file" | "description" | "stream" => {}
        "method" => assert_eq!(
            request.unwrap().method().as_str(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "request_uri" => assert_eq!(
            request.unwrap().uri().as_str(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "uri_host" => assert_eq!(request.unwrap().uri().host(), opt_str(expected), "{at}"),
        "uri_port" => assert_eq!(
            request.unwrap().uri().port().map(u64::from),
            expected.as_u64(),
            "{at}"
        ),
        "uri_tn" => assert_eq!(
            request.unwrap().uri_tn().unwrap().as_str(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "status" => assert_eq!(
            u64::from(message.as_response().unwrap().status()),
            expected.as_u64().unwrap(),
            "{at}"
        ),
        "reason" => assert_eq!(
            message.as_response().unwrap().reason(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "call_id" => assert_eq!(h.call_id().unwrap(), expected.as_str().unwrap(), "{at}"),
        "cseq" => assert_eq!(
            h.cseq().unwrap().to_string(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "max_forwards" => assert_eq!(
            h.max_forwards().unwrap().map(u64::from),
            expected.as_u64(),
            "{at}"
        ),
        "via_count" => assert_eq!(
            h.via().unwrap().len() as u64,
            expected.as_u64().unwrap(),
            "{at}"
        ),
        "top_via_branch" => assert_eq!(h.top_via().unwrap().branch(), opt_str(expected), "{at}"),
        "top_via_sent_by" => assert_eq!(
            h.top_via().unwrap().sent_by(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "top_via_transport" => assert_eq!(
            h.top_via().unwrap().transport(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "top_via_rport" => assert_eq!(
            h.top_via().unwrap().rport(),
            Rport::Filled(u16::try_from(expected.as_u64().unwrap()).unwrap()),
            "{at}"
        ),
        "top_via_received" => {
            assert_eq!(h.top_via().unwrap().received(), opt_str(expected), "{at}");
        }
        "from_tag" => assert_eq!(h.from().unwrap().tag(), opt_str(expected), "{at}"),
        "to_tag" => assert_eq!(h.to().unwrap().tag(), opt_str(expected), "{at}"),
        "from_display" => assert_eq!(h.from().unwrap().display_name(), opt_str(expected), "{at}"),
        "from_tn" => assert_eq!(
            h.from_tn().unwrap().as_str(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "to_tn" => assert_eq!(
            h.to_tn().unwrap().as_str(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "pai_tn" => assert_eq!(
            h.p_asserted_tn().unwrap().unwrap().as_str(),
            expected.as_str().unwrap(),
            "{at}"
        ),
        "date" => assert_eq!(h.date().unwrap(), expected.as_i64(), "{at}"),
        "diversion_count" => assert_eq!(
            h.diversions().unwrap().len() as u64,
            expected.as_u64().unwrap(),
            "{at}"
        ),
        "history_info_count" => assert_eq!(
            h.history_info().unwrap().len() as u64,
            expected.as_u64().unwrap(),
            "{at}"
        ),
        "identity_count" => assert_eq!(
            h.identities().count() as u64,
            expected.as_u64().unwrap(),
            "{at}"
        ),
        "identities" => {
            let got: Vec<&str> = h.identities().collect();
            let want: Vec<&str> = expected
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(got, want, "{at}");
            for value in got {
                IdentityHeader::parse(value).unwrap_or_else(|e| panic!("{at}: {value}: {e}"));
            }
        }
        "headers" => {
            for (name, value) in expected.as_object().unwrap() {
                let name = HeaderName::new(name).unwrap();
                assert_eq!(h.get(&name), value.as_str(), "{at}: {name}");
            }
        }
        "counts" => {
            for (name, count) in expected.as_object().unwrap() {
                let name = HeaderName::new(name).unwrap();
                assert_eq!(
                    h.get_all(&name).count() as u64,
                    count.as_u64().unwrap(),
                    "{at}: {name}"
                );
            }
        }
        "body_len" => assert_eq!(
            message.body().len() as u64,
            expected.as_u64().unwrap(),
            "{at}"
        ),
        other => panic!("{file}: unknown check {other:?}"),
    }
}

#[test]
fn valid_vectors_decode_to_their_values() {
    for case in cases("valid") {
        let file = case["file"].as_str().unwrap();
        let message = decode_datagram(&bytes(&case), &Limits::default())
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        for (key, expected) in case.as_object().unwrap() {
            check(&message, key, expected, file);
        }
    }
}

#[test]
fn valid_vectors_round_trip() {
    for case in cases("valid") {
        let file = case["file"].as_str().unwrap();
        let message = decode_datagram(&bytes(&case), &Limits::default()).unwrap();
        let encoded = message.to_bytes();
        let again = decode_datagram(&encoded, &Limits::default())
            .unwrap_or_else(|e| panic!("{file}: re-decoding failed: {e:?}"));
        assert_eq!(again, message, "{file}");
        assert_eq!(again.to_bytes(), encoded, "{file}: encoding is not stable");
        // The canonical form is also a valid stream frame.
        let Some(Framed::Message {
            message: framed,
            consumed,
        }) = decode_stream(&encoded, &Limits::default()).unwrap()
        else {
            panic!("{file}: the encoded message does not frame");
        };
        assert_eq!((framed, consumed), (message, encoded.len()), "{file}");
    }
}

#[test]
fn valid_vectors_frame_byte_by_byte_on_a_stream() {
    for case in cases("valid") {
        if case["stream"] == Value::Bool(false) {
            continue;
        }
        let file = case["file"].as_str().unwrap();
        let input = bytes(&case);
        for end in 0..input.len() {
            assert_eq!(
                decode_stream(&input[..end], &Limits::default()),
                Ok(None),
                "{file}: {end} of {} bytes",
                input.len()
            );
        }
        // The same, with one decoder kept for the connection.
        let mut decoder = StreamDecoder::new(Limits::default());
        for end in 0..input.len() {
            assert_eq!(decoder.decode(&input[..end]), Ok(None), "{file}: {end}");
        }
        let expected = decode_stream(&input, &Limits::default()).unwrap();
        assert_eq!(decoder.decode(&input).unwrap(), expected, "{file}");
        // Two messages with a double-CRLF ping between them, as a connection delivers them.
        let mut buffer = input.clone();
        buffer.extend_from_slice(b"\r\n\r\n");
        buffer.extend_from_slice(&input);
        let datagram = decode_datagram(&input, &Limits::default()).unwrap();
        let mut seen = Vec::new();
        let mut offset = 0;
        while offset < buffer.len() {
            match decode_stream(&buffer[offset..], &Limits::default()).unwrap() {
                Some(Framed::Message { message, consumed }) => {
                    assert_eq!(message, datagram, "{file}");
                    seen.push("message");
                    offset += consumed;
                }
                Some(Framed::KeepAlive { consumed, ping }) => {
                    assert!(ping, "{file}");
                    seen.push("ping");
                    offset += consumed;
                }
                None => panic!("{file}: stalled at {offset}"),
            }
        }
        assert_eq!(seen, ["message", "ping", "message"], "{file}");
    }
}

fn variant(error: &SipError) -> String {
    let debug = format!("{error:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn invalid_vectors_are_refused_with_their_error() {
    for case in cases("invalid") {
        let file = case["file"].as_str().unwrap();
        let error = decode_datagram(&bytes(&case), &Limits::default())
            .map(|m| panic!("{file}: decoded as {m:?}"))
            .unwrap_err();
        assert_eq!(
            variant(&error),
            case["error"].as_str().unwrap(),
            "{file}: {error:?}"
        );
        if let Some(debug) = case.get("error_debug") {
            assert_eq!(format!("{error:?}"), debug.as_str().unwrap(), "{file}");
        }
        assert_eq!(
            error.status().map(|(code, _)| u64::from(code)),
            case["status"].as_u64(),
            "{file}"
        );
    }
}

#[test]
fn invalid_vectors_are_answered_only_when_answerable() {
    for case in cases("invalid") {
        let file = case["file"].as_str().unwrap();
        let input = bytes(&case);
        let error = decode_datagram(&input, &Limits::default()).unwrap_err();
        let answer = Response::for_malformed(&input, &error, &Limits::default(), AGENT, "srv1");
        assert_eq!(
            answer.is_some(),
            case["answerable"].as_bool().unwrap(),
            "{file}: {error:?}"
        );
        let Some(answer) = answer else { continue };
        let wire = answer.to_bytes();
        let Message::Response(decoded) = decode_datagram(&wire, &Limits::default()).unwrap() else {
            panic!("{file}: the answer is not a response");
        };
        assert_eq!(
            Some(decoded.status()),
            error.status().map(|(c, _)| c),
            "{file}"
        );
        let warning = decoded.headers().get(&HeaderName::WARNING).unwrap();
        assert!(
            warning.starts_with("399 sip.example.com:5060 \""),
            "{file}: {warning}"
        );
        assert_eq!(
            decoded.headers().to().unwrap().tag(),
            Some("srv1"),
            "{file}"
        );
        assert_eq!(
            decoded.headers().top_via().unwrap().branch(),
            Some("z9hG4bKbad"),
            "{file}"
        );
    }
}

/// An INVITE with `extra` header lines and `body`.
fn invite(extra: &str, body: &str) -> Vec<u8> {
    format!(
        "INVITE sip:+12125551213@example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKlim\r\n\
         Via: SIP/2.0/TCP 198.51.100.1:5060;branch=z9hG4bKlim0;received=198.51.100.9\r\n\
         From: <sip:+12155551212@example.com>;tag=lim\r\n\
         To: <sip:+12125551213@example.com>\r\n\
         Call-ID: lim.1@192.0.2.10\r\n\
         CSeq: 1 INVITE\r\n\
         {extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn limits_are_enforced_with_specific_errors() {
    let defaults = Limits::default();
    let mut small = Limits::default();
    small.max_message_size = 600;
    small.max_headers = 8;
    small.max_header_line = 100;

    let big_body = "x".repeat(700);
    assert_eq!(
        decode_datagram(&invite("", &big_body), &small),
        Err(SipError::TooLarge { limit: 600 })
    );
    let many: String = (0..8).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    assert_eq!(
        decode_datagram(&invite(&many, ""), &small),
        Err(SipError::TooManyHeaders { limit: 8 })
    );
    let long = format!("Subject: {}\r\n", "s".repeat(100));
    let mut lines = Limits::default();
    lines.max_header_line = 100;
    assert_eq!(
        decode_datagram(&invite(&long, ""), &lines),
        Err(SipError::HeaderLineTooLong {
            line: 8,
            limit: 100
        })
    );
    // Folding cannot be used to smuggle a longer line past the limit.
    let folded = format!("Subject: {}\r\n {}\r\n", "s".repeat(60), "t".repeat(60));
    assert!(matches!(
        decode_datagram(&invite(&folded, ""), &lines),
        Err(SipError::HeaderLineTooLong { line: 9, .. })
    ));
    let mut start = Limits::default();
    start.max_start_line = 40;
    assert_eq!(
        decode_datagram(&invite("", ""), &start),
        Err(SipError::StartLineTooLong { limit: 40 })
    );
    let mut content = Limits::default();
    content.max_content_length = 10;
    assert_eq!(
        decode_datagram(&invite("", "0123456789A"), &content),
        Err(SipError::ContentLengthTooLarge {
            length: 11,
            limit: 10
        })
    );
    // The list split counts: one line with many Via values is many headers.
    let mut count = Limits::default();
    count.max_headers = 20;
    let vias = format!("Via: {}\r\n", vec!["SIP/2.0/UDP a"; 20].join(","));
    assert_eq!(
        decode_datagram(&invite(&vias, ""), &count),
        Err(SipError::TooManyHeaders { limit: 20 })
    );
    assert!(decode_datagram(&invite(&many, ""), &defaults).is_ok());
}

#[test]
fn stream_limits_apply_before_the_message_is_complete() {
    let mut small = Limits::default();
    small.max_message_size = 300;
    small.max_header_line = 100;
    small.max_start_line = 60;
    // A header section that never ends is refused once it passes the size limit.
    let mut endless = b"OPTIONS sip:a@example.com SIP/2.0\r\n".to_vec();
    while endless.len() <= 300 {
        endless.extend_from_slice(b"X-Pad: 0123456789\r\n");
    }
    assert_eq!(
        decode_stream(&endless, &small),
        Err(SipError::TooLarge { limit: 300 })
    );
    // An over-long line is refused before its end arrives.
    let mut long = b"OPTIONS sip:a@example.com SIP/2.0\r\nSubject: ".to_vec();
    long.extend_from_slice(&[b's'; 100]);
    assert_eq!(
        decode_stream(&long, &small),
        Err(SipError::HeaderLineTooLong {
            line: 2,
            limit: 100
        })
    );
    assert_eq!(
        decode_stream(&[b'O'; 61], &small),
        Err(SipError::StartLineTooLong { limit: 60 })
    );
    // Content-Length that would take the message past the limit is refused at once.
    let head = invite("", "").len();
    let announce = String::from_utf8(invite("", ""))
        .unwrap()
        .replace("Content-Length: 0", "Content-Length: 60");
    let mut limits = Limits::default();
    limits.max_message_size = head + 50;
    assert_eq!(
        decode_stream(announce.as_bytes(), &limits),
        Err(SipError::TooLarge { limit: head + 50 })
    );
    // A peer speaking LF-only is refused as soon as it is seen.
    assert_eq!(
        decode_stream(b"OPTIONS sip:a@example.com SIP/2.0\nVia", &small),
        Err(SipError::BadLineEnding { offset: 33 })
    );
}

#[test]
fn streams_require_content_length() {
    let text = String::from_utf8(invite("", ""))
        .unwrap()
        .replace("Content-Length: 0\r\n", "");
    assert_eq!(
        decode_stream(text.as_bytes(), &Limits::default()),
        Err(SipError::MissingHeader {
            name: "Content-Length"
        })
    );
    assert!(decode_datagram(text.as_bytes(), &Limits::default()).is_ok());
}

#[test]
fn a_redirect_copies_what_rfc_3261_says() {
    let Message::Request(request) = decode_datagram(
        &invite("Max-Forwards: 70\r\n", "v=0\r\n"),
        &Limits::default(),
    )
    .unwrap() else {
        panic!("not a request");
    };
    let pai = NameAddr::new(
        Uri::parse("sip:+12155551212@example.com;verstat=TN-Validation-Passed").unwrap(),
    )
    .with_display_name("ACME \"Bank\"")
    .unwrap();
    let response = Response::for_request(&request, 302, "Moved Temporarily", "8dk2")
        .unwrap()
        .with_header(HeaderName::CONTACT, &format!("<{}>", request.uri()))
        .unwrap()
        .with_header(HeaderName::P_ASSERTED_IDENTITY, &pai.to_string())
        .unwrap();
    let wire = String::from_utf8(response.to_bytes()).unwrap();
    assert_eq!(
        wire,
        "SIP/2.0 302 Moved Temporarily\r\n\
         Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKlim\r\n\
         Via: SIP/2.0/TCP 198.51.100.1:5060;branch=z9hG4bKlim0;received=198.51.100.9\r\n\
         From: <sip:+12155551212@example.com>;tag=lim\r\n\
         To: <sip:+12125551213@example.com>;tag=8dk2\r\n\
         Call-ID: lim.1@192.0.2.10\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:+12125551213@example.com>\r\n\
         P-Asserted-Identity: \"ACME \\\"Bank\\\"\" <sip:+12155551212@example.com;verstat=TN-Validation-Passed>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let Message::Response(decoded) = decode_datagram(wire.as_bytes(), &Limits::default()).unwrap()
    else {
        panic!("not a response");
    };
    let pai = decoded.headers().p_asserted_identities().unwrap();
    assert_eq!(pai[0].display_name(), Some("ACME \"Bank\""));
    assert_eq!(
        pai[0].uri().params().value("verstat"),
        Some("TN-Validation-Passed")
    );

    // An existing To tag is kept; a 100 gets none.
    let tagged = String::from_utf8(invite("", "")).unwrap().replace(
        "To: <sip:+12125551213@example.com>",
        "To: <sip:+12125551213@example.com>;tag=a",
    );
    let Message::Request(tagged) = decode_datagram(tagged.as_bytes(), &Limits::default()).unwrap()
    else {
        panic!("not a request");
    };
    let ok = Response::for_request(&tagged, 200, "OK", "zzz").unwrap();
    assert_eq!(ok.headers().to().unwrap().tag(), Some("a"));
    let trying = Response::for_request(&request, 100, "Trying", "zzz").unwrap();
    assert_eq!(trying.headers().to().unwrap().tag(), None);

    // Bad inputs from this side are refused, not written.
    assert!(Response::for_request(&request, 302, "Moved\r\nX: y", "t").is_err());
    assert!(Response::for_request(&request, 700, "Odd", "t").is_err());
    assert!(Response::for_request(&request, 302, "Moved", "bad tag").is_err());
}

#[test]
fn errors_name_their_header_in_the_warning() {
    let input = String::from_utf8(invite("", ""))
        .unwrap()
        .replace("CSeq: 1 INVITE", "CSeq: 1 INVITE\r\nMax-Forwards: 999");
    let error = decode_datagram(input.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(
        error,
        SipError::BadHeaderValue {
            name: "Max-Forwards",
            reason: "greater than 255"
        }
    );
    let answer =
        Response::for_malformed(input.as_bytes(), &error, &Limits::default(), AGENT, "t").unwrap();
    assert_eq!(
        answer.headers().get(&HeaderName::WARNING),
        Some("399 sip.example.com:5060 \"malformed Max-Forwards header: greater than 255\"")
    );
    assert_eq!(answer.headers().via().unwrap().len(), 2);
}
