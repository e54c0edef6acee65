//! One memory budget shared by every request being received and decoded (`--max-inflight-mb`):
//! the bytes of request bodies as they arrive, their decompressed form, and what decoding them
//! is expected to take. A request waits for room (up to `--queue-wait`) and is then refused as
//! busy, which senders retry; a request that could never fit is refused as too large. So however
//! many connections send at once, and however much a small compressed body inflates, the memory
//! held by requests in flight stays under one figure. Once a request is decoded its charge is
//! given back: from there on its items count against the ingest queue's budgets.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget's unit: permits are KiB, so a budget of terabytes fits the semaphore.
const UNIT: usize = 1024;

/// Why a charge was not granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// No room within the wait: retry later.
    Busy,
    /// More than the whole budget: it can never be decoded here.
    TooLarge { need: usize, total: usize },
}

impl Over {
    /// The same refusal, saying the whole of what a request needs (`need`) rather than the part
    /// of it that was being charged when it was refused.
    #[must_use]
    pub fn needing(self, need: usize) -> Self {
        match self {
            Self::TooLarge { total, .. } => Self::TooLarge { need, total },
            Self::Busy => Self::Busy,
        }
    }

    /// What to tell the sender.
    #[must_use]
    pub fn message(self) -> String {
        match self {
            Self::Busy => {
                "the viewer is busy decoding other requests (--max-inflight-mb is in use); \
                 retry later"
                    .to_owned()
            }
            Self::TooLarge { need, total } => format!(
                "decoding this request would take about {} MiB, more than --max-inflight-mb \
                 ({} MiB): send smaller requests",
                need.div_ceil(1 << 20),
                total >> 20
            ),
        }
    }
}

impl std::fmt::Display for Over {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Over {}

/// The memory requests in flight may take, shared by both receivers.
#[derive(Clone, Debug)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    units: usize,
    wait: Duration,
}

impl MemoryBudget {
    /// A budget of `bytes`; a charge waits up to `wait` for room.
    #[must_use]
    pub fn new(bytes: usize, wait: Duration) -> Self {
        let units = (bytes / UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(units)),
            units,
            wait,
        }
    }

    /// The whole budget, in bytes.
    #[must_use]
    pub fn total(&self) -> usize {
        self.units * UNIT
    }

    /// Bytes charged to requests now.
    #[must_use]
    pub fn in_use(&self) -> usize {
        (self.units - self.permits.available_permits()) * UNIT
    }

    fn units_of(&self, bytes: usize) -> Result<u32, Over> {
        let units = bytes.div_ceil(UNIT);
        if units > self.units {
            return Err(Over::TooLarge {
                need: bytes,
                total: self.total(),
            });
        }
        Ok(u32::try_from(units).unwrap_or(u32::MAX))
    }

    /// Adds `bytes` to `charge`, waiting for room up to the budget's wait.
    ///
    /// # Errors
    /// No room within the wait, or more than the whole budget.
    pub async fn charge(&self, charge: &mut Charge, bytes: usize) -> Result<(), Over> {
        let permit = self.acquire(bytes).await?;
        charge.add(permit);
        Ok(())
    }

    fn try_acquire(&self, bytes: usize) -> Result<Option<OwnedSemaphorePermit>, Over> {
        let units = self.units_of(bytes)?;
        if units == 0 {
            return Ok(None);
        }
        Ok(Arc::clone(&self.permits).try_acquire_many_owned(units).ok())
    }

    fn acquire(
        &self,
        bytes: usize,
    ) -> impl Future<Output = Result<Option<OwnedSemaphorePermit>, Over>> + Send + 'static {
        let quick = self.try_acquire(bytes);
        let (permits, wait) = (Arc::clone(&self.permits), self.wait);
        async move {
            match quick {
                Err(over) => return Err(over),
                Ok(Some(p)) => return Ok(Some(p)),
                Ok(None) if bytes == 0 => return Ok(None),
                Ok(None) => {}
            }
            let units = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
            match tokio::time::timeout(wait, permits.acquire_many_owned(units)).await {
                Ok(Ok(p)) => Ok(Some(p)),
                Ok(Err(_)) | Err(_) => Err(Over::Busy),
            }
        }
    }
}

/// What one request holds of the budget; given back when dropped (or [`Charge::release`]d).
#[derive(Debug, Default)]
pub struct Charge(Option<OwnedSemaphorePermit>);

impl Charge {
    fn add(&mut self, permit: Option<OwnedSemaphorePermit>) {
        match (&mut self.0, permit) {
            (_, None) => {}
            (Some(held), Some(p)) => held.merge(p),
            (held @ None, Some(p)) => *held = Some(p),
        }
    }

