//! The UDP side of a SIP service: one socket, one receive loop, one task per new
//! transaction.
//!
//! The loop decodes each datagram and asks the transaction layer about it; only a new
//! transaction leaves the loop, in a task holding a permit, so the loop is never held up
//! by the work (an x5u fetch can take seconds). Retransmissions are answered from the
//! loop with the stored bytes. Answers go to the datagram's source (see the module doc of
//! `sip_service` for why).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sip::transaction::Transport;
use sip::{Message, decode_datagram};
use tokio::net::UdpSocket;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Next, SHUTDOWN_GRACE, SipService};

/// The largest UDP payload there is (IPv4 and IPv6 without jumbograms), plus one.
const MAX_DATAGRAM: usize = 65_536;

/// Pause after a failed receive, so a persistent socket error cannot spin the loop.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

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
    loop {
        while tasks.try_join_next().is_some() {}
        let (len, peer) = tokio::select! {
            () = stop.cancelled() => break,
            received = socket.recv_from(&mut buffer) => match received {
                Ok(received) => received,
                Err(e) => {
                    tracing::debug!(service = service.role().as_str(), error = %e, "UDP receive failed");
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let datagram = buffer.get(..len).unwrap_or_default();
        let request = match decode_datagram(datagram, service.limits()) {
            Ok(Message::Request(request)) => request,
            // A redirect server sends no requests, so a response is a stray: drop it.
            Ok(Message::Response(_)) => continue,
            Err(e) => {
                if let Some(answer) = service.malformed(datagram, &e) {
                    send(&socket, &answer, peer).await;
                }
                continue;
            }
        };
        match service.classify(request, Transport::Udp) {
            // A stored answer goes only to a source on a trunk: a stranger who guesses a
            // branch must not be handed someone else's signed 302.
            Next::Send(bytes) if service.check_source(peer).is_ok() => {
                send(&socket, &bytes, peer).await
            }
            Next::Send(_) => {}
            Next::Nothing => {}
            Next::Work(key, request) => {
                let Ok(permit) = Arc::clone(&service.permits).try_acquire_owned() else {
                    if let Some(answer) = service.overloaded(&key, request, peer) {
                        send(&socket, &answer, peer).await;
                    }
                    continue;
                };
                let service = Arc::clone(&service);
                let socket = Arc::clone(&socket);
                tasks.spawn(async move {
                    if let Some(answer) = service.work(key, request, peer, Transport::Udp).await {
                        send(&socket, &answer, peer).await;
                    }
                    drop(permit);
                });
            }
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

async fn send(socket: &UdpSocket, bytes: &[u8], peer: SocketAddr) {
    if let Err(e) = socket.send_to(bytes, peer).await {
        tracing::debug!(peer = %peer, error = %e, "UDP send failed");
    }
}
