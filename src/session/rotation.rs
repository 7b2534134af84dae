//! The refresh-token rotation decision: a pure function of (stored state, presented
//! token, now, policy). A store only applies its outcome atomically, by compare-and-swap
//! on the generation, which is what the `express-session` store contract lacks.
//!
//! The rules (DESIGN promises 2 and 3; security.md RT-01..RT-11, D5, D6):
//! - the current token rotates: a successor with generation + 1, derived from it, a fresh
//!   random salt and the app's secret (so only digests are stored);
//! - the immediate predecessor, presented again within the grace window (default 10 s),
//!   yields the *same* successor (two tabs, a lost response): no theft, no write;
//! - any other genuinely issued, older token is reuse: theft, the session is revoked;
//!   a token that failed its MAC never reaches this function (`REFRESH_FORGED`, nothing
//!   revoked), and a genuine token that matches nothing stored is refused without revoking;
//! - after the idle or absolute expiry, nothing rotates.
//!
//! Not decided here: what "revoke" does to the store, and the access token's data.

use crate::clock::UnixMillis;
use crate::digest::ct_eq;
use crate::error::{err, ErrorKind, Result};
use crate::secret::Secrets;
use crate::session::record::RefreshState;
use crate::token::RefreshToken;

/// Refresh-token lifetimes and grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
  /// How long the immediate predecessor still yields the same successor. Defaults to
  /// 10 000 ms; at most 60 000 (security.md D5).
  pub grace_ms: i64,
  /// Idle lifetime: a session not refreshed for this long ends. Defaults to 30 days.
  pub idle_ms: i64,
  /// Absolute lifetime from creation. Defaults to 90 days.
  pub absolute_ms: i64,
  /// Idle lifetime of an anonymous session (data kept before login): shorter, since
  /// anyone without a cookie can make one. Defaults to 1 day; never longer than
  /// `idle_ms` (see [`RefreshPolicy::for_stored_user`]).
  pub anonymous_idle_ms: i64,
}

/// The default idle lifetime of an anonymous session: 1 day.
pub const DEFAULT_ANONYMOUS_IDLE_MS: i64 = 86_400_000;

impl Default for RefreshPolicy {
  fn default() -> Self {
    Self {
      grace_ms: 10_000,
      idle_ms: 30 * 86_400_000,
      absolute_ms: 90 * 86_400_000,
      anonymous_idle_ms: DEFAULT_ANONYMOUS_IDLE_MS,
    }
  }
}

impl RefreshPolicy {
  /// Check ranges.
  ///
  /// # Errors
  /// `CONFIG_INVALID` naming the option.
  pub fn validate(&self) -> Result<()> {
    if !(0..=60_000).contains(&self.grace_ms) {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "refreshGrace must be between 0 and 60000 ms",
      ));
    }
    if self.idle_ms < 60_000 {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "refreshTokenMaxAge must be at least 1 minute",
      ));
    }
    if self.absolute_ms < 60_000 {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "absoluteMaxAge must be at least 1 minute",
      ));
    }
    if self.anonymous_idle_ms < 60_000 {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "anonymousMaxAge must be at least 1 minute",
      ));
    }
    Ok(())
  }

  /// The policy for the session stored under `stored_user_id`: an anonymous session's
  /// idle lifetime is the shorter of `anonymous_idle_ms` and `idle_ms`; a user's is
  /// `idle_ms`. Every other field is the same.
  #[must_use]
  pub fn for_stored_user(&self, stored_user_id: &str) -> Self {
    if !crate::session::owner::is_anonymous(stored_user_id) {
      return *self;
    }
    Self {
      idle_ms: self.anonymous_idle_ms.min(self.idle_ms),
      ..*self
    }
  }
}

/// Why a refresh is refused without touching the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
  /// Idle or absolute expiry has passed.
  Expired,
  /// A genuinely issued token that matches nothing stored (a generation from the future,
  /// or the current generation with another secret): refused, nothing revoked.
  Unknown,
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
  clippy::large_enum_variant,
  reason = "one short-lived value per refresh; boxing would only add an allocation"
)]
pub enum Decision {
  /// Issue `successor`; the store must replace `from` by `to` only if it still holds
  /// `from.generation` (compare-and-swap), else refresh again.
  Rotate {
    /// The new token (give it to the client).
    successor: RefreshToken,
    /// The state this decision was made on.
    from: RefreshState,
    /// The state to store.
    to: RefreshState,
  },
  /// The immediate predecessor within the grace window: give the client `successor`
  /// again (the token already stored as current). Nothing to write.
  Grace {
    /// The current token, re-derived.
    successor: RefreshToken,
  },
  /// Reuse of an already rotated token: revoke the session and raise `theft`.
  Theft,
  /// Refuse; the session stays as it is.
  Reject(Reject),
}

