//! Server transactions of a redirect server (RFC 3261 sections 17.2 and 8.3), sans-I/O.
//!
//! A redirect server answers every request with one final response, at once. What it needs
//! of the transaction layer is small: a retransmitted request must get the same response
//! again without the service being asked twice, the ACK to a non-2xx final response must be
//! absorbed, and the state must expire (Timer H/J of 64*T1 on UDP) and stay bounded.
//!
//! Requests are matched as RFC 3261 section 17.2.3 says: by the top Via branch, sent-by and
//! method (an ACK matches its INVITE) when the branch carries the magic cookie `z9hG4bK`;
//! otherwise by the RFC 2543 rules (Request-URI, From tag, Call-ID, CSeq number, top Via
//! and To tag). The clock is a number of milliseconds from any fixed origin, passed in.
//!
//! Not done here: Timer G (retransmitting the final response of an INVITE over UDP). The
//! client retransmits an INVITE until a response reaches it, and each retransmission gets
//! the stored response, so Timer G is only needed by a server that sends a provisional
//! response first; this one does not.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, OnceLock};

use crate::SipError;
use crate::header::via::MAGIC_COOKIE;
use crate::header::{HeaderName, Headers};
use crate::message::decimal;
use crate::method::Method;
use crate::request::Request;
use crate::response::Response;

/// The transport a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// UDP: requests and responses may be lost and are retransmitted.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

impl Transport {
    /// True for transports that deliver every message once (no retransmissions).
    pub fn is_reliable(self) -> bool {
        match self {
            Transport::Udp => false,
            Transport::Tcp | Transport::Tls => true,
        }
    }
}

/// Timer values and capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// T1, the round-trip estimate (RFC 3261: 500 ms). Entries live 64*T1.
    pub t1_ms: u64,
    /// T4, the time a message stays in the network (RFC 3261: 5 s); ACK retransmissions
    /// are absorbed this long on UDP (Timer I).
    pub t4_ms: u64,
    /// The most transactions held; beyond it the entries closest to expiry are dropped.
    pub max_entries: usize,
    /// The most response bytes held (plus a fixed cost per entry); beyond it the entries
    /// closest to expiry are dropped.
    pub max_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            t1_ms: 500,
            t4_ms: 5_000,
            max_entries: 65_536,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What identifies a server transaction.
///
/// Cheap to clone (a reference count) and to hash: the hash is computed once, when the key
/// is made, with a key drawn at random by the process (keys come from untrusted peers).
/// Keys with different hashes compare unequal without reading the fields.
#[derive(Clone)]
pub struct TransactionKey {
    /// A hash of the fields.
    hash: u64,
    inner: Arc<KeyInner>,
}

#[derive(Debug, PartialEq, Eq)]
struct KeyInner {
    transport: Transport,
    /// The request method, with ACK counted as INVITE.
    method: Method,
    id: KeyId,
}

#[derive(Debug, PartialEq, Eq, Hash)]
enum KeyId {
    /// RFC 3261: the branch is unique. `text` is the branch followed by the sent-by.
    Branch { text: Box<str>, branch_len: usize },
    /// RFC 2543: no usable branch; the To tag is compared separately.
    Legacy {
        request_uri: Box<str>,
        from_tag: Option<Box<str>>,
        call_id: Box<str>,
        cseq: u32,
        top_via: Box<str>,
    },
}

/// The process's hash key for transaction keys.
fn key_hasher() -> &'static RandomState {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    STATE.get_or_init(RandomState::new)
}

impl TransactionKey {
    /// The key of the transaction `request` belongs to.
    pub fn for_request(request: &Request, transport: Transport) -> Result<Self, SipError> {
        let method = match request.method() {
            Method::Ack => Method::Invite,
            other => other.clone(),
        };
        Self::with_method(request, transport, method)
    }

