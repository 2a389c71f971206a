//! The redirect server's transaction table (RFC 3261 section 17.2): retransmissions get
//! the same bytes, ACKs are absorbed, entries expire and memory stays bounded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use sip::transaction::{Action, Config, RedirectTransactions, TransactionKey, Transport};
use sip::{Limits, Message, Request, Response, decode_datagram};

const T1: u64 = 500;
const TIMER_H: u64 = 64 * T1;

struct Req<'a> {
    method: &'a str,
    branch: &'a str,
    sent_by: &'a str,
    from_tag: &'a str,
    to_tag: &'a str,
    cseq: u32,
}

impl Default for Req<'_> {
    fn default() -> Self {
        Self {
            method: "INVITE",
            branch: "z9hG4bK-1",
            sent_by: "192.0.2.10:5060",
            from_tag: ";tag=f1",
            to_tag: "",
            cseq: 1,
        }
    }
}

impl Req<'_> {
    fn build(&self) -> Request {
        let cseq_method = self.method;
        let text = format!(
            "{} sip:+12125551213@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP {};branch={}\r\n\
             From: <sip:+12155551212@example.com>{}\r\n\
             To: <sip:+12125551213@example.com>{}\r\n\
             Call-ID: tx-1@192.0.2.10\r\n\
             CSeq: {} {cseq_method}\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n",
            self.method, self.sent_by, self.branch, self.from_tag, self.to_tag, self.cseq
        );
        match decode_datagram(text.as_bytes(), &Limits::default()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => panic!("not a request"),
        }
    }
}

fn invite() -> Request {
    Req::default().build()
}

fn ack(to_tag: &str) -> Request {
    Req {
        method: "ACK",
        to_tag,
        ..Req::default()
    }
    .build()
}

/// Runs the service for a New action: a 302 with the To tag `srv`.
fn answer(t: &mut RedirectTransactions, req: &Request, action: Action, now: u64) -> Vec<u8> {
    let Action::New(key) = action else {
        panic!("expected a new transaction, got {action:?}");
    };
    let response = Response::for_request(req, 302, "Moved Temporarily", "srv").unwrap();
    t.record(&key, &response, now).to_vec()
}

fn on(t: &mut RedirectTransactions, req: &Request, now: u64) -> Action {
    t.on_request(req, Transport::Udp, now).unwrap()
}

#[test]
fn a_retransmitted_invite_gets_the_same_bytes_and_the_service_is_not_called_again() {
    let mut t = RedirectTransactions::default();
    let req = invite();
    let first = on(&mut t, &req, 0);
    let sent = answer(&mut t, &req, first, 5);
    for now in [500, 1_500, 3_500, 7_500, 15_500, 31_000] {
        match on(&mut t, &req, now) {
            Action::Retransmit(bytes) => assert_eq!(&bytes[..], &sent[..], "at {now} ms"),
            other => panic!("at {now} ms: {other:?}"),
        }
    }
    assert_eq!(t.len(), 1);
}

#[test]
fn the_ack_to_a_redirect_is_absorbed_and_ends_the_transaction() {
    let mut t = RedirectTransactions::default();
    let req = invite();
    let first = on(&mut t, &req, 0);
    answer(&mut t, &req, first, 5);
    assert_eq!(on(&mut t, &ack(";tag=srv"), 100), Action::Absorb);
    // Confirmed: a late INVITE retransmission and ACK retransmissions are absorbed (Timer I).
    assert_eq!(on(&mut t, &req, 200), Action::Absorb);
    assert_eq!(on(&mut t, &ack(";tag=srv"), 300), Action::Absorb);
    // After T4 the transaction is gone.
    assert_eq!(t.expire(100 + 5_000), 1);
    assert!(t.is_empty());
    assert!(matches!(on(&mut t, &req, 5_200), Action::New(_)));
}

#[test]
fn over_tcp_the_ack_removes_the_transaction_at_once() {
    let mut t = RedirectTransactions::default();
    let req = invite();
    let Action::New(key) = t.on_request(&req, Transport::Tcp, 0).unwrap() else {
        panic!("expected New");
    };
    let response = Response::for_request(&req, 403, "Forbidden", "srv").unwrap();
    t.record(&key, &response, 1);
    assert_eq!(t.len(), 1, "an INVITE over TCP still waits for its ACK");
    assert_eq!(
        t.on_request(&ack(";tag=srv"), Transport::Tcp, 2).unwrap(),
        Action::Absorb
    );
    assert!(t.is_empty());
}

