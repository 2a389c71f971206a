//! The SIP redirect services: the STI-AS (signing) and the STI-VS (verification) answering
//! INVITEs with `302 Moved Temporarily`, over UDP and TCP on one address each.
//!
//! This module is the I/O around two sans-I/O layers: the `sip` crate frames and parses
//! messages and keeps the server transactions (retransmissions, ACKs), and `engine` signs
//! and verifies. It is not a proxy and keeps no dialogs.
//!
//! - **Framing.** A UDP datagram is one message, read into a buffer of
//!   `max_message_bytes + 1` bytes, so a larger datagram is seen as such and refused with
//!   513. A TCP connection keeps a [`sip::StreamDecoder`] over a read buffer that never
//!   holds more than one message plus one read; double-CRLF keep-alives get a CRLF pong.
//!   A message that cannot be decoded is answered with [`Response::for_malformed`] when it
//!   can be (400, 505, 513 with a `Warning`) and dropped otherwise; on TCP the connection
//!   is then closed, since the stream cannot be resynchronised.
//! - **Transactions.** Each service holds one [`RedirectTransactions`] table for both
//!   transports. A retransmitted request gets the bytes already sent, an ACK is absorbed,
//!   and a timer expires entries. No provisional response is ever sent (Timer G is not
//!   implemented, so a 100 Trying over UDP would leave the client waiting).
//! - **Backpressure.** A new transaction holds one of [`MAX_IN_FLIGHT`] permits while it
//!   is worked on. Over UDP its work starts in the receive loop, which takes datagrams in
//!   batches and sends a batch's answers together; work that has to wait (an x5u fetch,
//!   a Redis round trip) goes on in a task of its own, so it never stalls the loop. On
//!   UDP, a request that finds no permit is answered `503 Service Unavailable` with
//!   `Retry-After`; on TCP, reading waits for a permit (the
//!   peer is slowed by TCP flow control). TCP connections are limited by
//!   `max_tcp_connections` (a permit before accept) and closed after
//!   `tcp_idle_timeout_ms` without data; writes are bounded by the same time.
//! - **Where responses go.** On TCP, back on the connection. On UDP, to the source address
//!   and port of the datagram, always: that is RFC 3581 (`rport`) behaviour, which RFC 3261
//!   section 18.2.2 would use only with `rport`, sending otherwise to the `received` address
//!   at the Via's sent-by port. Answering the source instead works through NAT, answers the
//!   socket that asked (SIPp and SBCs send from their listening port), and means a Via
//!   cannot direct this service's responses at a third party. The top Via of each response
//!   carries `received` (when the sent-by host is not the source address) and, when the
//!   client asked with `rport`, `rport=<source port>`.
//! - **Shutdown.** On the node's cancellation token the loops stop receiving and accepting,
//!   requests in progress get [`SHUTDOWN_GRACE`] to be answered, then everything is dropped.
//!
//! ```no_run
//! # async fn demo(state: std::sync::Arc<server::rest::AppState>) -> std::io::Result<()> {
//! use server::sip_service::{Role, SipListener};
//! let listener = SipListener::bind(Role::Signing, "127.0.0.1:5060".parse().unwrap()).await?;
//! let stop = tokio_util::sync::CancellationToken::new();
//! tokio::spawn(listener.serve(state, stop.clone()));
//! # Ok(()) }
//! ```

mod signing;
mod tcp;
mod udp;
mod verification;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use passport::SignError;
use sip::header::{HeaderName, Rport, Via};
use sip::transaction::{Action, RedirectTransactions, TransactionKey, Transport};
use sip::{Limits, Method, Request, Response, SipError};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::rest::AppState;

/// Requests a service works on at once (per service, both transports together).
pub const MAX_IN_FLIGHT: usize = 1_024;

/// How long requests in progress may take to be answered once shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Longest time a request's work may take (RFC 3261 Timer B, 64*T1).
const WORK_LIMIT: Duration = Duration::from_secs(32);

/// How often expired transactions are dropped.
const EXPIRY_PERIOD: Duration = Duration::from_secs(1);

/// What the services allow.
const ALLOW: &str = "INVITE, ACK, CANCEL, OPTIONS";