    /// Bytes held.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |p| p.num_permits() * UNIT)
    }

    /// Gives everything back.
    pub fn release(&mut self) {
        self.0 = None;
    }
}

/// A request's charge, shared by its body (which adds to it as data arrives) and its handler
/// (which adds the decoding estimate and gives it back once decoded).
pub type SharedCharge = Arc<Mutex<Charge>>;

type Acquire = Pin<Box<dyn Future<Output = Result<Option<OwnedSemaphorePermit>, Over>> + Send>>;

/// A request body that charges the budget for every data frame before handing it on: when the
/// budget is spent it stops reading (so HTTP/2 flow control and TCP hold the sender back), and
/// after the wait it fails with the retryable refusal.
pub struct ChargedBody<B> {
    inner: B,
    budget: MemoryBudget,
    charge: SharedCharge,
    waiting: Option<(Frame<Bytes>, Acquire)>,
}

impl<B> ChargedBody<B> {
    pub fn new(inner: B, budget: MemoryBudget, charge: SharedCharge) -> Self {
        Self {
            inner,
            budget,
            charge,
            waiting: None,
        }
    }

    fn keep(&self, permit: Option<OwnedSemaphorePermit>) {
        if let Ok(mut c) = self.charge.lock() {
            c.add(permit);
        }
    }
}

impl<B> Body for ChargedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some((_, acquire)) = &mut this.waiting {
            let granted = std::task::ready!(acquire.as_mut().poll(cx));
            let (frame, _) = this.waiting.take().expect("waiting was just polled");
            return Poll::Ready(Some(match granted {
                Ok(permit) => {
                    this.keep(permit);
                    Ok(frame)
                }
                Err(over) => Err(over.into()),
            }));
        }
        let frame = match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            None => return Poll::Ready(None),
            Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
            Some(Ok(frame)) => frame,
        };
        let len = frame.data_ref().map_or(0, Bytes::len);
        match this.budget.try_acquire(len) {
            Err(over) => Poll::Ready(Some(Err(over.into()))),
            Ok(Some(permit)) => {
                this.keep(Some(permit));
                Poll::Ready(Some(Ok(frame)))
            }
            Ok(None) if len == 0 => Poll::Ready(Some(Ok(frame))),
            Ok(None) => {
                this.waiting = Some((frame, Box::pin(this.budget.acquire(len))));
                Pin::new(this).poll_frame(cx)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.waiting.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn charges_wait_for_room_then_are_refused() {
        let budget = MemoryBudget::new(64 * UNIT, Duration::from_millis(30));
        let mut a = Charge::default();
        budget.charge(&mut a, 40 * UNIT).await.unwrap();
        assert_eq!(budget.in_use(), 40 * UNIT);
        let mut b = Charge::default();
        // Over the whole budget: refused at once, whatever is free.
        assert!(matches!(
            budget.charge(&mut b, 65 * UNIT).await,
            Err(Over::TooLarge { .. })
        ));
        // Not enough free: waits, then busy.
        assert_eq!(budget.charge(&mut b, 30 * UNIT).await, Err(Over::Busy));
        // Room comes back while waiting: granted.
        let budget2 = budget.clone();
        let waiter = tokio::spawn(async move {
            let mut c = Charge::default();
            budget2.charge(&mut c, 30 * UNIT).await.map(|()| c.bytes())
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        a.release();
        assert_eq!(waiter.await.unwrap(), Ok(30 * UNIT));
        assert_eq!(budget.in_use(), 0);
    }

    #[tokio::test]
    async fn a_body_is_charged_for_what_it_delivers() {
        use http_body_util::BodyExt as _;
        let budget = MemoryBudget::new(16 * UNIT, Duration::from_millis(20));
        let charge = SharedCharge::default();
        let body = http_body_util::Full::new(Bytes::from(vec![7u8; 10 * UNIT]));
        let collected = ChargedBody::new(body, budget.clone(), Arc::clone(&charge))
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(collected.len(), 10 * UNIT);
        assert_eq!(charge.lock().unwrap().bytes(), 10 * UNIT);
        assert_eq!(budget.in_use(), 10 * UNIT);
        // A second body that does not fit beside the first fails as busy.
        let body = http_body_util::Full::new(Bytes::from(vec![7u8; 10 * UNIT]));
        let err = ChargedBody::new(body, budget.clone(), SharedCharge::default())
            .collect()
            .await
            .unwrap_err();
        assert_eq!(err.downcast_ref::<Over>(), Some(&Over::Busy));
        drop(charge);
        assert_eq!(budget.in_use(), 0);
    }
}