#[test]
fn an_ack_without_a_transaction_is_absorbed() {
    let mut t = RedirectTransactions::default();
    assert_eq!(on(&mut t, &ack(";tag=x"), 0), Action::Absorb);
    assert!(t.is_empty());
}

#[test]
fn an_ack_to_a_2xx_does_not_confirm() {
    let mut t = RedirectTransactions::default();
    let req = invite();
    let Action::New(key) = on(&mut t, &req, 0) else {
        panic!("expected New");
    };
    let ok = Response::for_request(&req, 200, "OK", "srv").unwrap();
    let sent = t.record(&key, &ok, 1);
    assert_eq!(on(&mut t, &ack(";tag=srv"), 2), Action::Absorb);
    assert_eq!(on(&mut t, &req, 3), Action::Retransmit(sent));
}

#[test]
fn entries_expire_after_64_t1() {
    let mut t = RedirectTransactions::default();
    let req = invite();
    let first = on(&mut t, &req, 1_000);
    answer(&mut t, &req, first, 1_000);
    assert_eq!(t.next_deadline(), Some(1_000 + TIMER_H));
    assert!(matches!(
        on(&mut t, &req, 1_000 + TIMER_H - 1),
        Action::Retransmit(_)
    ));
    assert!(matches!(on(&mut t, &req, 1_000 + TIMER_H), Action::New(_)));
    assert_eq!(t.len(), 1, "only the new transaction is left");
}

#[test]
fn a_transaction_the_service_never_answered_expires_too() {
    let mut t = RedirectTransactions::default();
    let req = invite();
    assert!(matches!(on(&mut t, &req, 0), Action::New(_)));
    assert_eq!(on(&mut t, &req, 500), Action::Absorb);
    assert!(matches!(on(&mut t, &req, TIMER_H), Action::New(_)));
}

#[test]
fn non_invite_responses_over_tcp_are_not_kept() {
    let mut t = RedirectTransactions::default();
    let options = Req {
        method: "OPTIONS",
        ..Req::default()
    }
    .build();
    let Action::New(key) = t.on_request(&options, Transport::Tcp, 0).unwrap() else {
        panic!("expected New");
    };
    let ok = Response::for_request(&options, 200, "OK", "srv").unwrap();
    let sent = t.record(&key, &ok, 1);
    assert_eq!(&sent[..], &ok.to_bytes()[..]);
    assert!(t.is_empty());
}

#[test]
fn options_over_udp_are_answered_again_until_timer_j() {
    let mut t = RedirectTransactions::default();
    let options = Req {
        method: "OPTIONS",
        ..Req::default()
    }
    .build();
    let Action::New(key) = on(&mut t, &options, 0) else {
        panic!("expected New");
    };
    let ok = Response::for_request(&options, 200, "OK", "srv").unwrap();
    let sent = t.record(&key, &ok, 0);
    assert_eq!(on(&mut t, &options, 1_000), Action::Retransmit(sent));
    assert_eq!(t.expire(TIMER_H), 1);
}

#[test]
fn requests_differing_in_branch_sent_by_or_method_are_different_transactions() {
    let mut t = RedirectTransactions::default();
    let variants = [
        Req::default(),
        Req {
            branch: "z9hG4bK-2",
            ..Req::default()
        },
        Req {
            sent_by: "192.0.2.11:5060",
            ..Req::default()
        },
        Req {
            method: "OPTIONS",
            ..Req::default()
        },
        Req {
            method: "CANCEL",
            ..Req::default()
        },
    ];
    for (i, v) in variants.iter().enumerate() {
        assert!(
            matches!(on(&mut t, &v.build(), 0), Action::New(_)),
            "variant {i}"
        );
    }
    assert_eq!(t.len(), variants.len());
    // The same branch and sent-by, however the rest differs, is the same transaction.
    let same = Req {
        from_tag: ";tag=other",
        cseq: 99,
        ..Req::default()
    };
    assert_eq!(on(&mut t, &same.build(), 1), Action::Absorb);
}