/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_SECS: &str = "5";

/// Which service a listener runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The STI-AS: signs the calling number of an INVITE.
    Signing,
    /// The STI-VS: verifies the Identity headers of an INVITE.
    Verification,
}

impl Role {
    /// The name used in logs and metrics: `signing` or `verification`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Signing => "signing",
            Role::Verification => "verification",
        }
    }
}

/// Why a service refused a request it could decode. [`SipServiceError::status`] is the one
/// place where these become SIP status codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SipServiceError {
    /// A diverted call whose diverting number is not the calling customer's.
    #[error(
        "the diverting number {number} is not this customer's: no div PASSporT is signed for it"
    )]
    DiversionNotOwned {
        /// The number the call was diverted from.
        number: passport::TelephoneNumber,
    },
    /// A service was called from an address on no customer's trunk.
    #[error("source address {addr} is not on any customer trunk")]
    UnknownSource {
        /// The source address.
        addr: IpAddr,
    },
    /// A header the service needs is malformed or does not hold a telephone number.
    #[error("{source}")]
    BadRequest {
        /// What the codec found.
        source: SipError,
    },
    /// Neither To nor the Request-URI holds a telephone number.
    #[error("no called telephone number in To or the Request-URI: {source}")]
    NoDestination {
        /// Why the Request-URI was refused (the last one tried).
        source: SipError,
    },
    /// A diverted call (Identity plus Diversion or History-Info) names no diverting number
    /// in its PASSporTs, its Diversion or its History-Info.
    #[error(
        "diverted call: no diverting telephone number in the Identity, Diversion or History-Info headers"
    )]
    UnknownDiversion,
    /// The request requires SIP extensions this service does not support.
    #[error("unsupported extension(s) required: {required}")]
    BadExtension {
        /// The option tags of `Require`, comma-separated.
        required: String,
    },
    /// Brand policy refused to sign the call.
    #[error("{0}")]
    Refused(engine::brand::BrandRefusal),
    /// Every permit is taken: the service is overloaded.
    #[error("too many requests in progress")]
    Overloaded,
    /// Signing failed (a fault on this side).
    #[error("signing failed: {0}")]
    Sign(#[from] SignError),
    /// Signing failed (a fault on this side).
    #[error("signing failed: {0}")]
    Signing(engine::signing::SigningError),
    /// The response could not be built (a fault on this side).
    #[error("cannot build the response: {0}")]
    Build(#[from] SipError),
}

impl From<engine::signing::SigningError> for SipServiceError {
    fn from(e: engine::signing::SigningError) -> Self {
        match e {
            engine::signing::SigningError::Refused(r) => Self::Refused(r),
            other => Self::Signing(other),
        }
    }
}

impl SipServiceError {
    /// The status code and reason phrase that answer the request.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            SipServiceError::UnknownSource { .. }
            | SipServiceError::DiversionNotOwned { .. }
            | SipServiceError::Refused(_) => (403, "Forbidden"),
            SipServiceError::BadRequest { .. } | SipServiceError::UnknownDiversion => {
                (400, "Bad Request")
            }
            SipServiceError::NoDestination { .. } => (484, "Address Incomplete"),
            SipServiceError::BadExtension { .. } => (420, "Bad Extension"),
            SipServiceError::Overloaded => (503, "Service Unavailable"),
            SipServiceError::Sign(_) | SipServiceError::Signing(_) | SipServiceError::Build(_) => {
                (500, "Server Internal Error")
            }
        }
    }

    /// True when the caller can fix it: the answer then explains it in a `Warning`.
    /// Faults on this side are logged instead and answered without details.
    pub fn is_caller_fault(&self) -> bool {
        match self {
            SipServiceError::UnknownSource { .. }
            | SipServiceError::DiversionNotOwned { .. }
            | SipServiceError::Refused(_)
            | SipServiceError::BadRequest { .. }
            | SipServiceError::NoDestination { .. }
            | SipServiceError::UnknownDiversion
            | SipServiceError::BadExtension { .. } => true,
            SipServiceError::Overloaded
            | SipServiceError::Sign(_)
            | SipServiceError::Signing(_)
            | SipServiceError::Build(_) => false,
        }
    }
}

