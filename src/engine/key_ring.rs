//! How an engine comes by its key ring at start, and what a reset of the ring
//! (`resetKeyRing`) ends.
//!
//! At start the engine adopts the store's ring, or stores its own when the store has
//! none (by compare-and-swap: the first process's ring wins, the others adopt it). A
//! stored ring that no configured secret opens is `KEYRING_UNREADABLE`, and nothing is
//! written, unless the engine was started with `reset` (the app's explicit
//! `resetKeyRing: true`): then the ring is replaced by this engine's fresh one, sealed
//! with the current secret, at the stored version plus one, by compare-and-swap on the
//! stored version, so that of several processes starting together exactly one resets and
//! the others adopt its ring (a process that lost the race never resets a second time).
//!
//! What a reset ends (it logs everyone out): access tokens signed by the old ring's keys
//! no longer verify (`KEY_UNKNOWN`); refresh tokens are MACed with the app's secret, so
//! under a new secret they are `REFRESH_FORGED`; and because the old secret could be
//! configured again later (or the ring was unreadable for another reason than the
//! secret), the new ring carries the instant of the reset and the engine refuses every
//! session created before it: its refresh is `SESSION_REVOKED` and deletes it from the
//! store, and reads and lists of the user's sessions leave it out.
//!
//! Not guaranteed: that the old sessions are deleted at once (there is no store call for
//! "every session"); they are deleted when presented, or swept when they expire. A reset
//! of a store that another app (with its own secret) still uses takes its ring from it:
//! give each app its own store instead.

use crate::error::{ErrorKind, Result};
use crate::keys::sealed;
use crate::session::SessionRecord;
use crate::store::StoredRing;

use super::Engine;

impl Engine {
  /// Adopt, publish or (with `reset`) replace the stored key ring; true when this call
  /// replaced a ring that no secret opened.
  pub(super) async fn adopt_or_publish_ring(&self, reset: bool) -> Result<bool> {
    let mut lost_a_reset = false;
    loop {
      if let Some(stored) = self.store.load_key_ring().await? {
        match self.tokens.open_ring(&stored.sealed, true) {
          Ok(_) => return Ok(false),
          Err(e) if reset && !lost_a_reset && e.kind() == ErrorKind::KeyRingUnreadable => {
            let fresh = self.tokens.ring().reset_over(stored.version, self.now());
            let out = StoredRing {
              version: fresh.version(),
              sealed: sealed::seal(&fresh, self.tokens.secrets())?,
            };
            if self.store.save_key_ring(Some(stored.version), &out).await? {
              self.tokens.install_ring_with(fresh, true);
              return Ok(true);
            }
            // The ring changed under us (another process reset or rotated it first):
            // adopt what is stored now, and never reset a second time.
            lost_a_reset = true;
            continue;
          }
          Err(e) => return Err(e),
        }
      }
      let ring = self.tokens.ring();
      let mine = StoredRing {
        version: ring.version(),
        sealed: sealed::seal(&ring, self.tokens.secrets())?,
      };
      if self.store.save_key_ring(None, &mine).await? {
        return Ok(false);
      }
      // Another process stored its ring first: adopt that one.
    }
  }

  /// Whether this engine's start replaced a stored ring that no secret opened
  /// (`resetKeyRing`), logging everyone out.
  pub const fn key_ring_reset(&self) -> bool {
    self.key_ring_reset
  }

  /// Whether session `r` was created before the last reset of the key ring (see the
  /// module): then it is over, whatever its refresh token.
  pub(super) fn ended_by_reset(&self, r: &SessionRecord) -> bool {
    self
      .tokens
      .ring()
      .sessions_after()
      .is_some_and(|at| r.created_at < at)
  }
}

#[cfg(test)]
mod tests {
  use std::sync::atomic::{AtomicBool, Ordering};
  use std::sync::Arc;

  use async_trait::async_trait;