#[test]
fn a_cancel_finds_its_invite() {
    let mut t = RedirectTransactions::default();
    let req = invite();
    let first = on(&mut t, &req, 0);
    answer(&mut t, &req, first, 1);
    let cancel = Req {
        method: "CANCEL",
        ..Req::default()
    }
    .build();
    assert!(t.has_invite_for(&cancel, Transport::Udp));
    assert!(!t.has_invite_for(&cancel, Transport::Tcp));
    let other = Req {
        method: "CANCEL",
        branch: "z9hG4bK-9",
        ..Req::default()
    }
    .build();
    assert!(!t.has_invite_for(&other, Transport::Udp));
}

#[test]
fn rfc_2543_requests_are_matched_by_their_fields() {
    let legacy = |method, to_tag, from_tag| {
        Req {
            method,
            branch: "7f3a",
            to_tag,
            from_tag,
            ..Req::default()
        }
        .build()
    };
    let req = legacy("INVITE", "", ";tag=f1");
    let key = TransactionKey::for_request(&req, Transport::Udp).unwrap();
    assert!(!key.is_rfc3261());
    let mut t = RedirectTransactions::default();
    let first = on(&mut t, &req, 0);
    let sent = answer(&mut t, &req, first, 1);
    assert_eq!(on(&mut t, &req, 2), Action::Retransmit(sent.into()));
    // Another From tag is another call.
    assert!(matches!(
        on(&mut t, &legacy("INVITE", "", ";tag=f2"), 3),
        Action::New(_)
    ));
    // An ACK must carry the To tag of the response to match.
    assert_eq!(
        on(&mut t, &legacy("ACK", ";tag=nope", ";tag=f1"), 4),
        Action::Absorb
    );
    assert!(matches!(on(&mut t, &req, 5), Action::Retransmit(_)));
    assert_eq!(
        on(&mut t, &legacy("ACK", ";tag=srv", ";tag=f1"), 6),
        Action::Absorb
    );
    assert_eq!(on(&mut t, &req, 7), Action::Absorb, "confirmed by the ACK");
}

#[test]
fn capacity_evicts_the_oldest_entries() {
    let mut config = Config::default();
    config.max_entries = 100;
    let mut t = RedirectTransactions::new(config);
    let branch = |i: u64| format!("z9hG4bK-cap-{i}");
    for i in 0..1_000u64 {
        let b = branch(i);
        let req = Req {
            branch: &b,
            ..Req::default()
        }
        .build();
        let first = on(&mut t, &req, i);
        answer(&mut t, &req, first, i);
        assert!(t.len() <= 100);
    }
    assert_eq!(t.len(), 100);
    let b = branch(999);
    let newest = Req {
        branch: &b,
        ..Req::default()
    }
    .build();
    assert!(matches!(on(&mut t, &newest, 1_000), Action::Retransmit(_)));
    let b = branch(0);
    let oldest = Req {
        branch: &b,
        ..Req::default()
    }
    .build();
    assert!(matches!(on(&mut t, &oldest, 1_000), Action::New(_)));
}

#[test]
fn memory_is_bounded_by_bytes_too() {
    let mut config = Config::default();
    config.max_bytes = 64 * 1024;
    let mut t = RedirectTransactions::new(config);
    for i in 0..2_000u64 {
        let b = format!("z9hG4bK-bytes-{i}");
        let req = Req {
            branch: &b,
            ..Req::default()
        }
        .build();
        let Action::New(key) = on(&mut t, &req, i) else {
            panic!("expected New");
        };
        let identity = format!(
            "{}.{}.{};info=<https://x.example/c.pem>",
            "a".repeat(400),
            "b".repeat(300),
            "c".repeat(86)
        );
        let response = Response::for_request(&req, 302, "Moved Temporarily", "srv")
            .unwrap()
            .with_header(sip::header::HeaderName::IDENTITY, &identity)
            .unwrap();
        t.record(&key, &response, i);
        assert!(t.bytes() <= 64 * 1024, "{} bytes held", t.bytes());
    }
    assert!(t.len() > 10, "the bound keeps a useful number of entries");
    let held = t.len();
    assert_eq!(t.expire(u64::MAX), held);
    assert_eq!(t.bytes(), 0);
}