/// A service's UDP socket and TCP listener, bound to the same address.
#[derive(Debug)]
pub struct SipListener {
    role: Role,
    udp: UdpSocket,
    tcp: TcpListener,
    addr: SocketAddr,
}

impl SipListener {
    /// Binds UDP and TCP on `addr`. With port 0, the UDP socket's ephemeral port is taken
    /// for TCP too (tried a few times, should another process hold that TCP port).
    pub async fn bind(role: Role, addr: SocketAddr) -> io::Result<Self> {
        let attempts = if addr.port() == 0 { 16 } else { 1 };
        let mut last = None;
        for _ in 0..attempts {
            let udp = UdpSocket::bind(addr).await?;
            let local = udp.local_addr()?;
            match TcpListener::bind(local).await {
                Ok(tcp) => {
                    return Ok(Self {
                        role,
                        udp,
                        tcp,
                        addr: local,
                    });
                }
                Err(e) if addr.port() == 0 && e.kind() == io::ErrorKind::AddrInUse => {
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)))
    }

    /// The bound address (UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service this listener runs.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Serves until `stop` is cancelled, then drains within [`SHUTDOWN_GRACE`].
    pub async fn serve(self, state: Arc<AppState>, stop: CancellationToken) {
        let service = Arc::new(SipService::new(self.role, state, self.addr));
        tracing::info!(service = self.role.as_str(), addr = %self.addr, "SIP service listening on UDP and TCP");
        tokio::join!(
            udp::serve(Arc::clone(&service), self.udp, stop.clone()),
            tcp::serve(Arc::clone(&service), self.tcp, stop.clone()),
            expire_loop(Arc::clone(&service), stop),
        );
        tracing::info!(service = self.role.as_str(), "SIP service stopped");
    }
}

async fn expire_loop(service: Arc<SipService>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(EXPIRY_PERIOD);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = service.now_ms();
        service.transactions().expire(now);
    }
}

/// What to do with a decoded request once the transaction layer has seen it.
enum Next {
    /// Send these bytes (a retransmitted request's stored answer).
    Send(Arc<[u8]>),
    /// Send nothing (an ACK, or a retransmission while the answer is being worked out).
    Nothing,
    /// A new transaction: answer it with [`SipService::work`].
    Work(TransactionKey, Box<Request>),
}

/// One redirect service: its role, the node's state, its transactions and its limits.
#[derive(Debug)]
pub struct SipService {
    role: Role,
    state: Arc<AppState>,
    transactions: Mutex<RedirectTransactions>,
    limits: Limits,
    permits: Arc<Semaphore>,
    epoch: Instant,
    warn_agent: String,
}

impl SipService {
    /// A service for `role` over the node's `state`, answering as `local` (the
    /// `warn-agent` of its `Warning` headers).
    pub fn new(role: Role, state: Arc<AppState>, local: SocketAddr) -> Self {
        let mut limits = Limits::default();
        limits.max_message_size = state.config.sip.max_message_bytes;
        limits.max_content_length = limits.max_content_length.min(limits.max_message_size);
        Self {
            role,
            state,
            transactions: Mutex::new(RedirectTransactions::default()),
            limits,
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            epoch: Instant::now(),
            warn_agent: local.to_string(),
        }
    }

