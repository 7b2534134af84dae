//! Pushed change notices: how a store tells the engines over it, in this process and in
//! others, that its revocation feed or key ring changed, so they read them at once rather
//! than at their next poll (Redis pub/sub, PostgreSQL `LISTEN/NOTIFY`). The stores of one
//! process (memory) or one file (SQLite) have none: their engines poll.
//!
//! A notice carries nothing but "look now" and where ([`Kind`]: the feed, or the ring):
//! the feed and the ring stay the only source of truth, read from the engine's own
//! cursor, so a notice lost, late, doubled or coalesced with others costs at most a poll
//! interval and never an event.
//!
//! Guarantees:
//! - [`Changes`] is two counters with a flag: [`Change::seen`] grows at every notice,
//!   [`Change::ring`] at every key-ring notice, and both at every (re)subscription, since
//!   notices sent while a subscription was down are lost and the engine must read anything
//!   it may have missed; [`Change::live`] says whether a subscription is up now (when it
//!   is not, engines poll at their base interval);
//! - the listener task, when a store has one, is started at most once, by the first
//!   [`Changes::subscribe`] inside a tokio runtime, and runs until the store is closed
//!   ([`Changes::stop`]) or its last clone dropped (then it is aborted): a store used
//!   without an engine opens no extra connection;
//! - the listener ([`hold`], one loop for every store) reconnects by itself after any
//!   failure or a failed check of its connection, waiting [`RETRY_MIN`] doubling to
//!   [`RETRY_MAX`] between attempts.
//!
//! Not guaranteed: that a notice arrives at all (pub/sub and NOTIFY are at most once); the
//! engines' polling is the safety net.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// The first wait before a listener tries to subscribe again.
pub const RETRY_MIN: Duration = Duration::from_millis(50);
/// The longest wait between two attempts.
pub const RETRY_MAX: Duration = Duration::from_secs(2);

/// What a notice says changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
  /// The revocation feed (a revocation).
  Feed,
  /// The key ring (a rotation, an emergency key revocation).
  Ring,
}

/// What the engines watch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
  /// Grows at every notice and every (re)subscription: read the feed again.
  pub seen: u64,
  /// Grows at every key-ring notice and every (re)subscription: read the ring again too.
  pub ring: u64,
  /// A subscription is up: notices arrive as they are sent.
  pub live: bool,
}

/// Aborts the listener task when dropped.
struct Listener(AbortHandle);

impl Drop for Listener {
  fn drop(&mut self) {
    self.0.abort();
  }
}

/// Where a store's listener is.
enum State {
  NotStarted,
  Running(#[allow(dead_code)] Listener),
  Stopped,
}

/// A store's change notices: shared by its clones, one listener at most.
pub struct Changes {
  tx: watch::Sender<Change>,
  listener: Mutex<State>,
}

impl Default for Changes {
  fn default() -> Self {
    Self {
      tx: watch::Sender::new(Change::default()),
      listener: Mutex::new(State::NotStarted),
    }
  }
}

impl std::fmt::Debug for Changes {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.debug_struct("Changes")
      .field("now", &*self.tx.borrow())
      .finish_non_exhaustive()
  }
}

impl Changes {
  /// A receiver of the notices; the first call inside a tokio runtime starts `listen`
  /// (given what it reports with), later calls share it. `None` outside a runtime.
  pub fn subscribe<F, Fut>(&self, listen: F) -> Option<watch::Receiver<Change>>
  where
    F: FnOnce(Notices) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
  {
    let mut state = self
      .listener
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner);
    match *state {
      State::Stopped => return None,
      State::Running(_) => {}
      State::NotStarted => {
        let rt = tokio::runtime::Handle::try_current().ok()?;
        let task = rt.spawn(listen(Notices(self.tx.clone())));
        *state = State::Running(Listener(task.abort_handle()));
      }
    }
    Some(self.tx.subscribe())
  }
}

impl Changes {
  /// Stop the listener for good (the store is closed): its connection ends, and engines
  /// still watching see the subscription lost and poll.
  pub fn stop(&self) {
    let mut state = self
      .listener
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner);
    *state = State::Stopped;
    drop(state);
    self.tx.send_modify(|c| c.live = false);
  }
}

/// What a listener reports with.
#[derive(Clone)]
pub struct Notices(watch::Sender<Change>);

impl Notices {
  /// A notice of `kind` arrived.
  pub fn notice(&self, kind: Kind) {
    self.0.send_modify(|c| {
      c.seen = c.seen.wrapping_add(1);
      if kind == Kind::Ring {
        c.ring = c.ring.wrapping_add(1);
      }
    });
  }