    fn with_method(
        request: &Request,
        transport: Transport,
        method: Method,
    ) -> Result<Self, SipError> {
        let headers = request.headers();
        let via = headers.top_via_ref()?;
        let id = match via.branch() {
            Some(branch) if branch.starts_with(MAGIC_COOKIE) => {
                // sent-by as `Via::sent_by` writes it: the host lowercased, the port.
                let host = via.host();
                let mut digits = [0; 20];
                let port = via
                    .port()
                    .map(|p| decimal(usize::from(p), &mut digits))
                    .and_then(|d| std::str::from_utf8(d).ok());
                let len = branch.len() + host.len() + port.map_or(0, |p| p.len() + 1);
                let mut text = String::with_capacity(len);
                text.push_str(branch);
                text.push_str(host);
                if let Some(lower) = text.get_mut(branch.len()..) {
                    lower.make_ascii_lowercase();
                }
                if let Some(port) = port {
                    text.push(':');
                    text.push_str(port);
                }
                KeyId::Branch {
                    text: text.into_boxed_str(),
                    branch_len: branch.len(),
                }
            }
            _ => KeyId::Legacy {
                request_uri: request.uri().as_str().into(),
                from_tag: headers
                    .name_addr_ref(&HeaderName::FROM)?
                    .tag()
                    .map(Into::into),
                call_id: headers.call_id()?.into(),
                cseq: headers.cseq()?.seq(),
                top_via: headers.get(&HeaderName::VIA).unwrap_or_default().into(),
            },
        };
        let hash = key_hasher().hash_one((transport, &method, &id));
        Ok(Self {
            hash,
            inner: Arc::new(KeyInner {
                transport,
                method,
                id,
            }),
        })
    }

    /// The method of the transaction (INVITE for an ACK).
    pub fn method(&self) -> &Method {
        &self.inner.method
    }

    /// True when the key is the RFC 3261 branch, false for the RFC 2543 fallback.
    pub fn is_rfc3261(&self) -> bool {
        matches!(self.inner.id, KeyId::Branch { .. })
    }

    /// Bytes held on the heap by the key, for the memory bound.
    fn heap_len(&self) -> usize {
        let method = match &self.inner.method {
            Method::Extension(e) => e.as_str().len(),
            _ => 0,
        };
        method
            + match &self.inner.id {
                // The branch and the sent-by.
                KeyId::Branch { text, .. } => text.len(),
                KeyId::Legacy {
                    request_uri,
                    from_tag,
                    call_id,
                    top_via,
                    ..
                } => {
                    request_uri.len()
                        + from_tag.as_ref().map_or(0, |t| t.len())
                        + call_id.len()
                        + top_via.len()
                }
            }
    }
}

impl PartialEq for TransactionKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.inner, &other.inner) || self.inner == other.inner)
    }
}

impl Eq for TransactionKey {}

impl Hash for TransactionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl fmt::Debug for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TransactionKey");
        d.field("transport", &self.inner.transport)
            .field("method", &self.inner.method);
        match &self.inner.id {
            KeyId::Branch { text, branch_len } => {
                let (branch, sent_by) = text.split_at_checked(*branch_len).unwrap_or_default();
                d.field("branch", &branch).field("sent_by", &sent_by);
            }
            KeyId::Legacy {
                request_uri,
                from_tag,
                call_id,
                cseq,
                top_via,
            } => {
                d.field("request_uri", request_uri)
                    .field("from_tag", from_tag)
                    .field("call_id", call_id)
                    .field("cseq", cseq)
                    .field("top_via", top_via);
            }
        }
        d.finish()
    }
}

/// Hands on the hash a [`TransactionKey`] carries: the table does not hash keys again.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `TransactionKey`; anything else is still mixed in.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(32) ^ n;
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new transaction: ask the service, then pass its response to
    /// [`RedirectTransactions::record`] with this key and send what it returns.
    New(TransactionKey),
    /// A retransmission: send these bytes (the response already sent) again.
    Retransmit(Arc<[u8]>),
    /// Send nothing: an ACK, or a retransmission while the service is still working, or a
    /// retransmitted INVITE after its ACK.
    Absorb,
}

