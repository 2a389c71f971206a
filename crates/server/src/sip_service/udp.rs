//! The UDP side of a SIP service: one socket, one receive loop that works in batches.
//!
//! The loop takes every datagram waiting on the socket (up to [`BATCH`]) and decodes each
//! and asks the transaction layer about it. A new transaction's work starts at once, in the
//! loop: signing needs nothing but the CPU and finishes there, and so does a verification
//! whose certificate is cached. Work that has to wait (an x5u fetch can take seconds, a
//! Redis replay check a round trip) moves to a task of its own holding a permit, so the
//! loop is never held up by it. The answers of a batch are sent together at its end: the
//! peer is woken once for them rather than once each, which on loopback halves the cost of
//! a send. Retransmissions are answered with the stored bytes. Answers go to the datagram's
//! source (see the module doc of `sip_service` for why).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use sip::transaction::Transport;
use sip::{Message, decode_datagram};
use tokio::net::UdpSocket;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Next, SHUTDOWN_GRACE, SipService};

/// The largest UDP payload there is (IPv4 and IPv6 without jumbograms), plus one.
const MAX_DATAGRAM: usize = 65_536;

/// Datagrams taken from the socket before their answers are sent. At about 15 µs of
/// signing each, the first answer of a full batch waits half a millisecond at most.
const BATCH: usize = 32;

/// Pause after a failed receive, so a persistent socket error cannot spin the loop.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// The work of one new transaction, as a future that may finish at its first poll.
type Work = Pin<Box<dyn Future<Output = Option<Arc<[u8]>>> + Send>>;

/// Receives and answers datagrams until `stop`.
pub(super) async fn serve(service: Arc<SipService>, socket: UdpSocket, stop: CancellationToken) {
    let socket = Arc::new(socket);
    // One byte more than a message may have, so that a larger datagram is seen as larger
    // (and answered 513) rather than silently truncated to the limit.
    let size = service
        .limits()
        .max_message_size
        .saturating_add(1)
        .min(MAX_DATAGRAM);
    let mut buffer = vec![0u8; size];
    let mut tasks = JoinSet::new();
    let mut answers: Vec<(Arc<[u8]>, SocketAddr)> = Vec::with_capacity(BATCH);
    loop {
        while tasks.try_join_next().is_some() {}
        tokio::select! {
            () = stop.cancelled() => break,
            ready = socket.readable() => if let Err(e) = ready {
                tracing::debug!(service = service.role().as_str(), error = %e, "UDP socket failed");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            },
        }
        for _ in 0..BATCH {
            let (len, peer) = match socket.try_recv_from(&mut buffer) {
                Ok(received) => received,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // ICMP errors from earlier sends surface here; they concern one peer.
                    tracing::debug!(service = service.role().as_str(), error = %e, "UDP receive failed");
                    continue;
                }
            };
            let datagram = buffer.get(..len).unwrap_or_default();
            if let Some(answer) = receive(&service, &socket, datagram, peer, &mut tasks).await {
                answers.push((answer, peer));
            }
        }
        for (bytes, peer) in answers.drain(..) {
            send(&socket, &bytes, peer).await;
        }
    }
    // Requests in progress may still be answered; then the rest are dropped.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            service = service.role().as_str(),
            left = tasks.len(),
            "UDP requests still in progress at shutdown were dropped"
        );
    }
}

/// Handles one datagram: the answer to send now, if there is one. Work that cannot finish
/// at once continues in `tasks` and sends its own answer.
async fn receive(
    service: &Arc<SipService>,
    socket: &Arc<UdpSocket>,
    datagram: &[u8],
    peer: SocketAddr,
    tasks: &mut JoinSet<()>,
) -> Option<Arc<[u8]>> {
    let request = match decode_datagram(datagram, service.limits()) {
        Ok(Message::Request(request)) => request,
        // A redirect server sends no requests, so a response is a stray: drop it.
        Ok(Message::Response(_)) => return None,
        Err(e) => return service.malformed(datagram, &e),
    };
    match service.classify(request, Transport::Udp) {
        // A stored answer goes only to a source on a trunk: a stranger who guesses a
        // branch must not be handed someone else's signed 302.
        Next::Send(bytes) => service.check_source(peer).is_ok().then_some(bytes),
        Next::Nothing => None,
        Next::Work(key, request) => {
            let Ok(permit) = Arc::clone(&service.permits).try_acquire_owned() else {
                return service.overloaded(&key, request, peer);
            };
            let owned = Arc::clone(service);
            let mut work: Work =
                Box::pin(async move { owned.work(key, request, peer, Transport::Udp).await });
            // One poll here: most work needs nothing but the CPU and is done by it.
            let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
            match first {
                Poll::Ready(answer) => answer,
                Poll::Pending => {
                    let socket = Arc::clone(socket);
                    tasks.spawn(async move {
                        if let Some(answer) = work.await {
                            send(&socket, &answer, peer).await;
                        }
                        drop(permit);
                    });
                    None
                }
            }
        }
    }
}

async fn send(socket: &UdpSocket, bytes: &[u8], peer: SocketAddr) {
    if let Err(e) = socket.send_to(bytes, peer).await {
        tracing::debug!(peer = %peer, error = %e, "UDP send failed");
    }
}
