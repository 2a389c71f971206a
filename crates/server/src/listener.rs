//! The HTTP listener: a semaphore permit per connection (at most N connections are served
//! at once; the rest wait in the kernel's accept queue instead of exhausting memory or file
//! descriptors), and hyper connections whose answers are sent once per poll of the
//! connection (pipelined answers leave together), a header read timeout, and a graceful
//! drain on shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limited listener.
#[derive(Debug)]
pub struct Limited {
    inner: TcpListener,
    permits: Arc<Semaphore>,
}

impl Limited {
    /// Wraps `inner`.
    pub fn new(inner: TcpListener, permits: Arc<Semaphore>) -> Self {
        Self { inner, permits }
    }

    /// The next connection, once a permit is free.
    async fn accept(&mut self) -> (Conn, SocketAddr) {
        loop {
            let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
                // The semaphore is never closed; should it be, stop accepting quietly.
                std::future::pending::<()>().await;
                continue;
            };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (Conn { stream, permit }, addr);
                }
                Err(e) => {
                    // EMFILE and friends: back off briefly rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// A connection holding its permit until dropped.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    permit: OwnedSemaphorePermit,
}

impl Conn {
    /// Splits the connection into the I/O that hyper reads and writes, whose writes are
    /// held, and the [`Output`] that sends them: see [`SendAfterPoll`].
    fn into_batched(self) -> (BatchedIo, Arc<Mutex<Output>>) {
        let (read, write) = self.stream.into_split();
        let output = Arc::new(Mutex::new(Output {
            write,
            pending: Vec::new(),
            failed: None,
        }));
        let io = BatchedIo {
            read,
            output: Arc::clone(&output),
            _permit: self.permit,
        };
        (io, output)
    }
}

/// Bytes written by hyper and not yet sent, with the socket they go to.
#[derive(Debug)]
struct Output {
    write: OwnedWriteHalf,
    pending: Vec<u8>,
    /// The kind of the error a send met: every later write fails with it, so hyper closes
    /// the connection.
    failed: Option<io::ErrorKind>,
}

/// Held output beyond which a write waits for the socket (a peer that stops reading slows
/// its own connection down, as plain TCP would).
const HELD_OUTPUT: usize = 64 * 1024;

impl Output {
    /// Sends what is held until all is sent or the socket is full (`Pending`, with `cx`
    /// woken when it can take more).
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(kind) = self.failed {
            return Poll::Ready(Err(io::Error::from(kind)));
        }
        while !self.pending.is_empty() {
            match Pin::new(&mut self.write).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return self.fail(io::ErrorKind::WriteZero),
                Poll::Ready(Ok(n)) => {
                    self.pending.drain(..n.min(self.pending.len()));
                }
                Poll::Ready(Err(e)) => return self.fail(e.kind()),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    fn fail(&mut self, kind: io::ErrorKind) -> Poll<io::Result<()>> {
        self.failed = Some(kind);
        self.pending = Vec::new();
        Poll::Ready(Err(io::Error::from(kind)))
    }

    /// Room for more: `Pending` while too much is held and the socket takes no more.
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pending.len() < HELD_OUTPUT {
            return match self.failed {
                Some(kind) => Poll::Ready(Err(io::Error::from(kind))),
                None => Poll::Ready(Ok(())),
            };
        }
        self.poll_send(cx)
    }
}

/// The I/O hyper serves a connection over. Reads go to the socket; writes are held in
/// [`Output`] and a flush sends nothing: [`SendAfterPoll`] sends everything held once the
/// connection's task has done all it can in one poll. Answers to pipelined requests thus
/// leave in one send instead of one each (a send on loopback costs as much as half an
/// ES256 signature, most of it waking the peer), and no answer waits longer than the poll
/// that produced it.
#[derive(Debug)]
pub struct BatchedIo {
    read: OwnedReadHalf,
    output: Arc<Mutex<Output>>,
    _permit: OwnedSemaphorePermit,
}

fn lock(output: &Mutex<Output>) -> MutexGuard<'_, Output> {
    // Only this connection's task locks it, and every method leaves it whole.
    output.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AsyncRead for BatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for BatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut output = lock(&self.output);
        std::task::ready!(output.poll_room(cx))?;
        output.pending.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut output = lock(&self.output);
        std::task::ready!(output.poll_room(cx))?;
        let mut written = 0;
        for buf in bufs {
            output.pending.extend_from_slice(buf);
            written += buf.len();
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Sent by `SendAfterPoll` at the end of this poll of the connection's task.
        match lock(&self.output).failed {
            Some(kind) => Poll::Ready(Err(io::Error::from(kind))),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut output = lock(&self.output);
        std::task::ready!(output.poll_send(cx))?;
        Pin::new(&mut output.write).poll_shutdown(cx)
    }
}

pin_project_lite::pin_project! {
    /// Drives a connection future, then sends what its [`BatchedIo`] holds; completes once
    /// the connection has ended and everything held is sent (or sending failed).
    struct SendAfterPoll<F: Future> {
        #[pin]
        connection: F,
        output: Arc<Mutex<Output>>,
        ended: Option<F::Output>,
    }
}

impl<F: Future> Future for SendAfterPoll<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.ended.is_none()
            && let Poll::Ready(result) = this.connection.poll(cx)
        {
            *this.ended = Some(result);
        }
        let sent = lock(this.output).poll_send(cx);
        match (this.ended.take(), sent) {
            // Ended, and everything sent or unsendable: done.
            (Some(result), Poll::Ready(_)) => Poll::Ready(result),
            (ended, _) => {
                *this.ended = ended;
                Poll::Pending
            }
        }
    }
}

/// The peer address of a connection, for handlers (`ConnectInfo<PeerAddr>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// How long a connection may take to send its request headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long open connections get to finish when the node stops.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves `app` on `listener` until `stop` is cancelled, then drains open connections.
pub async fn serve_http(
    mut listener: Limited,
    app: axum::Router,
    stop: tokio_util::sync::CancellationToken,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;

    // HTTP/1.1 only: the auto builder's protocol sniffing has no timeout of its own, and an
    // HTTP/2 preface alone would otherwise hold a connection permit for ever.
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // hyper's own pipeline_flush is not used: with it an early answer (413 to a chunked
    // body still arriving) is lost when the connection closes. `BatchedIo` gets the same
    // single send for pipelined answers and sends everything before a close.
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (io, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(PeerAddr(peer)));
                let mut app = app.clone();
                async move { tower::Service::call(&mut app, req).await }
            });
        let (io, output) = io.into_batched();
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = SendAfterPoll {
            connection: graceful.watch(conn),
            output,
            ended: None,
        };
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "HTTP connection ended with an error");
            }
        });
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the drain period");
    }
}