  use super::*;
  use crate::clock::{FixedClock, UnixMillis};
  use crate::engine::conformance::T0;
  use crate::engine::{NewSession, RefreshOutcome};
  use crate::secret::Secrets;
  use crate::service::{Config, TokenService, Verify};
  use crate::session::{DeviceInfo, Owner, RefreshPolicy, RefreshState};
  use crate::store::{DataPatch, MemoryStore, Revocation, Store};
  use crate::token::Handle;

  const OLD: &str = "the-secret-the-store-was-first-started-with";
  const NEW: &str = "a-different-secret-typed-in-instead-later";

  fn tokens(secrets: &[&str], clock: &Arc<FixedClock>) -> Result<Arc<TokenService>> {
    Ok(Arc::new(TokenService::new(
      Secrets::new(secrets)?,
      Config::default(),
      None,
      Arc::clone(clock) as Arc<dyn crate::clock::Clock>,
    )?))
  }

  async fn start(
    store: &Arc<dyn Store>,
    secrets: &[&str],
    clock: &Arc<FixedClock>,
    reset: bool,
  ) -> Result<Engine> {
    let t = tokens(secrets, clock)?;
    let store = Arc::clone(store);
    if reset {
      Engine::start_resetting(t, store, RefreshPolicy::default()).await
    } else {
      Engine::start(t, store, RefreshPolicy::default()).await
    }
  }

  fn alice() -> NewSession {
    NewSession {
      owner: Owner::User("alice".into()),
      ..NewSession::default()
    }
  }

  fn refused(o: &RefreshOutcome) -> Option<ErrorKind> {
    match o {
      RefreshOutcome::Refused(k) => Some(*k),
      _ => None,
    }
  }