    /// The service's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The decoding limits (from `[sip] max_message_bytes`).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Ok when `peer` is on a customer's trunk.
    fn check_source(&self, peer: SocketAddr) -> Result<(), SipServiceError> {
        match self.state.inventory.get().caller_by_address(peer.ip()) {
            Some(_) => Ok(()),
            None => Err(SipServiceError::UnknownSource { addr: peer.ip() }),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn transactions(&self) -> MutexGuard<'_, RedirectTransactions> {
        // The table stays consistent across a panic in another thread (none is expected):
        // every method leaves it whole before returning.
        self.transactions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one decoded request as this service, from `peer`, arrived on `transport`.
    ///
    /// This is the whole service logic without sockets and without the transaction layer
    /// (retransmissions and ACKs are handled before it): INVITE is signed or verified,
    /// OPTIONS gets 200, CANCEL 200 or 481, anything else 405. `None` only when not even
    /// an error response can be built for the request.
    pub async fn respond(
        &self,
        request: &Request,
        peer: SocketAddr,
        transport: Transport,
    ) -> Option<Response> {
        let tag = new_tag();
        let result = match request.method() {
            Method::Invite => match self.role {
                Role::Signing => signing::answer(self, request, peer, &tag),
                Role::Verification => match self.check_source(peer) {
                    // Verification fetches certificates on the caller's behalf: like signing,
                    // it serves only the trunks of known customers.
                    Ok(()) => verification::answer(self, request, &tag).await,
                    Err(e) => Err(e),
                },
            },
            // RFC 3261 8.2.2.3: a Require this UAS does not support is refused for every
            // request but ACK and CANCEL.
            Method::Options => check_require(request).and_then(|()| {
                Response::for_request(request, 200, "OK", &tag)
                    .and_then(|r| r.with_header(HeaderName::ALLOW, ALLOW))
                    .map_err(SipServiceError::from)
            }),
            Method::Cancel => {
                let found = self.transactions().has_invite_for(request, transport);
                let (code, reason) = if found {
                    (200, "OK")
                } else {
                    (481, "Call/Transaction Does Not Exist")
                };
                Response::for_request(request, code, reason, &tag).map_err(SipServiceError::from)
            }
            _ => Response::for_request(request, 405, "Method Not Allowed", &tag)
                .and_then(|r| r.with_header(HeaderName::ALLOW, ALLOW))
                .map_err(SipServiceError::from),
        };
        match result {
            Ok(response) => Some(response),
            Err(e) => self.refusal(request, &e, &tag),
        }
    }

    /// The answer to a request refused with `error`.
    fn refusal(&self, request: &Request, error: &SipServiceError, tag: &str) -> Option<Response> {
        let (code, reason) = error.status();
        if !error.is_caller_fault() && !matches!(error, SipServiceError::Overloaded) {
            tracing::error!(service = self.role.as_str(), error = %error, "SIP request failed");
        }
        let built = Response::for_request(request, code, reason, tag).and_then(|r| {
            let r = match error {
                SipServiceError::BadExtension { required } => {
                    r.with_header(HeaderName::UNSUPPORTED, required)?
                }
                SipServiceError::Overloaded => {
                    r.with_header(HeaderName::new("Retry-After")?, RETRY_AFTER_SECS)?
                }
                _ => r,
            };
            if error.is_caller_fault() {
                r.with_header(HeaderName::WARNING, &self.warning(&error.to_string()))
            } else {
                Ok(r)
            }
        });
        match built {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(service = self.role.as_str(), error = %e, "cannot answer a SIP request");
                None
            }
        }
    }

    /// A `Warning: 399 <this service> "<text>"` value.
    fn warning(&self, text: &str) -> String {
        sip::header::warning::value(399, &self.warn_agent, text)
    }

    /// The `302 Moved Temporarily` every INVITE answer starts from: `Contact: <R-URI>`.
    fn redirect(&self, request: &Request, tag: &str) -> Result<Response, SipError> {
        Response::for_request(request, 302, "Moved Temporarily", tag)?
            .with_header(HeaderName::CONTACT, &format!("<{}>", request.uri()))
    }

    /// The transaction layer's verdict on a decoded request.
    fn classify(&self, request: Request, transport: Transport) -> Next {
        let now = self.now_ms();
        match self.transactions().on_request(&request, transport, now) {
            Ok(Action::New(key)) => Next::Work(key, Box::new(request)),
            Ok(Action::Retransmit(bytes)) => Next::Send(bytes),
            Ok(Action::Absorb) => Next::Nothing,
            Err(e) => {
                // A decoded request always has what identifies its transaction.
                tracing::debug!(service = self.role.as_str(), error = %e, "request without a transaction key");
                Next::Nothing
            }
        }
    }

    /// Answers a new transaction and records the answer for its retransmissions.
    ///
    /// Work is bounded by [`WORK_LIMIT`].
    async fn work(
        &self,
        key: TransactionKey,
        mut request: Box<Request>,
        peer: SocketAddr,
        transport: Transport,
    ) -> Option<Arc<[u8]>> {
        let started = Instant::now();
        stamp_via(&mut request, peer);
        // A client gives up after Timer B (64*T1 = 32 s): work past that only holds a permit.
        let Ok(response) =
            tokio::time::timeout(WORK_LIMIT, self.respond(&request, peer, transport)).await
        else {
            tracing::warn!(
                service = self.role.as_str(),
                "a request took longer than {} s; dropped",
                WORK_LIMIT.as_secs()
            );
            return None;
        };
        let response = response?;
        let bytes = self.transactions().record(&key, &response, self.now_ms());
        self.state.metrics.observe_sip(
            self.role.as_str(),
            method_label(request.method()),
            response.status(),
            started.elapsed(),
        );
        Some(bytes)
    }

    /// Answers a new transaction with 503 at once (no permit was free).
    fn overloaded(
        &self,
        key: &TransactionKey,
        mut request: Box<Request>,
        peer: SocketAddr,
    ) -> Option<Arc<[u8]>> {
        stamp_via(&mut request, peer);
        let response = self.refusal(&request, &SipServiceError::Overloaded, &new_tag())?;
        let bytes = self.transactions().record(key, &response, self.now_ms());
        self.state.metrics.observe_sip(
            self.role.as_str(),
            method_label(request.method()),
            response.status(),
            Duration::ZERO,
        );
        Some(bytes)
    }

    /// The answer to bytes that failed to decode, when there is one to send.
    fn malformed(&self, input: &[u8], error: &SipError) -> Option<Arc<[u8]>> {
        tracing::debug!(service = self.role.as_str(), error = %error, "malformed SIP message");
        let response =
            Response::for_malformed(input, error, &self.limits, &self.warn_agent, &new_tag())?;
        self.state.metrics.observe_sip(
            self.role.as_str(),
            "malformed",
            response.status(),
            Duration::ZERO,
        );
        Some(Arc::from(response.to_bytes()))
    }
}

/// A To tag for a new response: unique within this process and unlikely to repeat across
/// restarts (a start-time prefix and a counter).
fn new_tag() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| {
                u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or_default()
            })
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("cp{:x}{n:x}", prefix & 0xffff_ffff)
}