/// Decide what `presented` (already parsed and MAC-checked, of this session) does to
/// `state` at `now`. `fresh_salt` must be random (16 bytes from the OS CSPRNG); it is used
/// only when rotating.
///
/// # Errors
/// `TOKEN_INVALID` when the generation counter is exhausted.
pub fn decide(
  state: &RefreshState,
  presented: &RefreshToken,
  now: UnixMillis,
  policy: &RefreshPolicy,
  secrets: &Secrets,
  fresh_salt: [u8; 16],
) -> Result<Decision> {
  if now >= state.idle_expires_at || now >= state.absolute_expires_at {
    return Ok(Decision::Reject(Reject::Expired));
  }
  let gen = presented.generation();
  if gen == state.generation {
    if !presented.matches(&state.current_digest) {
      return Ok(Decision::Reject(Reject::Unknown));
    }
    let successor = presented.successor(secrets, &fresh_salt)?;
    let to = RefreshState {
      generation: successor.generation(),
      current_digest: successor.digest(),
      previous_digest: Some(state.current_digest),
      rotated_at: now,
      salt: fresh_salt,
      idle_expires_at: now.plus_ms(policy.idle_ms).min(state.absolute_expires_at),
      absolute_expires_at: state.absolute_expires_at,
    };
    return Ok(Decision::Rotate {
      successor,
      from: state.clone(),
      to,
    });
  }
  if gen > state.generation {
    return Ok(Decision::Reject(Reject::Unknown));
  }
  // An older generation, genuinely issued (its MAC verified): grace or theft.
  let immediate =
    gen + 1 == state.generation && state.previous_digest.is_some_and(|d| presented.matches(&d));
  if immediate && now < state.rotated_at.plus_ms(policy.grace_ms) {
    // Re-derive the successor under each of the app's secrets (it may have rotated since)
    // and hand back the one that is stored as current.
    for keys in secrets.all() {
      let successor = presented.successor_with(keys, &state.salt)?;
      if ct_eq(&successor.digest(), &state.current_digest) {
        return Ok(Decision::Grace { successor });
      }
    }
    return Ok(Decision::Reject(Reject::Unknown));
  }
  Ok(Decision::Theft)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::token::Handle;

  const S: &str = "rotation-test-secret-that-is-long-enough";
  const T0: UnixMillis = UnixMillis(1_800_000_000_000);

  fn setup() -> Result<(Secrets, RefreshToken, RefreshState)> {
    let secrets = Secrets::new(&[S])?;
    let t0 = RefreshToken::issue(Handle::generate()?)?;
    let p = RefreshPolicy::default();
    let state = RefreshState {
      generation: 0,
      current_digest: t0.digest(),
      previous_digest: None,
      rotated_at: T0,
      salt: [0; 16],
      idle_expires_at: T0.plus_ms(p.idle_ms),
      absolute_expires_at: T0.plus_ms(p.absolute_ms),
    };
    Ok((secrets, t0, state))
  }

  fn rotate(
    state: &RefreshState,
    t: &RefreshToken,
    now: UnixMillis,
    s: &Secrets,
    salt: u8,
  ) -> Result<(RefreshToken, RefreshState)> {
    match decide(state, t, now, &RefreshPolicy::default(), s, [salt; 16])? {
      Decision::Rotate { successor, to, .. } => Ok((successor, to)),
      other => Err(err(
        ErrorKind::Internal,
        if matches!(other, Decision::Theft) {
          "theft"
        } else {
          "not a rotation"
        },
      )),
    }
  }

  #[test]
  fn the_current_token_rotates_to_a_new_generation() -> Result<()> {
    let (s, t0, st0) = setup()?;
    let (t1, st1) = rotate(&st0, &t0, T0.plus_ms(1000), &s, 1)?;
    assert_eq!(t1.generation(), 1);
    assert_eq!(st1.generation, 1);
    assert!(t1.matches(&st1.current_digest));
    assert_eq!(st1.previous_digest, Some(t0.digest()));
    assert_eq!(
      st1.idle_expires_at,
      T0.plus_ms(1000 + RefreshPolicy::default().idle_ms)
    );
    Ok(())
  }

  #[test]
  fn the_predecessor_within_grace_gets_the_same_successor() -> Result<()> {
    let (s, t0, st0) = setup()?;
    let (t1, st1) = rotate(&st0, &t0, T0, &s, 7)?;
    for dt in [0, 5_000, 9_999] {
      let d = decide(
        &st1,
        &t0,
        T0.plus_ms(dt),
        &RefreshPolicy::default(),
        &s,
        [9; 16],
      )?;
      assert_eq!(
        d,
        Decision::Grace {
          successor: t1.clone()
        },
        "at +{dt} ms"
      );
    }
    Ok(())
  }

  #[test]
  fn the_predecessor_after_grace_is_theft() -> Result<()> {
    let (s, t0, st0) = setup()?;
    let (_, st1) = rotate(&st0, &t0, T0, &s, 7)?;
    let d = decide(
      &st1,
      &t0,
      T0.plus_ms(10_000),
      &RefreshPolicy::default(),
      &s,
      [9; 16],
    )?;
    assert_eq!(d, Decision::Theft);
    Ok(())
  }

  #[test]
  fn an_older_generation_is_theft_even_within_grace() -> Result<()> {
    // ATK-43: R1 replayed after R2 was used (so R3 exists) is theft, however quick.
    let (s, t0, st0) = setup()?;
    let (t1, st1) = rotate(&st0, &t0, T0, &s, 1)?;
    let (_, st2) = rotate(&st1, &t1, T0.plus_ms(1), &s, 2)?;
    assert_eq!(
      decide(
        &st2,
        &t0,
        T0.plus_ms(2),
        &RefreshPolicy::default(),
        &s,
        [3; 16]
      )?,
      Decision::Theft
    );
    Ok(())
  }

  #[test]
  fn a_genuine_token_matching_nothing_is_refused_without_revoking() -> Result<()> {
    let (s, t0, st0) = setup()?;
    // Same handle and generation, another secret: a token of ours that is not current.
    let other = RefreshToken::issue(t0.handle())?;
    assert_eq!(
      decide(&st0, &other, T0, &RefreshPolicy::default(), &s, [1; 16])?,
      Decision::Reject(Reject::Unknown)
    );
    // A generation from the future.
    let (t1, _) = rotate(&st0, &t0, T0, &s, 1)?;
    assert_eq!(
      decide(
        &st0,
        &t1.successor(&s, &[5; 16])?,
        T0,
        &RefreshPolicy::default(),
        &s,
        [1; 16]
      )?,
      Decision::Reject(Reject::Unknown)
    );
    Ok(())
  }

  #[test]
  fn nothing_rotates_after_idle_or_absolute_expiry() -> Result<()> {
    let (s, t0, st0) = setup()?;
    let p = RefreshPolicy::default();
    assert_eq!(
      decide(&st0, &t0, st0.idle_expires_at, &p, &s, [1; 16])?,
      Decision::Reject(Reject::Expired)
    );
    let mut st = st0.clone();
    st.absolute_expires_at = T0.plus_ms(5);
    assert_eq!(
      decide(&st, &t0, T0.plus_ms(5), &p, &s, [1; 16])?,
      Decision::Reject(Reject::Expired)
    );
    // Rotation never moves the idle expiry past the absolute one.
    let (_, st1) = rotate(&st, &t0, T0, &s, 1)?;
    assert_eq!(st1.idle_expires_at, T0.plus_ms(5));
    Ok(())
  }

  #[test]
  fn grace_survives_a_rotation_of_the_app_secret() -> Result<()> {
    let (old, t0, st0) = setup()?;
    let (t1, st1) = rotate(&st0, &t0, T0, &old, 4)?;
    let new = Secrets::new(&["a-brand-new-secret-that-is-long-enough-1", S])?;
    let d = decide(
      &st1,
      &t0,
      T0.plus_ms(100),
      &RefreshPolicy::default(),
      &new,
      [9; 16],
    )?;
    assert_eq!(d, Decision::Grace { successor: t1 });
    Ok(())
  }

  #[test]
  fn policy_ranges_are_enforced() {
    assert!(RefreshPolicy::default().validate().is_ok());
    assert!(RefreshPolicy {
      grace_ms: 60_001,
      ..RefreshPolicy::default()
    }
    .validate()
    .is_err());
    assert!(RefreshPolicy {
      grace_ms: -1,
      ..RefreshPolicy::default()
    }
    .validate()
    .is_err());
    assert!(RefreshPolicy {
      idle_ms: 1_000,
      ..RefreshPolicy::default()
    }
    .validate()
    .is_err());
    assert!(RefreshPolicy {
      anonymous_idle_ms: 59_999,
      ..RefreshPolicy::default()
    }
    .validate()
    .is_err());
  }

  #[test]
  fn an_anonymous_session_gets_the_shorter_idle_lifetime() {
    let p = RefreshPolicy::default();
    assert_eq!(p.for_stored_user("alice"), p);
    assert_eq!(
      p.for_stored_user("~anon:AAAAAAAAAAAAAAAAAAAAAA").idle_ms,
      DEFAULT_ANONYMOUS_IDLE_MS
    );
    // Never longer than a logged-in session's.
    let short = RefreshPolicy {
      idle_ms: 120_000,
      ..p
    };
    assert_eq!(short.for_stored_user("~anon:x").idle_ms, 120_000);
  }
}