  #[tokio::test]
  async fn a_reset_replaces_a_ring_no_secret_opens_and_ends_every_earlier_session() -> Result<()> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(100));
    let clock = Arc::new(FixedClock::at(T0));
    let first = start(&store, &[OLD], &clock, false).await?;
    let t = first.create(alice()).await?;
    let before = store.load_key_ring().await?;
    drop(first);
    clock.advance_ms(1000);

    let wrong = start(&store, &[NEW], &clock, false).await;
    assert_eq!(
      wrong.err().map(|e| e.kind()),
      Some(ErrorKind::KeyRingUnreadable)
    );
    assert_eq!(
      store.load_key_ring().await?,
      before,
      "without the option nothing is written"
    );

    let reset = start(&store, &[NEW], &clock, true).await?;
    assert!(reset.key_ring_reset());
    let after = store.load_key_ring().await?;
    assert_eq!(
      after.as_ref().map(|r| r.version),
      before.as_ref().map(|r| r.version + 1)
    );
    let verified = reset.verify_access_with(t.access.token.as_bytes(), |_| ());
    assert_eq!(
      verified.err().map(|e| e.kind()),
      Some(ErrorKind::KeyUnknown),
      "old access tokens are refused"
    );
    let o = reset
      .refresh(t.refresh.as_bytes(), DeviceInfo::default())
      .await?;
    assert_eq!(
      refused(&o),
      Some(ErrorKind::RefreshForged),
      "old refresh tokens are refused"
    );
    let fresh = reset.create(alice()).await?;
    assert!(refused(
      &reset
        .refresh(fresh.refresh.as_bytes(), DeviceInfo::default())
        .await?
    )
    .is_none());

    // Even with the old secret configured again, the session from before the reset is over.
    let both = start(&store, &[NEW, OLD], &clock, true).await?;
    assert!(!both.key_ring_reset(), "a ring that opens is never reset");
    assert_eq!(
      both.list_user("alice").await?.len(),
      1,
      "only the new session is listed"
    );
    assert!(both.get(&t.handle).await?.is_none());
    let o = both
      .refresh(t.refresh.as_bytes(), DeviceInfo::default())
      .await?;
    assert_eq!(refused(&o), Some(ErrorKind::SessionRevoked));
    assert!(
      store.get(&t.handle).await?.is_none(),
      "and deleted from the store"
    );
    assert!(store.get(&fresh.handle).await?.is_some());
    Ok(())
  }

  /// The memory store, whose first `load_key_ring` answers what was stored before: a
  /// process that read the ring just before another process reset it.
  struct StaleOnce {
    inner: Arc<dyn Store>,
    stale: Option<StoredRing>,
    served: AtomicBool,
  }

  #[async_trait]
  impl Store for StaleOnce {
    fn kind(&self) -> &'static str {
      "stale-once"
    }
    async fn insert(&self, record: &SessionRecord) -> Result<u64> {
      self.inner.insert(record).await
    }
    async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>> {
      self.inner.get(handle).await
    }
    async fn rotate(
      &self,
      handle: &Handle,
      from: &RefreshState,
      to: &RefreshState,
      now: UnixMillis,
      device: &DeviceInfo,
    ) -> Result<bool> {
      self.inner.rotate(handle, from, to, now, device).await
    }
    async fn revoke(&self, handle: &Handle, until: UnixMillis) -> Result<Option<SessionRecord>> {
      self.inner.revoke(handle, until).await
    }
    async fn list_user(&self, user_id: &str) -> Result<Vec<SessionRecord>> {
      self.inner.list_user(user_id).await
    }
    async fn patch_data(
      &self,
      handle: &Handle,
      patch: &DataPatch,
      max: usize,
    ) -> Result<Option<u64>> {
      self.inner.patch_data(handle, patch, max).await
    }
    async fn revocations_since(&self, after: u64, limit: usize) -> Result<Vec<Revocation>> {
      self.inner.revocations_since(after, limit).await
    }
    async fn sweep(&self, now: UnixMillis) -> Result<u64> {
      self.inner.sweep(now).await
    }
    async fn load_key_ring(&self) -> Result<Option<StoredRing>> {
      if !self.served.swap(true, Ordering::AcqRel) {
        return Ok(self.stale.clone());
      }
      self.inner.load_key_ring().await
    }
    async fn save_key_ring(&self, expected: Option<u64>, ring: &StoredRing) -> Result<bool> {
      self.inner.save_key_ring(expected, ring).await
    }
  }

  #[tokio::test]
  async fn of_two_processes_resetting_together_one_resets_and_the_other_adopts_its_ring(
  ) -> Result<()> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(100));
    let clock = Arc::new(FixedClock::at(T0));
    drop(start(&store, &[OLD], &clock, false).await?);
    let old = store.load_key_ring().await?;
    let late: Arc<dyn Store> = Arc::new(StaleOnce {
      inner: Arc::clone(&store),
      stale: old.clone(),
      served: AtomicBool::new(false),
    });
    // Both read the old ring; the first resets it, the second's compare-and-swap fails.
    let winner = start(&store, &[NEW], &clock, true).await?;
    let loser = start(&late, &[NEW], &clock, true).await?;
    assert!(winner.key_ring_reset());
    assert!(
      !loser.key_ring_reset(),
      "the second process did not reset again"
    );
    assert_eq!(
      winner.tokens().ring().current().kid(),
      loser.tokens().ring().current().kid()
    );
    let stored = store.load_key_ring().await?;
    assert_eq!(
      stored.map(|r| r.version),
      old.map(|r| r.version + 1),
      "one reset: one version"
    );
    let t = winner.create(alice()).await?;
    assert!(loser
      .verify_access_with(t.access.token.as_bytes(), |_| ())
      .is_ok());

    // A loser whose secret opens neither ring does not reset the winner's.
    let stranger: Arc<dyn Store> = Arc::new(StaleOnce {
      inner: Arc::clone(&store),
      stale: store.load_key_ring().await?.map(|r| StoredRing {
        version: r.version - 1,
        ..r
      }),
      served: AtomicBool::new(false),
    });
    let e = start(
      &stranger,
      &["yet-another-secret-of-32-bytes-or-more"],
      &clock,
      true,
    )
    .await;
    assert_eq!(
      e.err().map(|e| e.kind()),
      Some(ErrorKind::KeyRingUnreadable)
    );
    assert!(winner
      .verify_access_with(t.access.token.as_bytes(), |_| ())
      .is_ok());
    Ok(())
  }
}