#[derive(Debug, Clone)]
enum State {
    /// The service has not answered yet.
    Trying,
    /// A provisional response was sent.
    Proceeding(Arc<[u8]>),
    /// A final response was sent; `ack_expected` for a non-2xx answer to an INVITE.
    Completed {
        response: Arc<[u8]>,
        ack_expected: bool,
    },
    /// An INVITE's non-2xx response was acknowledged.
    Confirmed,
}

#[derive(Debug, Clone)]
struct Entry {
    state: State,
    request_to_tag: Option<Box<str>>,
    response_to_tag: Option<Box<str>>,
    deadline: u64,
    seq: u64,
    size: usize,
}

/// A fixed cost per entry for the memory bound: the map slots, the index and the entry.
const ENTRY_OVERHEAD: usize = 256;

/// The server transactions of a redirect server.
///
/// ```
/// use sip::transaction::{Action, RedirectTransactions, Transport};
/// use sip::{Limits, Response, decode_datagram};
///
/// let invite = b"INVITE sip:+12125551213@example.com SIP/2.0\r\n\
///     Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK74bf9\r\n\
///     From: <sip:+12155551212@example.com>;tag=9fxced76sl\r\n\
///     To: <sip:+12125551213@example.com>\r\nCall-ID: 3848276298220188511@192.0.2.10\r\n\
///     CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
/// let request = decode_datagram(invite, &Limits::default()).unwrap();
/// let request = request.as_request().unwrap();
///
/// let mut transactions = RedirectTransactions::default();
/// let Action::New(key) = transactions.on_request(request, Transport::Udp, 0).unwrap() else {
///     panic!("a first INVITE is new");
/// };
/// let response = Response::for_request(request, 302, "Moved Temporarily", "a6c85cf").unwrap();
/// let sent = transactions.record(&key, &response, 10);
///
/// // The retransmission gets the same bytes, without asking the service again.
/// let again = transactions.on_request(request, Transport::Udp, 500).unwrap();
/// assert_eq!(again, Action::Retransmit(sent));
/// ```
#[derive(Debug, Default)]
pub struct RedirectTransactions {
    config: Config,
    entries: HashMap<TransactionKey, Entry, BuildHasherDefault<KeyHasher>>,
    /// (deadline, seq) -> key: expiry order, and the eviction order under pressure.
    deadlines: BTreeMap<(u64, u64), TransactionKey>,
    next_seq: u64,
    bytes: usize,
}

/// The To tag of a request or response, for a key under RFC 2543 rules (the only ones
/// that compare To tags).
fn to_tag(key: &TransactionKey, headers: &Headers) -> Option<Box<str>> {
    if key.is_rfc3261() {
        return None;
    }
    headers
        .name_addr_ref(&HeaderName::TO)
        .ok()?
        .tag()
        .map(Into::into)
}