/// Marks the top Via with where the request really came from (RFC 3261 section 18.2.1,
/// RFC 3581 section 4): `received` when the sent-by host is not the source address,
/// `rport=<port>` when the client asked for it. The response copies the Vias, so this is
/// done on the request before the response is built. A Via that cannot be rewritten is
/// left as it was.
fn stamp_via(request: &mut Request, peer: SocketAddr) {
    let headers = request.headers_mut();
    let Ok(top) = headers.top_via() else {
        return;
    };
    let rport = top.rport();
    let source = peer.ip().to_canonical();
    let host = top.host().trim_start_matches('[').trim_end_matches(']');
    let same_host = host
        .parse::<IpAddr>()
        .is_ok_and(|h| h.to_canonical() == source);
    if same_host && rport == Rport::Absent {
        return;
    }
    let stamped = stamped_via(&top, same_host, source, peer.port());
    let vias: Vec<String> = headers
        .get_all(&HeaderName::VIA)
        .skip(1)
        .map(str::to_owned)
        .collect();
    let mut rebuilt = sip::header::Headers::new();
    let ok = rebuilt.push(HeaderName::VIA, &stamped).is_ok()
        && vias
            .iter()
            .all(|v| rebuilt.push(HeaderName::VIA, v).is_ok());
    if !ok {
        return;
    }
    headers.remove_all(&HeaderName::VIA);
    for via in rebuilt.iter() {
        // Values that were just accepted by `push` are accepted again.
        let _ = headers.push(HeaderName::VIA, via.value());
    }
}