  /// The subscription is up (again): anything sent while it was down is read now.
  pub fn subscribed(&self) {
    self.0.send_modify(|c| {
      c.seen = c.seen.wrapping_add(1);
      c.ring = c.ring.wrapping_add(1);
      c.live = true;
    });
  }

  /// The subscription is down: engines poll at their base interval until it is back.
  pub fn lost(&self) {
    self.0.send_modify(|c| c.live = false);
  }
}

/// How often a held subscription is checked, so that a dead connection is noticed.
pub const LISTEN_PING: Duration = Duration::from_secs(5);

/// A subscription's check that its connection still works (a ping).
pub trait Alive: Send {
  /// Whether the connection answered.
  fn alive(&mut self) -> impl Future<Output = bool> + Send;
}

/// The listener's loop, for every store that pushes: subscribe (`subscribe(failures so
/// far)` gives the notices as a stream and their connection's check, or `None`; it may
/// take `within`), report each notice, check the connection every [`LISTEN_PING`], and
/// when the stream ends or the check fails, say the subscription is lost and subscribe
/// again after [`retry_delay`]; for as long as the task lives.
pub async fn hold<F, Fut, S, A>(n: Notices, within: Duration, mut subscribe: F)
where
  F: FnMut(usize) -> Fut + Send,
  Fut: Future<Output = Option<(S, A)>> + Send,
  S: Stream<Item = Kind> + Send,
  A: Alive,
{
  let mut failures: u32 = 0;
  let mut tried: usize = 0;
  loop {
    if let Ok(Some((stream, mut check))) = tokio::time::timeout(within, subscribe(tried)).await {
      failures = 0;
      n.subscribed();
      let mut stream = std::pin::pin!(stream);
      let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + LISTEN_PING, LISTEN_PING);
      loop {
        tokio::select! {
          m = stream.next() => match m {
            Some(kind) => n.notice(kind),
            None => break,
          },
          _ = ping.tick() => if !check.alive().await { break },
        }
      }
      n.lost();
    } else {
      failures = failures.saturating_add(1);
      tried = tried.wrapping_add(1);
    }
    tokio::time::sleep(retry_delay(failures)).await;
  }
}

/// The wait before attempt `n` (0-based) to subscribe again.
pub fn retry_delay(n: u32) -> Duration {
  RETRY_MIN
    .saturating_mul(1u32.checked_shl(n.min(16)).unwrap_or(u32::MAX))
    .min(RETRY_MAX)
}

#[cfg(test)]
mod tests {
  use std::sync::atomic::{AtomicU32, Ordering};
  use std::sync::Arc;

  use super::*;

  type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

  #[tokio::test]
  async fn the_listener_starts_once_and_reports_to_every_receiver() -> TestResult {
    let changes = Changes::default();
    let starts = Arc::new(AtomicU32::new(0));
    let listen = |n: Notices| {
      starts.fetch_add(1, Ordering::SeqCst);
      async move {
        n.subscribed();
        n.notice(Kind::Feed);
      }
    };
    let mut a = changes.subscribe(listen).ok_or("inside a runtime")?;
    let mut b = changes.subscribe(|_n: Notices| async {}).ok_or("shared")?;
    assert_eq!(starts.load(Ordering::SeqCst), 1);
    a.wait_for(|c| c.seen == 2).await?;
    b.wait_for(|c| c.seen == 2 && c.ring == 1 && c.live).await?;
    Ok(())
  }

  #[tokio::test]
  async fn a_stopped_listener_is_aborted_and_never_started_again() -> TestResult {
    let changes = Changes::default();
    let (tx, mut ended) = tokio::sync::mpsc::channel::<()>(1);
    let mut rx = changes
      .subscribe(move |n: Notices| async move {
        n.subscribed();
        // Dropped (never sent) when the task is aborted.
        let _keep = tx;
        std::future::pending::<()>().await;
      })
      .ok_or("inside a runtime")?;
    rx.wait_for(|c| c.live).await?;
    changes.stop();
    assert_eq!(ended.recv().await, None, "the listener's task ended");
    assert!(!rx.borrow().live);
    assert!(changes.subscribe(|_n: Notices| async {}).is_none());
    Ok(())
  }

  #[test]
  fn outside_a_runtime_there_is_no_listener_and_no_receiver() {
    let changes = Changes::default();
    assert!(changes.subscribe(|_n: Notices| async {}).is_none());
  }

  #[test]
  fn retries_back_off_from_the_minimum_to_the_maximum() {
    assert_eq!(retry_delay(0), RETRY_MIN);
    assert_eq!(retry_delay(1), RETRY_MIN * 2);
    assert_eq!(retry_delay(40), RETRY_MAX);
  }
}
