//! Bounded connections: at most `max` open per listener (a further client waits in the kernel's
//! backlog until one closes), a connection that neither sends nor receives anything for `idle`
//! is closed, and one whose first request has not arrived (headers complete) within `handshake`
//! of being accepted is closed, however steadily it trickles bytes in: so neither idle nor slow
//! clients can hold the slots for ever.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Connection limits for one listener.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    pub max: usize,
    pub idle: Duration,
    /// Longest from accepting a connection to its first request's headers.
    pub handshake: Duration,
}

/// Set by the server once a connection's first request has arrived: from then on the handshake
/// deadline no longer applies (the HTTP/1.1 server's header timeout covers later requests).
#[derive(Clone, Debug, Default)]
pub struct Served(Arc<AtomicBool>);

impl Served {
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A TCP connection that holds one of its listener's slots and times out when idle.
pub struct LimitedConn {
    io: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Until the first request arrives: when the connection is closed regardless of activity.
    handshake: Option<Pin<Box<Sleep>>>,
    served: Served,
    _slot: OwnedSemaphorePermit,
}

impl LimitedConn {
    fn new(io: TcpStream, limits: ConnLimits, slot: OwnedSemaphorePermit) -> Self {
        Self {
            io,
            idle: limits.idle,
            deadline: Box::pin(tokio::time::sleep(limits.idle)),
            handshake: Some(Box::pin(tokio::time::sleep(limits.handshake))),
            served: Served::default(),
            _slot: slot,
        }
    }

    /// The flag the server sets when this connection's first request arrives.
    #[must_use]
    pub fn served(&self) -> Served {
        self.served.clone()
    }

    fn active(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    fn check_idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle for too long",
            ));
        }
        self.check_handshake(cx)
    }

    fn check_handshake(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.served.is_set() {
            self.handshake = None;
        }
        if let Some(deadline) = &mut self.handshake
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no complete request within the header timeout",
            ));
        }
        Ok(())
    }

    fn track<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(r) => {
                self.active();
                // Bytes keep coming, but the first request must still arrive in time.
                if let Err(e) = self.check_handshake(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.check_idle(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl AsyncRead for LimitedConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        this.track(cx, poll)
    }
}

impl AsyncWrite for LimitedConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.track(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.track(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What tonic puts in each request's extensions: the peer, and the connection's [`Served`]
/// flag for the server to set.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub tcp: tonic::transport::server::TcpConnectInfo,
    pub served: Served,
}

impl tonic::transport::server::Connected for LimitedConn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        ConnInfo {
            tcp: self.io.connect_info(),
            served: self.served.clone(),
        }
    }
}

/// A listener that hands out [`LimitedConn`]s.
pub struct LimitedListener {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    limits: ConnLimits,
}

impl LimitedListener {
    #[must_use]
    pub fn new(listener: TcpListener, limits: ConnLimits) -> Self {
        Self {
            listener,
            slots: Arc::new(Semaphore::new(limits.max.max(1))),
            limits,
        }
    }

    /// Waits for a free slot, then for a connection. Accept errors (such as running out of
    /// file descriptors) are waited out, not returned.
    pub async fn next(&mut self) -> (LimitedConn, SocketAddr) {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        loop {
            match self.listener.accept().await {
                Ok((io, addr)) => {
                    let _ = io.set_nodelay(true);
                    return (LimitedConn::new(io, self.limits, slot), addr);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The connections as a stream, for tonic.
    pub fn into_stream(self) -> impl Stream<Item = io::Result<LimitedConn>> + Send + 'static {
        futures::stream::unfold(self, |mut l| async move {
            let (conn, _) = l.next().await;
            Some((Ok(conn), l))
        })
    }
}