impl RedirectTransactions {
    /// An empty table with `config`.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The number of transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no transaction is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The memory accounted for the bound: response bytes plus a fixed cost per entry.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// When the next entry expires; call [`RedirectTransactions::expire`] then (expiry also
    /// happens on every call that takes `now_ms`).
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.keys().next().map(|&(deadline, _)| deadline)
    }

    fn lifetime(&self) -> u64 {
        self.config.t1_ms.saturating_mul(64)
    }

    /// Classifies a request.
    ///
    /// Errors only when the request lacks what identifies a transaction (a top Via, and for
    /// the RFC 2543 fallback From, Call-ID and CSeq); a decoded request always has it.
    pub fn on_request(
        &mut self,
        request: &Request,
        transport: Transport,
        now_ms: u64,
    ) -> Result<Action, SipError> {
        self.expire(now_ms);
        let key = TransactionKey::for_request(request, transport)?;
        let request_to_tag = to_tag(&key, request.headers());
        if request.method() == &Method::Ack {
            self.on_ack(&key, request_to_tag, transport, now_ms);
            return Ok(Action::Absorb);
        }
        if let Some(entry) = self.entries.get(&key) {
            // Under RFC 2543 rules an INVITE with another To tag is another transaction.
            let same = key.is_rfc3261() || entry.request_to_tag == request_to_tag;
            if same {
                return Ok(match &entry.state {
                    State::Trying | State::Confirmed => Action::Absorb,
                    State::Proceeding(response) | State::Completed { response, .. } => {
                        Action::Retransmit(Arc::clone(response))
                    }
                });
            }
        }
        let seq = self.next_seq();
        let size = ENTRY_OVERHEAD + key.heap_len();
        self.insert(
            key.clone(),
            Entry {
                state: State::Trying,
                request_to_tag,
                response_to_tag: None,
                deadline: now_ms.saturating_add(self.lifetime()),
                seq,
                size,
            },
        );
        Ok(Action::New(key))
    }

    fn on_ack(
        &mut self,
        key: &TransactionKey,
        ack_to_tag: Option<Box<str>>,
        transport: Transport,
        now_ms: u64,
    ) {
        let Some(entry) = self.entries.get(key) else {
            return;
        };
        let State::Completed {
            ack_expected: true, ..
        } = entry.state
        else {
            return;
        };
        // Under RFC 2543 rules the ACK's To tag is the one the response added.
        if !key.is_rfc3261() && entry.response_to_tag != ack_to_tag {
            return;
        }
        let Some(mut entry) = self.remove(key) else {
            return;
        };
        if transport.is_reliable() {
            return;
        }
        // Timer I: absorb retransmitted ACKs (and INVITEs) for T4, then forget.
        entry.state = State::Confirmed;
        entry.deadline = now_ms.saturating_add(self.config.t4_ms);
        entry.size = ENTRY_OVERHEAD + key.heap_len();
        self.insert(key.clone(), entry);
    }

    /// Records the response the service gave for a [`Action::New`] transaction and returns
    /// the bytes to send, which retransmissions of the request will get too.
    ///
    /// A provisional (1xx) response is kept until a final one is recorded. A final response
    /// is kept 64*T1: for an INVITE until its ACK (Timer H), for other methods to answer
    /// retransmissions (Timer J; nothing is kept for them on TCP and TLS).
    pub fn record(&mut self, key: &TransactionKey, response: &Response, now_ms: u64) -> Arc<[u8]> {
        self.expire(now_ms);
        let bytes: Arc<[u8]> = Arc::from(response.to_bytes());
        let is_invite = key.inner.method == Method::Invite;
        if response.is_final() && !is_invite && key.inner.transport.is_reliable() {
            self.remove(key);
            return bytes;
        }
        let state = if response.is_final() {
            State::Completed {
                response: Arc::clone(&bytes),
                ack_expected: is_invite && response.status() >= 300,
            }
        } else {
            State::Proceeding(Arc::clone(&bytes))
        };
        let response_to_tag = to_tag(key, response.headers());
        let deadline = now_ms.saturating_add(self.lifetime());
        let size = ENTRY_OVERHEAD + key.heap_len() + bytes.len();
        if let Some(entry) = self.entries.get_mut(key) {
            // The transaction moves on in place: same key, same sequence number, a new
            // state and deadline.
            let old = (entry.deadline, entry.seq);
            self.bytes = self.bytes.saturating_sub(entry.size).saturating_add(size);
            entry.state = state;
            entry.response_to_tag = response_to_tag;
            entry.deadline = deadline;
            entry.size = size;
            let new = (deadline, entry.seq);
            let stored = self.deadlines.remove(&old).unwrap_or_else(|| key.clone());
            self.deadlines.insert(new, stored);
            self.evict();
        } else {
            let seq = self.next_seq();
            self.insert(
                key.clone(),
                Entry {
                    state,
                    request_to_tag: None,
                    response_to_tag,
                    deadline,
                    seq,
                    size,
                },
            );
        }
        bytes
    }

    /// True when `cancel` (a CANCEL) matches an INVITE transaction held here (RFC 3261
    /// section 9.2): a redirect server answers such a CANCEL with 200, any other with 481.
    pub fn has_invite_for(&self, cancel: &Request, transport: Transport) -> bool {
        TransactionKey::with_method(cancel, transport, Method::Invite)
            .is_ok_and(|key| self.entries.contains_key(&key))
    }

    /// Drops every entry whose time is up, returning how many were dropped.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        let mut dropped = 0;
        while let Some(entry) = self.deadlines.first_entry() {
            if entry.key().0 > now_ms {
                break;
            }
            let key = entry.remove();
            if let Some(e) = self.entries.remove(&key) {
                self.bytes = self.bytes.saturating_sub(e.size);
                dropped += 1;
            }
        }
        dropped
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq = self.next_seq.wrapping_add(1);
        self.next_seq
    }

    fn remove(&mut self, key: &TransactionKey) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.deadlines.remove(&(entry.deadline, entry.seq));
        self.bytes = self.bytes.saturating_sub(entry.size);
        Some(entry)
    }

    fn insert(&mut self, key: TransactionKey, entry: Entry) {
        self.remove(&key);
        self.deadlines
            .insert((entry.deadline, entry.seq), key.clone());
        self.bytes = self.bytes.saturating_add(entry.size);
        self.entries.insert(key, entry);
        self.evict();
    }

    /// Under pressure, drops the entries closest to expiry: they are the oldest and the
    /// least likely to see a retransmission.
    fn evict(&mut self) {
        while self.entries.len() > self.config.max_entries || self.bytes > self.config.max_bytes {
            let Some((_, oldest)) = self.deadlines.pop_first() else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.bytes = self.bytes.saturating_sub(e.size);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, decode_datagram};

    fn request(method: &str, branch: &str, to_tag: &str) -> Request {
        let text = format!(
            "{method} sip:+12125551213@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.10:5060;branch={branch}\r\n\
             From: <sip:+12155551212@example.com>;tag=abc\r\n\
             To: <sip:+12125551213@example.com>{to_tag}\r\n\
             Call-ID: call-1@192.0.2.10\r\n\
             CSeq: 7 {method}\r\n\
             Content-Length: 0\r\n\r\n"
        );
        decode_datagram(text.as_bytes(), &Limits::default())
            .unwrap()
            .as_request()
            .unwrap()
            .clone()
    }

    fn new_key(t: &mut RedirectTransactions, r: &Request, now: u64) -> TransactionKey {
        match t.on_request(r, Transport::Udp, now).unwrap() {
            Action::New(key) => key,
            other => panic!("expected New, got {other:?}"),
        }
    }

    #[test]
    fn ack_key_matches_invite_key() {
        let invite = request("INVITE", "z9hG4bK1", "");
        let ack = request("ACK", "z9hG4bK1", ";tag=srv");
        let cancel = request("CANCEL", "z9hG4bK1", "");
        let k = |r: &Request| TransactionKey::for_request(r, Transport::Udp).unwrap();
        assert_eq!(k(&invite), k(&ack));
        assert_ne!(k(&invite), k(&cancel));
        assert!(k(&invite).is_rfc3261());
        assert!(!k(&request("INVITE", "1", "")).is_rfc3261());
        assert_ne!(
            k(&invite),
            TransactionKey::for_request(&invite, Transport::Tcp).unwrap()
        );
    }

    #[test]
    fn retransmission_while_trying_is_absorbed() {
        let mut t = RedirectTransactions::default();
        let invite = request("INVITE", "z9hG4bK1", "");
        new_key(&mut t, &invite, 0);
        assert_eq!(
            t.on_request(&invite, Transport::Udp, 500).unwrap(),
            Action::Absorb
        );
    }

    #[test]
    fn provisional_then_final() {
        let mut t = RedirectTransactions::default();
        let invite = request("INVITE", "z9hG4bK1", "");
        let key = new_key(&mut t, &invite, 0);
        let trying = Response::for_request(&invite, 100, "Trying", "x").unwrap();
        let sent = t.record(&key, &trying, 1);
        assert_eq!(
            t.on_request(&invite, Transport::Udp, 2).unwrap(),
            Action::Retransmit(sent)
        );
        let moved = Response::for_request(&invite, 302, "Moved Temporarily", "x").unwrap();
        let sent = t.record(&key, &moved, 3);
        assert_eq!(
            t.on_request(&invite, Transport::Udp, 4).unwrap(),
            Action::Retransmit(sent)
        );
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn cancel_finds_its_invite() {
        let mut t = RedirectTransactions::default();
        let invite = request("INVITE", "z9hG4bK1", "");
        new_key(&mut t, &invite, 0);
        assert!(t.has_invite_for(&request("CANCEL", "z9hG4bK1", ""), Transport::Udp));
        assert!(!t.has_invite_for(&request("CANCEL", "z9hG4bK2", ""), Transport::Udp));
    }

    #[test]
    fn keys_hash_and_compare_by_their_fields() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |k: &TransactionKey| {
            let mut h = DefaultHasher::new();
            k.hash(&mut h);
            h.finish()
        };
        let a = TransactionKey::for_request(&request("INVITE", "z9hG4bK1", ""), Transport::Udp)
            .unwrap();
        let b = TransactionKey::for_request(&request("ACK", "z9hG4bK1", ";tag=x"), Transport::Udp)
            .unwrap();
        assert!(!Arc::ptr_eq(&a.inner, &b.inner));
        assert_eq!(a, b);
        assert_eq!(hash(&a), hash(&b));
        assert_eq!(a.heap_len(), "z9hG4bK1".len() + "192.0.2.10:5060".len());
        let debug = format!("{a:?}");
        assert!(
            debug.contains("z9hG4bK1") && debug.contains("192.0.2.10:5060"),
            "{debug}"
        );
    }

    #[test]
    fn a_recorded_response_keeps_its_place_in_the_expiry_order() {
        let mut t = RedirectTransactions::default();
        let first = request("INVITE", "z9hG4bK1", "");
        let second = request("INVITE", "z9hG4bK2", "");
        let k1 = new_key(&mut t, &first, 0);
        let k2 = new_key(&mut t, &second, 10);
        let moved = Response::for_request(&first, 302, "Moved Temporarily", "x").unwrap();
        let sent = t.record(&k1, &moved, 20);
        assert_eq!(t.deadlines.len(), 2);
        assert_eq!(
            t.bytes(),
            2 * ENTRY_OVERHEAD + k1.heap_len() + k2.heap_len() + sent.len()
        );
        // The second transaction, still trying, now expires first.
        assert_eq!(t.next_deadline(), Some(10 + 32_000));
        assert_eq!(t.expire(10 + 32_000), 1);
        assert_eq!(
            t.on_request(&first, Transport::Udp, 10 + 32_000).unwrap(),
            Action::Retransmit(sent)
        );
        assert_eq!(t.expire(20 + 32_000), 1);
        assert_eq!(t.bytes(), 0);
    }

    #[test]
    fn deadlines_and_bytes_stay_consistent() {
        let mut t = RedirectTransactions::default();
        for i in 0..10 {
            let r = request("OPTIONS", &format!("z9hG4bK{i}"), "");
            let key = new_key(&mut t, &r, i);
            t.record(&key, &Response::for_request(&r, 200, "OK", "t").unwrap(), i);
        }
        assert_eq!(t.len(), 10);
        assert_eq!(t.deadlines.len(), 10);
        assert_eq!(t.next_deadline(), Some(32_000));
        assert_eq!(t.expire(32_004), 5);
        assert_eq!(t.len(), 5);
        assert_eq!(t.expire(u64::MAX), 5);
        assert_eq!(t.bytes(), 0);
    }
}
