//! The key ring: one current signing key, the next key announced before it is used, and
//! retired keys that still verify for a while. Rotation is a pure decision.
//!
//! Guarantees:
//! - exactly one key is `Current` and signs; a ring of one algorithm only;
//! - the next key is in the ring (and verifies) a whole rotation interval before it
//!   signs, so every process that reloads the ring within that time understands it;
//! - a retired key verifies for `overlap` (≥ one access-token lifetime plus leeway), so
//!   rotation logs nobody out (KR-01);
//! - [`KeyRing::plan`] is a pure function of (ring, now, policy); [`KeyRing::apply`]
//!   returns a new ring with `version + 1`, which a store saves by compare-and-swap on
//!   the version so that exactly one process performs each rotation;
//! - [`KeyRing::revoke`] removes a key at once (emergency): its tokens get `KEY_UNKNOWN`,
//!   which the middleware answers with "try refresh", so nobody is logged out.
//!
//! - [`KeyRing::reset_over`] makes a ring that replaces a stored one no secret opens
//!   (`resetKeyRing`): fresh keys, the next version, and the instant of the reset, which
//!   every later ring carries ([`KeyRing::sessions_after`]) so that the engines refuse the
//!   sessions created before it.
//!
//! Not guaranteed: clocks agreeing across processes; skew shifts rotation by the skew.

use crate::clock::UnixMillis;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::Algorithm;
use crate::keys::key::{Key, KeyState};

/// Most keys a ring holds (current, next, and retired ones).
pub const MAX_KEYS: usize = 16;

/// When keys rotate and how long a retired key still verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
  /// Time between two rotations. Defaults to 7 days.
  pub interval_ms: i64,
  /// How long a retired key still verifies. Must be at least the access-token lifetime
  /// plus leeway. Defaults to 1 hour.
  pub overlap_ms: i64,
}

impl Default for RotationPolicy {
  fn default() -> Self {
    Self {
      interval_ms: 7 * 24 * 3_600_000,
      overlap_ms: 3_600_000,
    }
  }
}

impl RotationPolicy {
  /// Check the policy against the access-token lifetime and leeway.
  ///
  /// # Errors
  /// `CONFIG_INVALID` when the interval is under one minute or the overlap is shorter
  /// than `access_ttl_ms + leeway_ms`.
  pub fn validate(&self, access_ttl_ms: i64, leeway_ms: i64) -> Result<()> {
    if self.interval_ms < 60_000 {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "keyRotationInterval must be at least 1 minute",
      ));
    }
    if self.overlap_ms < access_ttl_ms.saturating_add(leeway_ms) {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "retiredKeyTtl must be at least the access-token lifetime plus leeway",
      ));
    }
    Ok(())
  }
}

/// What rotation wants done at some instant; empty when nothing is due.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RotationPlan {
  /// Promote the next key to current (its activation time has come).
  pub promote: bool,
  /// Announce a new next key (there is none, or the current one is being promoted).
  pub announce: bool,
  /// Retired keys whose verify window has ended, to drop.
  pub prune: Vec<String>,
}

impl RotationPlan {
  /// Nothing to do?
  pub fn is_empty(&self) -> bool {
    !self.promote && !self.announce && self.prune.is_empty()
  }
}

/// A versioned set of keys of one algorithm.
#[derive(Debug, Clone)]
pub struct KeyRing {
  pub(crate) version: u64,
  pub(crate) alg: Algorithm,
  pub(crate) keys: Vec<Key>,
  /// When the ring was last reset (`resetKeyRing`): sessions created before are over.
  pub(crate) sessions_after: Option<UnixMillis>,
}