fn stamped_via(top: &Via, same_host: bool, source: IpAddr, port: u16) -> String {
    let mut out = format!("SIP/2.0/{} {}", top.transport(), top.host());
    if let Some(p) = top.port() {
        out.push_str(&format!(":{p}"));
    }
    for param in top.params().iter() {
        let name = param.name();
        if name.eq_ignore_ascii_case("rport") || name.eq_ignore_ascii_case("received") {
            continue;
        }
        out.push(';');
        out.push_str(name);
        if let Some(v) = param.value() {
            out.push('=');
            out.push_str(v);
        }
    }
    let requested = top.rport() != Rport::Absent;
    if !same_host || requested {
        out.push_str(&format!(";received={source}"));
    }
    if requested {
        out.push_str(&format!(";rport={port}"));
    }
    out
}

/// A fixed metrics label per method (extension methods share one, so a peer cannot grow
/// the label set).
fn method_label(method: &Method) -> &'static str {
    method.standard_name().unwrap_or("other")
}

/// Refuses a request that requires extensions (RFC 3261 section 8.2.2.3): a redirect
/// service supports none.
fn check_require(request: &Request) -> Result<(), SipServiceError> {
    let required: Vec<&str> = request.headers().get_all(&HeaderName::REQUIRE).collect();
    if required.is_empty() {
        Ok(())
    } else {
        Err(SipServiceError::BadExtension {
            required: required.join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(via: &str) -> Request {
        let text = format!(
            "OPTIONS sip:+12125551213@example.com SIP/2.0\r\n\
             Via: {via}\r\n\
             Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-2\r\n\
             From: <sip:+12155551212@example.com>;tag=a\r\n\
             To: <sip:+12125551213@example.com>\r\n\
             Call-ID: c1@example.com\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        sip::decode_datagram(text.as_bytes(), &Limits::default())
            .unwrap()
            .as_request()
            .unwrap()
            .clone()
    }

    fn vias(r: &Request) -> Vec<String> {
        r.headers()
            .get_all(&HeaderName::VIA)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn rport_and_received_are_filled_in() {
        let mut r = request("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1;rport");
        stamp_via(&mut r, "198.51.100.7:40000".parse().unwrap());
        assert_eq!(
            vias(&r),
            [
                "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1;received=198.51.100.7;rport=40000",
                "SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-2",
            ]
        );
    }

    #[test]
    fn received_is_added_when_the_host_differs() {
        let mut r = request("SIP/2.0/UDP pbx.example.com;branch=z9hG4bK-1");
        stamp_via(&mut r, "198.51.100.7:5060".parse().unwrap());
        assert_eq!(
            vias(&r).first().unwrap(),
            "SIP/2.0/UDP pbx.example.com;branch=z9hG4bK-1;received=198.51.100.7"
        );
    }

    #[test]
    fn a_via_naming_the_source_is_left_alone() {
        let via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1";
        let mut r = request(via);
        stamp_via(&mut r, "192.0.2.10:5999".parse().unwrap());
        assert_eq!(vias(&r).first().unwrap(), via);
    }

    #[test]
    fn tags_are_tokens_and_differ() {
        let (a, b) = (new_tag(), new_tag());
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn every_refusal_has_its_status() {
        let cases: Vec<(SipServiceError, u16, bool)> = vec![
            (
                SipServiceError::UnknownSource {
                    addr: [192, 0, 2, 1].into(),
                },
                403,
                true,
            ),
            (
                SipServiceError::BadRequest {
                    source: SipError::MissingHeader { name: "From" },
                },
                400,
                true,
            ),
            (
                SipServiceError::NoDestination {
                    source: SipError::MissingHeader { name: "To" },
                },
                484,
                true,
            ),
            (SipServiceError::UnknownDiversion, 400, true),
            (
                SipServiceError::BadExtension {
                    required: "100rel".into(),
                },
                420,
                true,
            ),
            (SipServiceError::Overloaded, 503, false),
            (SipServiceError::Sign(SignError::Crypto), 500, false),
            (
                SipServiceError::Build(SipError::InvalidValue {
                    what: "x",
                    reason: "y",
                }),
                500,
                false,
            ),
        ];
        for (error, code, caller) in cases {
            assert_eq!(error.status().0, code, "{error}");
            assert_eq!(error.is_caller_fault(), caller, "{error}");
        }
    }
}
