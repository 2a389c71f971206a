//! The TCP side of a SIP service: an accept loop holding a permit per connection, and per
//! connection a reader (framing, transactions, one task per new transaction) and a writer
//! fed through a bounded queue, so requests on one connection are answered as each is
//! ready, not one after another.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sip::message::StreamDecoder;
use sip::transaction::Transport;
use sip::{Framed, Message};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Next, SHUTDOWN_GRACE, SipService};

/// Bytes read from a connection at a time. The read buffer holds at most one message
/// (the decoder refuses more) plus one read.
const READ_CHUNK: usize = 16 * 1024;

/// Answers queued for a connection's writer before the reader waits.
const WRITE_QUEUE: usize = 64;

/// Pause after a failed accept (EMFILE and the like), rather than spinning.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// The answer to a double-CRLF keep-alive (RFC 5626 section 3.5.1).
const PONG: &[u8] = b"\r\n";

/// Accepts and serves connections until `stop`.
pub(super) async fn serve(
    service: Arc<SipService>,
    listener: TcpListener,
    stop: CancellationToken,
) {
    let limit = service.state.config.sip.max_tcp_connections.max(1);
    let permits = Arc::new(Semaphore::new(limit));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        // The permit comes before accept: beyond the limit, peers wait in the kernel's
        // accept queue rather than costing memory here.
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(service = service.role().as_str(), error = %e, "SIP TCP accept failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        // Both services serve customer trunks only: a stranger's connection is closed at
        // once instead of holding one of the connection slots.
        if service.check_source(peer).is_err() {
            tracing::debug!(service = service.role().as_str(), %peer, "TCP connection from no trunk closed");
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(
            Arc::clone(&service),
            stream,
            peer,
            stop.clone(),
            permit,
        ));
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            service = service.role().as_str(),
            left = connections.len(),
            "SIP TCP connections still open at shutdown were closed"
        );
    }
}

/// Serves one connection until the peer closes it, it idles, it sends something that
/// cannot be framed, its writes stall, or `stop`.
async fn connection(
    service: Arc<SipService>,
    stream: TcpStream,
    peer: SocketAddr,
    stop: CancellationToken,
    _permit: OwnedSemaphorePermit,
) {
    let idle = Duration::from_millis(service.state.config.sip.tcp_idle_timeout_ms.max(1));
    let (reader, writer) = stream.into_split();
    let (queue, answers) = mpsc::channel(WRITE_QUEUE);
    tokio::join!(
        read_loop(&service, reader, peer, queue, &stop, idle),
        write_loop(writer, answers, idle),
    );
}

/// Reads, frames and dispatches. Returns when the connection should close, after the
/// requests it started have been answered (and dropped `queue`, which ends the writer).
async fn read_loop(
    service: &Arc<SipService>,
    mut reader: OwnedReadHalf,
    peer: SocketAddr,
    queue: mpsc::Sender<Arc<[u8]>>,
    stop: &CancellationToken,
    idle: Duration,
) {
    let mut decoder = StreamDecoder::new(service.limits().clone());
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut tasks = JoinSet::new();
    'connection: loop {
        // Everything complete in the buffer first.
        loop {
            match decoder.decode(&buffer) {
                Ok(None) => break,
                Ok(Some(Framed::KeepAlive { consumed, ping })) => {
                    buffer.drain(..consumed.min(buffer.len()));
                    if ping && queue.send(Arc::from(PONG)).await.is_err() {
                        break 'connection;
                    }
                }
                Ok(Some(Framed::Message { message, consumed })) => {
                    buffer.drain(..consumed.min(buffer.len()));
                    let Message::Request(request) = message else {
                        continue;
                    };
                    let work = match service.classify(request, Transport::Tcp) {
                        // Only to a trunk: see the UDP side.
                        Next::Send(_) if service.check_source(peer).is_err() => continue,
                        Next::Send(bytes) => {
                            if queue.send(bytes).await.is_err() {
                                break 'connection;
                            }
                            continue;
                        }
                        Next::Nothing => continue,
                        Next::Work(key, request) => (key, request),
                    };
                    // A slot in this connection's answer queue first: a peer that stops
                    // reading its answers stops its own requests here, instead of holding
                    // work permits every other caller needs.
                    let slot = tokio::select! {
                        () = stop.cancelled() => break 'connection,
                        slot = queue.clone().reserve_owned() => match slot {
                            Ok(slot) => slot,
                            Err(_) => break 'connection,
                        },
                    };
                    // Waiting for a permit stops reading: the peer is slowed by TCP flow
                    // control instead of being refused.
                    let permit = tokio::select! {
                        () = stop.cancelled() => break 'connection,
                        permit = Arc::clone(&service.permits).acquire_owned() => match permit {
                            Ok(permit) => permit,
                            Err(_) => break 'connection,
                        },
                    };
                    let (key, request) = work;
                    let service = Arc::clone(service);
                    tasks.spawn(async move {
                        let answer = service.work(key, request, peer, Transport::Tcp).await;
                        drop(permit);
                        if let Some(answer) = answer {
                            // The slot is reserved: this never waits.
                            slot.send(answer);
                        }
                    });
                }
                Err(e) => {
                    // The stream cannot be resynchronised: answer if possible, then close.
                    if let Some(answer) = service.malformed(&buffer, &e) {
                        let _ = queue.send(answer).await;
                    }
                    break 'connection;
                }
            }
        }
        while tasks.try_join_next().is_some() {}
        let read = tokio::select! {
            () = stop.cancelled() => break,
            () = queue.closed() => break,
            read = tokio::time::timeout(idle, reader.read(&mut chunk)) => read,
        };
        match read {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => buffer.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Ok(Err(e)) => {
                tracing::debug!(peer = %peer, error = %e, "SIP TCP read failed");
                break;
            }
            Err(_) => {
                tracing::debug!(peer = %peer, "SIP TCP connection idle: closed");
                break;
            }
        }
    }
    // The requests in progress are answered before the connection closes (each bounded
    // by its own work; the service's drain bounds the whole at shutdown).
    while tasks.join_next().await.is_some() {}
}

/// Writes queued answers in order until every sender is gone, then closes the sending
/// side. A write that does not finish within `limit` (a peer that stopped reading) ends
/// the connection.
async fn write_loop(
    mut writer: OwnedWriteHalf,
    mut answers: mpsc::Receiver<Arc<[u8]>>,
    limit: Duration,
) {
    while let Some(bytes) = answers.recv().await {
        match tokio::time::timeout(limit, writer.write_all(&bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "SIP TCP write failed");
                return;
            }
            Err(_) => {
                tracing::debug!("SIP TCP write timed out");
                return;
            }
        }
    }
    let _ = tokio::time::timeout(limit, writer.shutdown()).await;
}