impl KeyRing {
  /// A new ring: a current key active from `now`, and the next one announced for
  /// `now + interval`.
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE`.
  pub fn generate(alg: Algorithm, now: UnixMillis, policy: &RotationPolicy) -> Result<Self> {
    let current = Key::generate(alg, KeyState::Current, now)?;
    let next = Key::generate(alg, KeyState::Next, now.plus_ms(policy.interval_ms))?;
    Ok(Self {
      version: 1,
      alg,
      keys: vec![current, next],
      sessions_after: None,
    })
  }

  /// Rebuild a ring from stored keys.
  ///
  /// # Errors
  /// `KEY_MATERIAL_INVALID` unless there is exactly one current key, at most one next key,
  /// at most [`MAX_KEYS`] keys, all of `alg`, with distinct kids.
  pub fn from_parts(version: u64, alg: Algorithm, keys: Vec<Key>) -> Result<Self> {
    let bad = |d| Err(err(ErrorKind::KeyMaterialInvalid, d));
    if keys.len() > MAX_KEYS {
      return bad("too many keys in the ring");
    }
    if keys.iter().filter(|k| k.state == KeyState::Current).count() != 1 {
      return bad("a ring has exactly one current key");
    }
    if keys.iter().filter(|k| k.state == KeyState::Next).count() > 1 {
      return bad("a ring has at most one next key");
    }
    if keys.iter().any(|k| k.alg != alg) {
      return bad("a ring holds keys of one algorithm");
    }
    for (i, k) in keys.iter().enumerate() {
      if keys[..i].iter().any(|o| o.kid == k.kid) {
        return bad("duplicate kid in the ring");
      }
    }
    Ok(Self {
      version,
      alg,
      keys,
      sessions_after: None,
    })
  }

  /// This ring, carrying `at` as the instant of its last reset (see
  /// [`KeyRing::sessions_after`]).
  #[must_use]
  pub fn with_sessions_after(mut self, at: Option<UnixMillis>) -> Self {
    self.sessions_after = at;
    self
  }

  /// When the ring was last reset (`resetKeyRing`), if ever: sessions created before that
  /// instant belong to the ring it replaced and are over.
  pub const fn sessions_after(&self) -> Option<UnixMillis> {
    self.sessions_after
  }

  /// A ring to store in place of a stored one of version `stored_version` that no secret
  /// opens: this ring's keys, the next version (so a compare-and-swap on the stored
  /// version decides which process resets), and `now` as the reset instant.
  #[must_use]
  pub fn reset_over(&self, stored_version: u64, now: UnixMillis) -> Self {
    let mut ring = self.clone();
    ring.version = stored_version.saturating_add(1);
    ring.sessions_after = Some(now);
    ring
  }

  /// The ring's version; every change increments it.
  pub fn version(&self) -> u64 {
    self.version
  }

  /// The ring's algorithm.
  pub fn alg(&self) -> Algorithm {
    self.alg
  }

  /// All keys, in no particular order.
  pub fn keys(&self) -> &[Key] {
    &self.keys
  }

  /// The key that signs.
  pub fn current(&self) -> &Key {
    // `generate`, `from_parts` and `apply` all keep exactly one current key.
    match self.keys.iter().find(|k| k.state == KeyState::Current) {
      Some(k) => k,
      None => &self.keys[0],
    }
  }

  /// The key named `kid` if it verifies at `now`. An exact string match; nothing else is
  /// consulted (RFC 8725 §3.10).
  pub fn verifier(&self, kid: &str, now: UnixMillis) -> Option<&Key> {
    self
      .keys
      .iter()
      .find(|k| k.kid == kid && k.verifies_at(now))
  }

  /// The key whose access-token header segment is exactly `segment`, if it verifies at
  /// `now`: the fast path for tokens we issued (no decoding, no parsing; the header was
  /// made by `jwt::header::header_segment` and is known to be valid).
  pub fn by_access_header(&self, segment: &[u8], now: UnixMillis) -> Option<&Key> {
    self
      .keys
      .iter()
      .find(|k| k.access_header.as_bytes() == segment && k.verifies_at(now))
  }

  /// What rotation wants done at `now`: pure.
  pub fn plan(&self, now: UnixMillis, _policy: &RotationPolicy) -> RotationPlan {
    let next = self.keys.iter().find(|k| k.state == KeyState::Next);
    let promote = next.is_some_and(|k| now >= k.activates_at);
    let announce = next.is_none() || promote;
    let prune = self
      .keys
      .iter()
      .filter(|k| matches!(k.state, KeyState::Retired { verify_until } if now >= verify_until))
      .map(|k| k.kid.clone())
      .collect();
    RotationPlan {
      promote,
      announce,
      prune,
    }
  }

  /// Carry out `plan` at `now`, returning the new ring (version + 1). `fresh` makes a new
  /// key when one is announced (normally [`Key::generate`]).
  ///
  /// # Errors
  /// Whatever `fresh` returns.
  pub fn apply(
    &self,
    plan: &RotationPlan,
    now: UnixMillis,
    policy: &RotationPolicy,
    mut fresh: impl FnMut(Algorithm, KeyState, UnixMillis) -> Result<Key>,
  ) -> Result<Self> {
    let mut keys: Vec<Key> = self
      .keys
      .iter()
      .filter(|k| !plan.prune.contains(&k.kid))
      .cloned()
      .collect();
    if plan.promote {
      for k in &mut keys {
        match k.state {
          KeyState::Current => {
            k.state = KeyState::Retired {
              verify_until: now.plus_ms(policy.overlap_ms),
            }
          }
          KeyState::Next => {
            k.state = KeyState::Current;
            k.activates_at = now;
          }
          KeyState::Retired { .. } => {}
        }
      }
    }
    if plan.announce {
      let base = keys
        .iter()
        .find(|k| k.state == KeyState::Current)
        .map_or(now, |k| k.activates_at);
      let at = base.plus_ms(policy.interval_ms).max(now);
      keys.push(fresh(self.alg, KeyState::Next, at)?);
    }
    // Keep the newest keys if an unusual history grew the ring past its bound.
    while keys.len() > MAX_KEYS {
      if let Some(i) = keys
        .iter()
        .position(|k| matches!(k.state, KeyState::Retired { .. }))
      {
        keys.remove(i);
      } else {
        break;
      }
    }
    Self::from_parts(self.version + 1, self.alg, keys)
      .map(|r| r.with_sessions_after(self.sessions_after))
  }

  /// Rotate if due: `plan` then `apply` with fresh random keys. `None` when nothing is due.
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE`.
  pub fn rotate_if_due(&self, now: UnixMillis, policy: &RotationPolicy) -> Result<Option<Self>> {
    let plan = self.plan(now, policy);
    if plan.is_empty() {
      return Ok(None);
    }
    self.apply(&plan, now, policy, Key::generate).map(Some)
  }

