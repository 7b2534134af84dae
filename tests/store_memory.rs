//! The store contract and the engine scenarios against the memory store.

use std::sync::Arc;

use tandem_session::store::{conformance, MemoryStore};
use tandem_session::Result;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_store_keeps_the_store_contract() -> Result<()> {
  conformance::run_all(Arc::new(MemoryStore::default())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_scenarios_hold_on_the_memory_store() -> Result<()> {
  tandem_session::engine::conformance::run_all(Arc::new(MemoryStore::default())).await
}

/// The access cookie in express-session's shape (`s:<sid>.<jwt>`, the middleware's): read
/// when its sid is the token's own, refused (`TOKEN_INVALID`) when it names another
/// session, and `TOKEN_MALFORMED` in any other spelling; a Bearer token is the JWT alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_cookie_with_its_sid_names_its_own_session_only() -> Result<()> {
  use tandem_session::clock::FixedClock;
  use tandem_session::credentials::CookieShape;
  use tandem_session::engine::conformance::{engine, T0};
  use tandem_session::engine::NewSession;
  use tandem_session::service::Verify;
  use tandem_session::session::Owner;
  use tandem_session::ErrorKind;

  let e = engine(
    Arc::new(MemoryStore::default()),
    Arc::new(FixedClock::at(T0)),
  )
  .await?;
  let login = |user: &str| NewSession {
    owner: Owner::User(user.to_owned()),
    ..NewSession::default()
  };
  let (a, b) = (
    e.create(login("alice")).await?,
    e.create(login("bob")).await?,
  );
  let verify = |cookie: String, bearer: Option<String>| {
    e.verify_request_with(
      Some(cookie.as_bytes()),
      bearer.as_deref().map(str::as_bytes),
      "__Host-at",
      CookieShape::WithSid,
      |v, _| v.sub.to_owned(),
    )
    .map_err(|e| e.kind())
  };
  let (ha, hb) = (a.handle.to_text(), b.handle.to_text());
  let (ta, tb) = (&a.access.token, &b.access.token);
  assert_eq!(
    verify(format!("__Host-at=s:{ha}.{ta}"), None),
    Ok(Some("alice".to_owned()))
  );
  assert_eq!(
    verify(
      format!("__Host-at=s:{ha}.{ta}"),
      Some(format!("Bearer {ta}"))
    ),
    Ok(Some("alice".to_owned()))
  );
  assert_eq!(
    verify(format!("__Host-at=s:{hb}.{ta}"), None),
    Err(ErrorKind::TokenInvalid)
  );
  assert_eq!(
    verify(format!("__Host-at=s:{ha}.{tb}"), None),
    Err(ErrorKind::TokenInvalid)
  );
  assert_eq!(
    verify(
      format!("__Host-at=s:{hb}.{ta}"),
      Some(format!("Bearer {ta}"))
    ),
    Err(ErrorKind::TokenInvalid),
    "a Bearer token beside the cookie does not lift the check"
  );
  assert_eq!(
    verify(format!("__Host-at={ta}"), None),
    Err(ErrorKind::TokenMalformed)
  );
  Ok(())
}
