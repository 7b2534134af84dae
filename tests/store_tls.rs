//! The stores over TLS, against servers that speak nothing else (`source scripts/ci/tls.sh`
//! starts them, with a CA of its own, and exports the variables read here): a PostgreSQL
//! cluster that refuses plain TCP, a Redis server and a Redis Cluster on TLS ports with an
//! ACL user and no default user.
//!
//! For each: the store contract over a connection that checks the server's certificate and
//! name against the test CA, pushed revocation over TLS, and what must fail — the other CA,
//! the system's roots (which do not hold the test CA), a plain connection, a wrong
//! password. Without the variables the tests say so and pass, except under CI (`CI` set).

#[allow(dead_code)] // this file uses the pushed-revocation check only
mod common;

use std::sync::Arc;

use common::{end_backends, pushed_revocations_reach_another_engine, subscribers, TestResult};
use tandem_session::store::conformance;
use tandem_session::store::postgres::{Namespace, PostgresOptions};
use tandem_session::store::{tls, PostgresStore, RedisStore};
use tandem_session::ErrorKind;

/// The variable's value, or `None` (and a note) when the tests are to be skipped.
fn var(test: &str, name: &str) -> Option<String> {
  match std::env::var(name) {
    Ok(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
    _ => {
      let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
      assert!(
        !ci,
        "{test}: {name} is not set, and under CI the TLS tests may not be skipped \
         (source scripts/ci/tls.sh starts the servers and exports it)"
      );
      eprintln!("{test}: skipped: set {name} (source scripts/ci/tls.sh)");
      None
    }
  }
}

fn read(path: &str) -> TestResult<Vec<u8>> {
  Ok(std::fs::read(path)?)
}

fn with_param(url: &str, param: &str) -> String {
  let sep = if url.contains('?') { '&' } else { '?' };
  format!("{url}{sep}{param}")
}

async fn postgres(url: &str, ca: Option<Vec<u8>>) -> tandem_session::Result<PostgresStore> {
  let options = PostgresOptions {
    ca,
    ..PostgresOptions::default()
  };
  PostgresStore::connect_with(url, &options).await
}

fn kind<T>(r: &tandem_session::Result<T>) -> Option<ErrorKind> {
  r.as_ref().err().map(tandem_session::Error::kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_over_tls_checks_the_server_and_keeps_the_store_contract() -> TestResult {
  let (Some(url), Some(ca), Some(other)) = (
    var("postgres tls", "TANDEM_PG_TLS_URL"),
    var("postgres tls", "TANDEM_TLS_CA"),
    var("postgres tls", "TANDEM_TLS_OTHER_CA"),
  ) else {
    return Ok(());
  };
  let full = with_param(&url, "sslmode=verify-full");
  let store = postgres(&full, Some(read(&ca)?)).await?;
  conformance::run_all(Arc::new(store)).await?;
  // The CA as a file, as libpq's sslrootcert; by IP address too (the certificate names it).
  let by_file = with_param(&full, &format!("sslrootcert={ca}"));
  postgres(&by_file, None).await?;
  postgres(&full.replace("localhost", "127.0.0.1"), Some(read(&ca)?)).await?;
  // verify-ca checks the chain only; require without a CA encrypts without checking.
  postgres(&with_param(&url, "sslmode=verify-ca"), Some(read(&ca)?)).await?;
  postgres(&with_param(&url, "sslmode=require"), None).await?;
  // What must fail: another CA (for both checks), the system's roots, no TLS.
  for (what, r) in [
    (
      "the other CA, verify-full",
      postgres(&full, Some(read(&other)?)).await,
    ),
    (
      "the other CA, verify-ca",
      postgres(&with_param(&url, "sslmode=verify-ca"), Some(read(&other)?)).await,
    ),
    ("the system's roots", postgres(&full, None).await),
    (
      "a plain connection",
      postgres(&with_param(&url, "sslmode=disable"), None).await,
    ),
  ] {
    assert_eq!(kind(&r), Some(ErrorKind::StoreUnavailable), "{what}");
  }
  // Given twice, or not PEM: refused before any connection.
  let twice = postgres(&by_file, Some(read(&ca)?)).await;
  assert_eq!(kind(&twice), Some(ErrorKind::ConfigInvalid));
  let junk = postgres(&full, Some(b"not a certificate".to_vec())).await;
  assert_eq!(kind(&junk), Some(ErrorKind::ConfigInvalid));
  Ok(())
}

/// An admin connection over TLS (the server refuses plain TCP), checked against `ca`.
async fn admin(url: &str, ca: &str) -> TestResult<tokio_postgres::Client> {
  let config = tls::client_config(tls::Check::Full, Some(&read(ca)?))?;
  let (client, conn) =
    tokio_postgres::connect(url, tokio_postgres_rustls::MakeRustlsConnect::new(config)).await?;
  tokio::spawn(async move {
    let _ = conn.await;
  });
  Ok(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_over_tls_pushes_revocations() -> TestResult {
  let (Some(url), Some(ca)) = (
    var("postgres tls push", "TANDEM_PG_TLS_URL"),
    var("postgres tls push", "TANDEM_TLS_CA"),
  ) else {
    return Ok(());
  };
  let name = format!("tlspush{}", std::process::id());
  let full = with_param(
    &url,
    &format!("sslmode=verify-full&application_name={name}"),
  );
  // A schema of its own: the contract test writes made-up key rings in the default one.
  let options = PostgresOptions {
    ca: Some(read(&ca)?),
    namespace: Namespace::new(Some(&format!("tls_push_{}", std::process::id())), None)?,
    ..PostgresOptions::default()
  };
  let a = Arc::new(PostgresStore::connect_with(&full, &options).await?);
  let b = Arc::new(PostgresStore::connect_with(&full, &options).await?);
  let admin = admin(&with_param(&url, "sslmode=require"), &ca).await?;
  let listener = format!("{name} listener");
  let seen =
    pushed_revocations_reach_another_engine(a, b, 5, || end_backends(&admin, &listener)).await?;
  eprintln!("pushed revocation, PostgreSQL over TLS: {seen:?}");
  let schema = format!("tls_push_{}", std::process::id());
  admin
    .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
    .await?;
  Ok(())
}

async fn redis(url: &str, ca: Option<Vec<u8>>) -> tandem_session::Result<RedisStore> {
  RedisStore::connect_with_ca(url, ca.as_deref()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_over_tls_with_an_acl_user_checks_the_server_and_keeps_the_store_contract(
) -> TestResult {
  let (Some(url), Some(ca), Some(other)) = (
    var("redis tls", "TANDEM_REDIS_TLS_URL"),
    var("redis tls", "TANDEM_TLS_CA"),
    var("redis tls", "TANDEM_TLS_OTHER_CA"),
  ) else {
    return Ok(());
  };
  let store = redis(&url, Some(read(&ca)?))
    .await?
    .with_prefix(&format!("tls{}:", std::process::id()))?;
  conformance::run_all(Arc::new(store)).await?;
  redis(&url.replace("localhost", "127.0.0.1"), Some(read(&ca)?)).await?;
  let wrong_password = url.replace("tandem-tls-test-password", "not-the-password");
  assert_ne!(
    wrong_password, url,
    "the test URL carries the ACL user's password"
  );
  for (what, r) in [
    ("the other CA", redis(&url, Some(read(&other)?)).await),
    ("the system's roots", redis(&url, None).await),
    (
      "a plain connection",
      redis(&url.replacen("rediss://", "redis://", 1), None).await,
    ),
    (
      "a wrong password",
      redis(&wrong_password, Some(read(&ca)?)).await,
    ),
  ] {
    assert_eq!(kind(&r), Some(ErrorKind::StoreUnavailable), "{what}");
  }
  // A CA for a plain URL would not be used: refused rather than ignored.
  let plain_with_ca = redis(&url.replacen("rediss://", "redis://", 1), Some(read(&ca)?)).await;
  assert_eq!(kind(&plain_with_ca), Some(ErrorKind::ConfigInvalid));
  // Pushed revocation over TLS: the listener subscribes over TLS as the ACL user.
  let prefix = format!("tlspush{}:", std::process::id());
  let a = Arc::new(redis(&url, Some(read(&ca)?)).await?.with_prefix(&prefix)?);
  let b = Arc::new(redis(&url, Some(read(&ca)?)).await?.with_prefix(&prefix)?);
  let killer = redis::Client::build_with_tls(
    url.as_str(),
    redis::TlsCertificates {
      client_tls: None,
      root_cert: Some(read(&ca)?),
    },
  )?;
  let channel = format!("{prefix}events");
  let seen =
    pushed_revocations_reach_another_engine(a, b, 5, || subscribers(&killer, &channel, true))
      .await?;
  eprintln!("pushed revocation, Redis over TLS: {seen:?}");
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_cluster_over_tls_keeps_the_store_contract() -> TestResult {
  let (Some(urls), Some(ca)) = (
    var("redis cluster tls", "TANDEM_REDIS_TLS_CLUSTER"),
    var("redis cluster tls", "TANDEM_TLS_CA"),
  ) else {
    return Ok(());
  };
  let urls: Vec<String> = urls.split(',').map(|u| u.trim().to_owned()).collect();
  let store = RedisStore::connect_cluster_with_ca(&urls, Some(&read(&ca)?))
    .await?
    .with_prefix(&format!("tlscl{}:", std::process::id()))?;
  conformance::run_all(Arc::new(store)).await?;
  let without = RedisStore::connect_cluster(&urls).await;
  assert!(
    without.is_err(),
    "the system's roots do not hold the test CA"
  );
  let mixed = vec![
    urls[0].clone(),
    urls[1].replacen("rediss://", "redis://", 1),
  ];
  assert_eq!(
    RedisStore::connect_cluster(&mixed)
      .await
      .err()
      .map(|e| e.kind()),
    Some(ErrorKind::ConfigInvalid)
  );
  Ok(())
}