  /// Emergency: remove `kid` now. Tokens it signed get `KEY_UNKNOWN`. If it was the current
  /// key, the announced next key goes too (it was stored beside the revoked one, so
  /// whoever leaked one may hold both): a fresh current key signs from now on and a fresh
  /// next key is announced.
  ///
  /// # Errors
  /// `KEY_UNKNOWN` when the ring has no such key; `RANDOM_UNAVAILABLE`.
  pub fn revoke(&self, kid: &str, now: UnixMillis, policy: &RotationPolicy) -> Result<Self> {
    let Some(victim) = self.keys.iter().find(|k| k.kid == kid) else {
      return Err(err(ErrorKind::KeyUnknown, "no such key in the ring"));
    };
    let mut keys: Vec<Key> = self.keys.iter().filter(|k| k.kid != kid).cloned().collect();
    match victim.state {
      KeyState::Current => {
        keys.retain(|k| k.state != KeyState::Next);
        keys.push(Key::generate(self.alg, KeyState::Current, now)?);
        keys.push(Key::generate(
          self.alg,
          KeyState::Next,
          now.plus_ms(policy.interval_ms),
        )?);
      }
      KeyState::Next => {
        keys.push(Key::generate(
          self.alg,
          KeyState::Next,
          now.plus_ms(policy.interval_ms),
        )?);
      }
      KeyState::Retired { .. } => {}
    }
    Self::from_parts(self.version + 1, self.alg, keys)
      .map(|r| r.with_sessions_after(self.sessions_after))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const DAY: i64 = 24 * 3_600_000;

  fn policy() -> RotationPolicy {
    RotationPolicy {
      interval_ms: 7 * DAY,
      overlap_ms: 3_600_000,
    }
  }

  #[test]
  fn new_ring_has_a_current_and_an_announced_next_key() -> Result<()> {
    let r = KeyRing::generate(Algorithm::Hs256, UnixMillis(0), &policy())?;
    assert_eq!(r.keys().len(), 2);
    assert_eq!(r.current().state(), KeyState::Current);
    assert!(r.plan(UnixMillis(7 * DAY - 1), &policy()).is_empty());
    Ok(())
  }

  #[test]
  fn rotation_promotes_next_retires_current_and_announces_another() -> Result<()> {
    let p = policy();
    let r = KeyRing::generate(Algorithm::Hs256, UnixMillis(0), &p)?;
    let old = r.current().kid().to_owned();
    let next = r
      .keys()
      .iter()
      .find(|k| k.state() == KeyState::Next)
      .map(|k| k.kid().to_owned());
    let now = UnixMillis(7 * DAY);
    let plan = r.plan(now, &p);
    assert!(plan.promote && plan.announce && plan.prune.is_empty());
    let r2 = r.apply(&plan, now, &p, Key::generate)?;
    assert_eq!(r2.version(), r.version() + 1);
    assert_eq!(Some(r2.current().kid().to_owned()), next);
    // The old key still verifies during the overlap, and not after.
    assert!(r2.verifier(&old, now.plus_ms(3_600_000 - 1)).is_some());
    assert!(r2.verifier(&old, now.plus_ms(3_600_000)).is_none());
    // Then it is pruned.
    let later = now.plus_ms(3_600_000);
    let plan = r2.plan(later, &p);
    assert_eq!(plan.prune, vec![old]);
    let r3 = r2.apply(&plan, later, &p, Key::generate)?;
    assert_eq!(r3.keys().len(), 2);
    Ok(())
  }

  #[test]
  fn plan_is_pure() -> Result<()> {
    let r = KeyRing::generate(Algorithm::EdDsa, UnixMillis(0), &policy())?;
    let at = UnixMillis(8 * DAY);
    assert_eq!(r.plan(at, &policy()), r.plan(at, &policy()));
    Ok(())
  }

  #[test]
  fn emergency_revoke_of_current_replaces_current_and_next_with_fresh_keys() -> Result<()> {
    let p = policy();
    let r = KeyRing::generate(Algorithm::Hs256, UnixMillis(0), &p)?;
    let cur = r.current().kid().to_owned();
    let next = r
      .keys()
      .iter()
      .find(|k| k.state() == KeyState::Next)
      .map(|k| k.kid().to_owned());
    let r2 = r.revoke(&cur, UnixMillis(1000), &p)?;
    assert!(r2.verifier(&cur, UnixMillis(1000)).is_none());
    assert_ne!(r2.current().kid(), cur);
    // The announced next key was stored beside the revoked one: it is gone too.
    let next = next.unwrap_or_default();
    assert!(r2.keys().iter().all(|k| k.kid() != next));
    assert_eq!(
      r2.keys()
        .iter()
        .filter(|k| k.state() == KeyState::Next)
        .count(),
      1
    );
    assert!(r2.revoke("AAAAAAAAAAAAAAAA", UnixMillis(1000), &p).is_err());
    Ok(())
  }

  #[test]
  fn policy_overlap_must_cover_an_access_token() {
    let p = RotationPolicy {
      interval_ms: DAY,
      overlap_ms: 60_000,
    };
    assert!(p.validate(15 * 60_000, 5_000).is_err());
    assert!(policy().validate(15 * 60_000, 5_000).is_ok());
  }
}
