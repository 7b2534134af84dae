//! The Redis store: sessions shared by many machines, on one Redis server
//! ([`RedisStore::connect`]) or on a Redis Cluster ([`RedisStore::connect_cluster`]).
//!
//! Key layout (every name starts with the store's prefix `P`, `ts:` by default, see `keys`;
//! `HH` is the first byte of the handle in hex, so sessions are spread over 256
//! hash tags, and every key of one session is in the one hash slot of its tag):
//! - `P{HH}:s:<handle>`: a hash with the session's fields (user id, refresh state, times,
//!   devices, claims as JSON, data version, and the data's size for `maxDataBytes`);
//! - `P{HH}:d:<handle>`: a hash with one field per data key, the value as JSON text, so a
//!   patch touches only its keys;
//! - `P{HH}:exp`: a sorted set of the tag's handles scored by their earliest expiry
//!   (idle or absolute), which [`Store::sweep`] reads;
//! - `P{HH}:anon`: a sorted set of the tag's anonymous sessions scored by creation time,
//!   for their quota (see `store::anonymous`): it is split evenly over the 256 tags, and a
//!   new anonymous session beyond its tag's share evicts the tag's oldest in the insert's
//!   script;
//! - `P{HH}:out` (cluster only): revocations not yet copied to the feed (see below);
//! - `Pu:{<user id>}`: a sorted set of the user's handles scored by absolute expiry (its
//!   own slot: user-wide calls read it, then go session by session); anonymous sessions
//!   have none (their reserved id names their one session);
//! - `{Pfeed}:seq`, `{Pfeed}:log`, `{Pfeed}:until`: the revocation feed (a counter, and
//!   two sorted sets of its entries, by position and by `until`);
//! - `{Pring}`: a hash with the sealed key ring and its version.
//!
//! Guarantees:
//! - the full [`Store`] contract, also across processes and machines: every change of a
//!   session (insert-if-absent, compare-and-swap rotation, patch-if-exists with its version
//!   bump, revocation) and of the key ring is one Lua script run by Redis as one atomic
//!   step (`EVALSHA`, loaded again by itself after a restart); nothing is ever an upsert:
//!   rotate and patch check inside the script that the session exists;
//! - on one server, a revocation deletes the session and appends to the feed in one
//!   script. On a cluster the feed lives in its own slot, so a revocation is two steps: one
//!   script deletes the session and notes the revocation in its tag's `out` set (so from
//!   then on nothing can bring the session back), a second appends it to the feed and the
//!   note is dropped. If the second step fails, the call still returns the deleted record
//!   (the revocation happened) and the next [`Store::sweep`] copies notes older than
//!   [`OUTBOX_AGE_MS`] to the feed: every revocation reaches the feed at least once;
//! - change notices (`store::changes`): the scripts that append to the feed or save the
//!   key ring also `PUBLISH` on the prefix's channel (`Pevents`) in the same atomic step;
//!   [`Store::changes`] starts a listener subscribed on one server (on a cluster, any node
//!   hears every publish: classic pub/sub is broadcast over the cluster bus), which pings,
//!   resubscribes by itself (the next node, with backoff), and whose every
//!   (re)subscription is a notice, so nothing sent while it was down is missed;
//! - feed positions come from `INCR` in the same script that writes the entry, so a
//!   position is visible only together with every smaller one: a reader that remembers the
//!   last position it saw misses nothing; the feed keeps at most [`MAX_FEED`] entries;
//! - Redis expires a session's keys by itself, [`TTL_SLACK_MS`] after its earliest expiry
//!   as the engine's clock saw it at the last insert or rotation (the TTL is relative to
//!   the times given to the store, so a fixed test clock or a skewed server clock does not
//!   expire sessions early); [`Store::sweep`] removes expired sessions exactly at `now`;
//! - connections, responses and every request time out (1 s to connect, 2 s to answer):
//!   an unreachable server is `STORE_UNAVAILABLE` within seconds, never a hang, and the
//!   same store reconnects by itself once the server is back; a value that does not decode
//!   is `STORE_CORRUPT`; messages are fixed texts, never data, never the URL (which may
//!   hold a password).
//!
//! Not guaranteed:
//! - durability: that is the server's configuration (AOF, replicas); a failover to a
//!   replica that had not yet received a write loses it, as with any Redis data;
//! - that a call which failed with `STORE_UNAVAILABLE` did nothing: a timeout can come after
//!   the server ran the script (each script is still whole or absent);
//! - that [`Store::list_user`] is one snapshot: it reads the user's index, then each
//!   session (each one whole); a session revoked in between is left out;
//! - spread beyond 256 hash slots: sessions use at most 256 tags, plenty for clusters of
//!   up to dozens of primaries;
//! - that `get` returns a session past its expiry until a sweep (Redis may have expired
//!   it); the count a sweep returns includes expired sessions whose keys Redis had already
//!   dropped;
//! - that two stores with the same prefix are two apps: they share sessions and key ring
//!   (as intended for the processes of one app); give each app its own prefix
//!   ([`RedisStore::with_prefix`]), database (`redis://host/2`) or server.
//!
//! Needs Redis 5 or later (scripts read `TIME` after writing); tested with Redis 7.0.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::ClusterClientBuilder;
use ::redis::cluster_async::ClusterConnection;
use ::redis::{Client, Cmd, Pipeline, RedisFuture, RedisResult, Script, TlsCertificates, Value};
use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::{Map, Value as Json};
use tokio::task::JoinSet;

use crate::clock::UnixMillis;
use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::session::owner::{anonymous_handle, is_anonymous};
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::store::anonymous::DEFAULT_MAX_ANONYMOUS;
use crate::store::changes::{self, Change, Changes, Kind, Notices};
use crate::store::codec::{self, decode_device, encode_device};
use crate::store::row::{self, Column, Columns, Device};
use crate::store::tls;
use crate::store::{DataPatch, Revocation, Store, StoredRing};
use crate::token::Handle;

mod keys;
use keys::tag;
pub use keys::{Keys, DEFAULT_PREFIX, MAX_PREFIX_LEN};

/// The key of a session's hash of fields under the default prefix: for operators and tests.
pub fn session_key(h: &Handle) -> String {
  Keys::default().session(h)
}

/// How long connecting to a server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a server may take to answer one request.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The bound on one request including reconnection and cluster redirections.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Redis expires a session's keys this long after its earliest expiry.
pub const TTL_SLACK_MS: i64 = 10 * 60 * 1000;
/// The feed keeps at most this many entries (the oldest go first).
pub const MAX_FEED: u64 = 100_000;
/// On a cluster, a revocation not copied to the feed this long after it happened is
/// copied by the next sweep.
pub const OUTBOX_AGE_MS: i64 = 10_000;

const SWEEP_PAGE: usize = 1000;
const LIST_CONCURRENCY: usize = 64;
const LAYOUT: &str = "1";

/// One request (or a few, for scripts loading themselves), bounded in time.
async fn io<T>(f: impl Future<Output = RedisResult<T>>) -> Result<T> {
  match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
    Ok(Ok(v)) => Ok(v),
    Ok(Err(e)) => Err(e.into()),
    Err(_) => Err(row::unavailable("the Redis store did not answer in time")),
  }
}

// ---------------------------------------------------------------------------------------
// Scripts. Each runs atomically; each checks before it writes, so a script error (a bug,
// a key of the wrong type) leaves nothing half-written where it matters.

/// Insert if absent. KEYS: s, d, exp, anon. ARGV: handle, ttl, score, the tag's share of
/// the anonymous quota ('0' for a logged-in session), created at, n, n field/value items
/// of the session hash, then data key/JSON pairs. An anonymous session first makes room
/// under the share by deleting the tag's oldest anonymous sessions (all their keys: they
/// are in this slot, named as KEYS[1] and KEYS[2] are, with another handle).
static INSERT: LazyLock<Script> = LazyLock::new(|| {
  Script::new(
    r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local quota = tonumber(ARGV[4])
if quota > 0 then
  local extra = redis.call('ZCARD', KEYS[4]) + 1 - quota
  if extra > 0 then
    local sp = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1])
    local dp = string.sub(KEYS[2], 1, #KEYS[2] - #ARGV[1])
    for _, h in ipairs(redis.call('ZRANGE', KEYS[4], 0, extra - 1)) do
      redis.call('DEL', sp .. h, dp .. h)
      redis.call('ZREM', KEYS[3], h)
    end
    redis.call('ZREMRANGEBYRANK', KEYS[4], 0, extra - 1)
  end
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
end
redis.call('DEL', KEYS[2])
local n = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], unpack(ARGV, 7, 6 + n))
local i = 7 + n
while i <= #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
",
  )
});

/// Read a session whole. KEYS: s, d.
static GET: LazyLock<Script> = LazyLock::new(|| {
  Script::new(
    r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
",
  )
});

/// Compare-and-swap rotation. KEYS: s, d, exp. ARGV: handle, from generation, from digest,
/// ttl, score, has previous ('1'/'0'), then field/value pairs. Returns the user id, or nil
/// when nothing was changed.
static ROTATE: LazyLock<Script> = LazyLock::new(|| {
  Script::new(
    r"
local cur = redis.call('HMGET', KEYS[1], 'gen', 'cur', 'user')
if not cur[1] or cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] then return false end
if ARGV[6] == '0' then redis.call('HDEL', KEYS[1], 'prev') end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
return cur[3] or ''
",
  )
});

/// Patch if the session exists and its data stays within the limit. KEYS: s, d. ARGV: the
/// limit in bytes, then triples of op ('s' set, 'd' delete), key, JSON. The session hash
/// keeps the data's size (`codec::data_size`: key and value bytes) in 'db', counted here
/// from the data hash when missing (a session written before the limit existed). Returns
/// the new data version, nil when there is no session, -1 when the data would grow past
/// the limit (then nothing is written).
static PATCH: LazyLock<Script> = LazyLock::new(|| {
  Script::new(
    r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local before = tonumber(redis.call('HGET', KEYS[1], 'db'))
if not before then
  before = 0
  local all = redis.call('HGETALL', KEYS[2])
  for j = 1, #all, 2 do before = before + #all[j] + #all[j + 1] end
end
local size = before
local final = {}
local i = 2
while i <= #ARGV do
  local k = ARGV[i + 1]
  local old = final[k]
  if old == nil then old = redis.call('HGET', KEYS[2], k) end
  if old then size = size - #k - #old end
  if ARGV[i] == 's' then
    size = size + #k + #ARGV[i + 2]
    final[k] = ARGV[i + 2]
  else
    final[k] = false
  end
  i = i + 3
end
if size > tonumber(ARGV[1]) and size > before then return -1 end
for k, v in pairs(final) do
  if v then redis.call('HSET', KEYS[2], k, v) else redis.call('HDEL', KEYS[2], k) end
end
redis.call('HSET', KEYS[1], 'db', size)
local v = redis.call('HINCRBY', KEYS[1], 'dv', 1)
local t = redis.call('PTTL', KEYS[1])
if t > 0 then redis.call('PEXPIRE', KEYS[2], t) end
return v
",
  )
});

/// Appends one entry to the feed and publishes its position on the store's channel (a
/// notice for the listeners, see `store::changes`): KEYS[a..a+2] are seq, log, until;
/// handle, until, max, channel are the Lua values `h`, `u`, `max`, `ch`.
const FEED_APPEND_LUA: &str = r"
local n = redis.call('INCR', KEYS[fa])
redis.call('PUBLISH', ch, n)
local m = string.format('%d', n) .. ':' .. h .. ':' .. u
redis.call('ZADD', KEYS[fa + 1], n, m)
redis.call('ZADD', KEYS[fa + 2], u, m)
local extra = redis.call('ZCARD', KEYS[fa + 1]) - tonumber(max)
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[fa + 1], 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[fa + 1], 0, extra - 1)
  for _, o in ipairs(old) do redis.call('ZREM', KEYS[fa + 2], o) end
end
";

/// Reads then deletes a session (the common head of both revocations). KEYS: s, d, exp,
/// anon. ARGV[1]: handle.
const REVOKE_HEAD_LUA: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local rec = {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
";

/// One server: delete and append to the feed in one step. KEYS: s, d, exp, anon, seq,
/// log, until. ARGV: handle, until, max feed, channel.
static REVOKE_ONE_SERVER: LazyLock<Script> = LazyLock::new(|| {
  Script::new(&format!(
    "{REVOKE_HEAD_LUA}local fa, h, u, max, ch = 5, ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n{FEED_APPEND_LUA}return rec\n"
  ))
});

/// Cluster: delete and note the revocation in the tag's outbox. KEYS: s, d, exp, anon,
/// out. ARGV: handle, until.
static REVOKE_TO_OUTBOX: LazyLock<Script> = LazyLock::new(|| {
  Script::new(&format!(
    "{REVOKE_HEAD_LUA}{NOW_MS_LUA}redis.call('ZADD', KEYS[5], now_ms, ARGV[1] .. ' ' .. ARGV[2])\nreturn rec\n"
  ))
});

/// The server's time in ms, as `now_ms`.
const NOW_MS_LUA: &str = r"
local tt = redis.call('TIME')
local now_ms = tonumber(tt[1]) * 1000 + math.floor(tonumber(tt[2]) / 1000)
";

/// Append to the feed. KEYS: seq, log, until. ARGV: handle, until, max feed, channel.
static FEED_APPEND: LazyLock<Script> = LazyLock::new(|| {
  Script::new(&format!(
    "local fa, h, u, max, ch = 1, ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n{FEED_APPEND_LUA}return n\n"
  ))
});

/// What a sweep of one tag has to do. KEYS: exp, out. ARGV: now, limit, outbox age.
/// Returns {expired handles, outbox entries older than the age}.
static SWEEP_SCAN: LazyLock<Script> = LazyLock::new(|| {
  Script::new(&format!(
    "{NOW_MS_LUA}
local h = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local cut = string.format('%d', now_ms - tonumber(ARGV[3]))
local o = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cut, 'LIMIT', 0, ARGV[2])
return {{h, o}}
"
  ))
});

/// Delete a session if it is still expired at `now`. KEYS: s, d, exp, anon. ARGV:
/// handle, now. Returns the user id ('' when the keys were already gone), or nil.
static SWEEP_ONE: LazyLock<Script> = LazyLock::new(|| {
  Script::new(
    r"
local sc = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not sc or tonumber(sc) > tonumber(ARGV[2]) then return false end
local u = redis.call('HGET', KEYS[1], 'user')
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return u or ''
",
  )
});

/// Forget feed entries with `until <= now`, at most `limit`. KEYS: log, until. ARGV: now,
/// limit. Returns how many.
static FEED_SWEEP: LazyLock<Script> = LazyLock::new(|| {
  Script::new(
    r"
local m = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, x in ipairs(m) do
  redis.call('ZREM', KEYS[1], x)
  redis.call('ZREM', KEYS[2], x)
end
return #m
",
  )
});

/// Add a handle to a user's index, dropping entries past their absolute expiry, and keep
/// the index alive at least `ttl`. KEYS: user. ARGV: now, score, handle, ttl.
static USER_ADD: LazyLock<Script> = LazyLock::new(|| {
  Script::new(
    r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local t = redis.call('PTTL', KEYS[1])
if t < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return redis.call('ZCARD', KEYS[1])
",
  )
});

/// Key ring compare-and-swap, published on the channel when it saves. KEYS: ring. ARGV:
/// expected version ('' for none), version, sealed, channel.
static RING_SAVE: LazyLock<Script> = LazyLock::new(|| {
  Script::new(
    r"
local v = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
  if v then return 0 end
elseif v ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'sealed', ARGV[3])
redis.call('PUBLISH', ARGV[4], 'ring')
return 1
",
  )
});

/// A tag's share of an anonymous quota: at least 1.
fn per_tag(max_anonymous: u64) -> u64 {
  max_anonymous.div_ceil(256).max(1)
}

// ---------------------------------------------------------------------------------------
// Connections.

/// A connection to one server (reconnecting by itself) or to a cluster.
#[derive(Clone)]
enum Conn {
  Single(ConnectionManager),
  Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
  fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
    match self {
      Self::Single(c) => c.req_packed_command(cmd),
      Self::Cluster(c) => c.req_packed_command(cmd),
    }
  }

  fn req_packed_commands<'a>(
    &'a mut self,
    pipeline: &'a Pipeline,
    offset: usize,
    count: usize,
  ) -> RedisFuture<'a, Vec<Value>> {
    match self {
      Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
      Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
    }
  }

  fn get_db(&self) -> i64 {
    match self {
      Self::Single(c) => c.get_db(),
      Self::Cluster(c) => c.get_db(),
    }
  }
}

/// Check that a CA is usable and wanted: PEM certificates, for a `rediss://` URL.
fn ca_for(tls: bool, ca: &[u8]) -> Result<()> {
  if !tls {
    return Err(err(
      ErrorKind::ConfigInvalid,
      "a Redis CA was given for a redis:// URL: use rediss:// for TLS",
    ));
  }
  tls::pem_certificates(ca).map(|_| ())
}

/// A client for one server URL (`rediss://` over TLS, trusting `ca` or the system's roots;
/// `redis://user:password@…` logs in with that ACL user).
fn server_client(url: &str, ca: Option<&[u8]>) -> Result<Client> {
  let invalid = || err(ErrorKind::ConfigInvalid, "the Redis URL is not valid");
  let secure = url.starts_with("rediss://");
  if secure {
    tls::install_provider();
  }
  match ca {
    None => Client::open(url).map_err(|_| invalid()),
    Some(ca) => {
      ca_for(secure, ca)?;
      let certs = TlsCertificates {
        client_tls: None,
        root_cert: Some(ca.to_vec()),
      };
      Client::build_with_tls(url, certs).map_err(|_| invalid())
    }
  }
}

/// The Redis store.
#[derive(Clone)]
pub struct RedisStore {
  conn: Conn,
  /// The servers a listener may subscribe on (one; or every cluster node given).
  listen_on: Arc<[Client]>,
  /// Pushed notices of changes (see `store::changes`).
  changes: Arc<Changes>,
  /// Every key and channel name, under the store's prefix.
  keys: Arc<Keys>,
  /// Each tag's share of the anonymous sessions' quota.
  anonymous_per_tag: u64,
}

impl std::fmt::Debug for RedisStore {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    // Never the URL: it may carry a password.
    let mode = match self.conn {
      Conn::Single(_) => "single server",
      Conn::Cluster(_) => "cluster",
    };
    f.debug_struct("RedisStore").field("mode", &mode).finish()
  }
}

impl RedisStore {
  /// Connect to one Redis server, e.g. `redis://127.0.0.1:6379`, `rediss://` for TLS
  /// (the server's certificate checked against the system's roots and its name; see
  /// [`RedisStore::connect_with_ca`]), `redis://user:password@host:port/db` for an ACL
  /// user. Needs a tokio runtime.
  ///
  /// # Errors
  /// `CONFIG_INVALID` for a URL that does not parse or names a cluster node (use
  /// [`RedisStore::connect_cluster`]); `STORE_UNAVAILABLE` when the server cannot be
  /// reached within [`REQUEST_TIMEOUT`].
  pub async fn connect(url: &str) -> Result<Self> {
    Self::connect_with_ca(url, None).await
  }

  /// [`RedisStore::connect`], trusting the PEM certificates `ca` for a `rediss://` URL
  /// instead of the system's roots.
  ///
  /// # Errors
  /// As [`RedisStore::connect`]; `CONFIG_INVALID` also for a CA that holds no certificate,
  /// or a CA with a `redis://` URL (it would not be used).
  pub async fn connect_with_ca(url: &str, ca: Option<&[u8]>) -> Result<Self> {
    let client = server_client(url, ca)?;
    let listen_on: Arc<[Client]> = Arc::new([client.clone()]);
    let config = ConnectionManagerConfig::new()
      .set_connection_timeout(Some(CONNECT_TIMEOUT))
      .set_response_timeout(Some(RESPONSE_TIMEOUT))
      .set_number_of_retries(1)
      .set_min_delay(Duration::from_millis(50))
      .set_max_delay(Duration::from_millis(500));
    let manager = io(ConnectionManager::new_with_config(client, config)).await?;
    let mut conn = Conn::Single(manager);
    let info: String = io(::redis::cmd("INFO").arg("cluster").query_async(&mut conn)).await?;
    if info.lines().any(|l| l.trim() == "cluster_enabled:1") {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "this Redis server is a cluster node: connect to the cluster",
      ));
    }
    Ok(Self {
      conn,
      listen_on,
      changes: Arc::default(),
      keys: Arc::new(Keys::default()),
      anonymous_per_tag: per_tag(DEFAULT_MAX_ANONYMOUS),
    })
  }

  /// Connect to a Redis Cluster through any of its nodes, e.g.
  /// `["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]`. Needs a tokio runtime.
  ///
  /// # Errors
  /// `CONFIG_INVALID` for no URL or one that does not parse; `STORE_UNAVAILABLE` when no
  /// node can be reached within [`REQUEST_TIMEOUT`].
  pub async fn connect_cluster(urls: &[String]) -> Result<Self> {
    Self::connect_cluster_with_ca(urls, None).await
  }

  /// [`RedisStore::connect_cluster`], trusting the PEM certificates `ca` for `rediss://`
  /// URLs instead of the system's roots.
  ///
  /// # Errors
  /// As [`RedisStore::connect_cluster`] and [`RedisStore::connect_with_ca`].
  pub async fn connect_cluster_with_ca(urls: &[String], ca: Option<&[u8]>) -> Result<Self> {
    if urls.is_empty() {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "the Redis Cluster needs at least one URL",
      ));
    }
    let tls = urls.iter().any(|u| u.starts_with("rediss://"));
    if tls != urls.iter().all(|u| u.starts_with("rediss://")) {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "the Redis Cluster URLs must all be redis:// or all rediss://",
      ));
    }
    let mut builder = ClusterClientBuilder::new(urls.iter().map(String::as_str));
    if let Some(ca) = ca {
      ca_for(tls, ca)?;
      builder = builder.certs(TlsCertificates {
        client_tls: None,
        root_cert: Some(ca.to_vec()),
      });
    }
    let client = builder
      .connection_timeout(CONNECT_TIMEOUT)
      .response_timeout(RESPONSE_TIMEOUT)
      .retries(3)
      .min_retry_wait(20)
      .max_retry_wait(500)
      .build()
      .map_err(|_| err(ErrorKind::ConfigInvalid, "a Redis Cluster URL is not valid"))?;
    let listen_on = urls
      .iter()
      .map(|u| server_client(u, ca))
      .collect::<Result<Arc<[Client]>>>()?;
    let conn = io(client.get_async_connection()).await?;
    let store = Self {
      conn: Conn::Cluster(conn),
      listen_on,
      changes: Arc::default(),
      keys: Arc::new(Keys::default()),
      anonymous_per_tag: per_tag(DEFAULT_MAX_ANONYMOUS),
    };
    // Ask every primary once, so that a cluster with an unreachable node fails here.
    let mut c = store.conn.clone();
    let _: Value = io(::redis::cmd("PING").query_async(&mut c)).await?;
    Ok(store)
  }

  /// The same store with at most `max_anonymous` anonymous sessions (default
  /// [`DEFAULT_MAX_ANONYMOUS`]), split evenly over the 256 tags (each tag keeps at least
  /// one, so the bound is `max_anonymous` rounded up to a multiple of 256).
  #[must_use]
  pub fn with_max_anonymous(mut self, max_anonymous: u64) -> Self {
    self.anonymous_per_tag = per_tag(max_anonymous);
    self
  }

  /// The same store with its keys under `prefix` instead of [`DEFAULT_PREFIX`], so that
  /// apps sharing one Redis database keep apart (see `keys`).
  ///
  /// # Errors
  /// `CONFIG_INVALID` for a prefix `Keys::new` refuses.
  pub fn with_prefix(mut self, prefix: &str) -> Result<Self> {
    self.keys = Arc::new(Keys::new(prefix)?);
    Ok(self)
  }

  fn is_cluster(&self) -> bool {
    matches!(self.conn, Conn::Cluster(_))
  }

  async fn add_to_user(
    &self,
    user_id: &str,
    handle: &Handle,
    now: UnixMillis,
    absolute: UnixMillis,
  ) -> Result<u64> {
    let ttl = ttl_ms(absolute, now);
    let mut c = self.conn.clone();
    let mut inv = USER_ADD.prepare_invoke();
    inv
      .key(self.keys.user(user_id))
      .arg(now.0)
      .arg(absolute.0)
      .arg(handle.to_text())
      .arg(ttl);
    io(inv.invoke_async::<i64>(&mut c))
      .await
      .and_then(row::to_u64)
  }

  async fn remove_from_user(&self, user_id: &str, handle: &Handle) -> Result<()> {
    let mut c = self.conn.clone();
    io(
      ::redis::cmd("ZREM")
        .arg(self.keys.user(user_id))
        .arg(handle.to_text())
        .query_async::<i64>(&mut c),
    )
    .await
    .map(|_| ())
  }

  async fn append_to_feed(&self, handle_text: &str, until: &str) -> Result<u64> {
    let mut c = self.conn.clone();
    let mut inv = FEED_APPEND.prepare_invoke();
    inv
      .key(&self.keys.feed_seq)
      .key(&self.keys.feed_log)
      .key(&self.keys.feed_until)
      .arg(handle_text)
      .arg(until)
      .arg(MAX_FEED)
      .arg(&self.keys.channel);
    io(inv.invoke_async::<u64>(&mut c)).await
  }

  /// Sweep one tag; returns how many sessions it removed.
  async fn sweep_tag(&self, t: &str, now: UnixMillis) -> Result<u64> {
    let mut removed = 0;
    // Each page removes what it returns, so this ends; the bound is a guard.
    for _ in 0..10_000 {
      let mut c = self.conn.clone();
      let mut inv = SWEEP_SCAN.prepare_invoke();
      inv
        .key(self.keys.expiry(t))
        .key(self.keys.outbox(t))
        .arg(now.0)
        .arg(SWEEP_PAGE)
        .arg(OUTBOX_AGE_MS);
      let (expired, outbox): (Vec<String>, Vec<String>) = io(inv.invoke_async(&mut c)).await?;
      for text in &expired {
        let handle = row::handle_text(text)?;
        let mut inv = SWEEP_ONE.prepare_invoke();
        inv
          .key(self.keys.session(&handle))
          .key(self.keys.data(&handle))
          .key(self.keys.expiry(t))
          .key(self.keys.anonymous(t))
          .arg(text)
          .arg(now.0);
        let user: Option<String> = io(inv.invoke_async(&mut c)).await?;
        if let Some(user) = user {
          removed += 1;
          if !user.is_empty() && !is_anonymous(&user) {
            self.remove_from_user(&user, &handle).await?;
          }
        }
      }
      for entry in &outbox {
        let (h, until) = entry.split_once(' ').ok_or_else(row::corrupt)?;
        row::handle_text(h)?;
        until.parse::<i64>().map_err(|_| row::corrupt())?;
        self.append_to_feed(h, until).await?;
        io(
          ::redis::cmd("ZREM")
            .arg(self.keys.outbox(t))
            .arg(entry)
            .query_async::<i64>(&mut c),
        )
        .await?;
      }
      if expired.len() < SWEEP_PAGE && outbox.len() < SWEEP_PAGE {
        break;
      }
    }
    Ok(removed)
  }
}

/// A TTL (ms) that ends [`TTL_SLACK_MS`] after `until`, counted from `now`.
fn ttl_ms(until: UnixMillis, now: UnixMillis) -> i64 {
  until
    .0
    .saturating_sub(now.0)
    .max(0)
    .saturating_add(TTL_SLACK_MS)
}

fn earliest_expiry(r: &RefreshState) -> UnixMillis {
  r.idle_expires_at.min(r.absolute_expires_at)
}

/// The refresh-state fields of a session hash (digests and salt in base64url).
fn refresh_fields(r: &RefreshState, out: &mut Vec<(&'static str, String)>) {
  out.push(("gen", r.generation.to_string()));
  out.push(("cur", encoding::encode(&r.current_digest)));
  if let Some(p) = &r.previous_digest {
    out.push(("prev", encoding::encode(p)));
  }
  out.push(("rot", r.rotated_at.0.to_string()));
  out.push(("salt", encoding::encode(&r.salt)));
  out.push(("idle", r.idle_expires_at.0.to_string()));
  out.push(("abs", r.absolute_expires_at.0.to_string()));
}

fn session_fields(r: &SessionRecord) -> Result<Vec<(&'static str, String)>> {
  let mut f = Vec::with_capacity(16);
  f.push(("v", LAYOUT.to_owned()));
  f.push(("user", r.user_id.clone()));
  refresh_fields(&r.refresh, &mut f);
  f.push(("created", r.created_at.0.to_string()));
  f.push(("refreshed", r.last_refresh_at.0.to_string()));
  f.push(("cdev", encode_device(&r.created_device)));
  f.push(("ldev", encode_device(&r.last_device)));
  f.push(("claims", row::json_text(&r.claims)?));
  f.push(("dv", r.data_version.to_string()));
  f.push(("db", codec::data_size(&r.data).to_string()));
  Ok(f)
}

/// A session's two hashes as read back (its fields, and its data one key a field), read
/// by [`row::decode_record`].
struct Hashes<'a> {
  handle: Handle,
  fields: &'a HashMap<String, String>,
  data: &'a HashMap<String, String>,
}

impl Hashes<'_> {
  /// The field of `c` in the session hash, if it has one of its own.
  fn field(&self, c: Column) -> Option<&str> {
    let name = match c {
      Column::UserId => "user",
      Column::Generation => "gen",
      Column::CurrentDigest => "cur",
      Column::PreviousDigest => "prev",
      Column::RotatedAt => "rot",
      Column::Salt => "salt",
      Column::IdleExpiresAt => "idle",
      Column::AbsoluteExpiresAt => "abs",
      Column::CreatedAt => "created",
      Column::LastRefreshAt => "refreshed",
      Column::Claims => "claims",
      Column::DataVersion => "dv",
      // In the key, in the device fields, in the data hash.
      _ => return None,
    };
    self.fields.get(name).map(String::as_str)
  }

  fn parsed<T: std::str::FromStr>(&self, c: Column) -> Result<T> {
    self
      .field(c)
      .ok_or_else(row::corrupt)?
      .parse()
      .map_err(|_| row::corrupt())
  }
}

impl Columns for Hashes<'_> {
  fn handle(&self) -> Result<Handle> {
    Ok(self.handle)
  }
  fn int(&self, c: Column) -> Result<i64> {
    self.parsed(c)
  }
  fn uint(&self, c: Column) -> Result<u64> {
    self.parsed(c)
  }
  fn text(&self, c: Column) -> Result<Option<String>> {
    Ok(self.field(c).map(str::to_owned))
  }
  fn bytes(&self, c: Column) -> Result<Option<Vec<u8>>> {
    self
      .field(c)
      .map(|t| encoding::decode_strict(t.as_bytes(), 64, ErrorKind::StoreCorrupt))
      .transpose()
      .map_err(|_| row::corrupt())
  }
  fn device(&self, which: Device) -> Result<DeviceInfo> {
    let name = match which {
      Device::Created => "cdev",
      Device::Last => "ldev",
    };
    decode_device(self.fields.get(name).ok_or_else(row::corrupt)?)
  }
  fn data(&self) -> Result<Map<String, Json>> {
    self
      .data
      .iter()
      .map(|(k, v)| Ok((k.clone(), row::from_json(v)?)))
      .collect()
  }
}

/// A session from its two hashes.
///
/// # Errors
/// `STORE_CORRUPT` for another layout or a field that does not decode.
fn decode_record(
  handle: Handle,
  fields: &HashMap<String, String>,
  data: &HashMap<String, String>,
) -> Result<SessionRecord> {
  if fields.get("v").map(String::as_str) != Some(LAYOUT) {
    return Err(row::corrupt());
  }
  row::decode_record(&Hashes {
    handle,
    fields,
    data,
  })
}

type RawRecord = (HashMap<String, String>, HashMap<String, String>);

async fn get_with(mut c: Conn, keys: Arc<Keys>, handle: Handle) -> Result<Option<SessionRecord>> {
  let mut inv = GET.prepare_invoke();
  inv.key(keys.session(&handle)).key(keys.data(&handle));
  let raw: Option<RawRecord> = io(inv.invoke_async(&mut c)).await?;
  raw.map(|(s, d)| decode_record(handle, &s, &d)).transpose()
}

fn parse_feed_entry(m: &str) -> Result<Revocation> {
  let mut parts = m.splitn(3, ':');
  let (Some(seq), Some(h), Some(until)) = (parts.next(), parts.next(), parts.next()) else {
    return Err(row::corrupt());
  };
  Ok(Revocation {
    seq: seq.parse().map_err(|_| row::corrupt())?,
    handle: row::handle_text(h)?,
    until: UnixMillis(until.parse().map_err(|_| row::corrupt())?),
  })
}

/// A subscription's connection, checked by a ping.
struct Pinged(::redis::aio::PubSubSink);

impl changes::Alive for Pinged {
  async fn alive(&mut self) -> bool {
    let pong = tokio::time::timeout(RESPONSE_TIMEOUT, self.0.ping::<Value>()).await;
    matches!(pong, Ok(Ok(_)))
  }
}

/// The listener behind [`Store::changes`] (`changes::hold`): subscribed to the store's
/// channel on one of `servers` (on a cluster any node hears every publish: the cluster bus
/// broadcasts it), the next server after each failure.
async fn listen(servers: Arc<[Client]>, channel: String, n: Notices) {
  changes::hold(n, REQUEST_TIMEOUT, |tried| {
    let server = servers[tried % servers.len()].clone();
    let channel = channel.clone();
    async move {
      let mut p = server.get_async_pubsub().await.ok()?;
      p.subscribe(&channel).await.ok()?;
      let (sink, stream) = p.split();
      // The ring's save publishes "ring"; a feed append, the entry's position.
      let kinds = stream.map(|m| match m.get_payload_bytes() {
        b"ring" => Kind::Ring,
        _ => Kind::Feed,
      });
      Some((kinds, Pinged(sink)))
    }
  })
  .await;
}

#[async_trait]
impl Store for RedisStore {
  fn kind(&self) -> &'static str {
    "redis"
  }

  fn close(&self) {
    self.changes.stop();
  }

  fn changes(&self) -> Option<tokio::sync::watch::Receiver<Change>> {
    let servers = Arc::clone(&self.listen_on);
    let channel = self.keys.channel.clone();
    self.changes.subscribe(move |n| listen(servers, channel, n))
  }

  async fn insert(&self, record: &SessionRecord) -> Result<u64> {
    let h = &record.handle;
    let anonymous = is_anonymous(&record.user_id);
    // The user's index first: an entry whose session never came (a failed insert) is
    // skipped by `list_user`; a session missing from its index would escape "revoke all".
    let mut held = 0;
    if !anonymous {
      held = self
        .add_to_user(
          &record.user_id,
          h,
          record.created_at,
          record.refresh.absolute_expires_at,
        )
        .await?;
    }
    let fields = session_fields(record)?;
    let mut c = self.conn.clone();
    let mut inv = INSERT.prepare_invoke();
    inv
      .key(self.keys.session(h))
      .key(self.keys.data(h))
      .key(self.keys.expiry(&tag(h)))
      .key(self.keys.anonymous(&tag(h)))
      .arg(h.to_text())
      .arg(ttl_ms(earliest_expiry(&record.refresh), record.created_at))
      .arg(earliest_expiry(&record.refresh).0)
      .arg(if anonymous { self.anonymous_per_tag } else { 0 })
      .arg(record.created_at.0)
      .arg(fields.len() * 2);
    for (k, v) in &fields {
      inv.arg(*k).arg(v);
    }
    for (k, v) in &record.data {
      inv.arg(k).arg(row::json_text(v)?);
    }
    let inserted: i64 = io(inv.invoke_async(&mut c)).await?;
    if inserted == 1 {
      Ok(held)
    } else {
      Err(err(
        ErrorKind::StoreCorrupt,
        "a session with this handle exists",
      ))
    }
  }

  async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>> {
    get_with(self.conn.clone(), Arc::clone(&self.keys), *handle).await
  }

  async fn rotate(
    &self,
    handle: &Handle,
    from: &RefreshState,
    to: &RefreshState,
    now: UnixMillis,
    device: &DeviceInfo,
  ) -> Result<bool> {
    let mut fields = Vec::with_capacity(10);
    refresh_fields(to, &mut fields);
    fields.push(("refreshed", now.0.to_string()));
    fields.push(("ldev", encode_device(device)));
    let mut c = self.conn.clone();
    let mut inv = ROTATE.prepare_invoke();
    inv
      .key(self.keys.session(handle))
      .key(self.keys.data(handle))
      .key(self.keys.expiry(&tag(handle)))
      .arg(handle.to_text())
      .arg(from.generation.to_string())
      .arg(encoding::encode(&from.current_digest))
      .arg(ttl_ms(earliest_expiry(to), now))
      .arg(earliest_expiry(to).0)
      .arg(if to.previous_digest.is_some() {
        "1"
      } else {
        "0"
      });
    for (k, v) in &fields {
      inv.arg(*k).arg(v);
    }
    let user: Option<String> = io(inv.invoke_async(&mut c)).await?;
    let Some(user) = user else {
      return Ok(false);
    };
    if to.absolute_expires_at != from.absolute_expires_at
      && !user.is_empty()
      && !is_anonymous(&user)
    {
      // The user's index is scored (and kept alive) by absolute expiry.
      self
        .add_to_user(&user, handle, now, to.absolute_expires_at)
        .await?;
    }
    Ok(true)
  }

  async fn revoke(&self, handle: &Handle, until: UnixMillis) -> Result<Option<SessionRecord>> {
    let text = handle.to_text();
    let t = tag(handle);
    let mut c = self.conn.clone();
    let raw: Option<RawRecord> = if self.is_cluster() {
      let mut inv = REVOKE_TO_OUTBOX.prepare_invoke();
      inv
        .key(self.keys.session(handle))
        .key(self.keys.data(handle))
        .key(self.keys.expiry(&t))
        .key(self.keys.anonymous(&t))
        .key(self.keys.outbox(&t))
        .arg(&text)
        .arg(until.0);
      io(inv.invoke_async(&mut c)).await?
    } else {
      let mut inv = REVOKE_ONE_SERVER.prepare_invoke();
      inv
        .key(self.keys.session(handle))
        .key(self.keys.data(handle))
        .key(self.keys.expiry(&t))
        .key(self.keys.anonymous(&t))
        .key(&self.keys.feed_seq)
        .key(&self.keys.feed_log)
        .key(&self.keys.feed_until)
        .arg(&text)
        .arg(until.0)
        .arg(MAX_FEED)
        .arg(&self.keys.channel);
      io(inv.invoke_async(&mut c)).await?
    };
    let Some((s, d)) = raw else {
      return Ok(None);
    };
    if self.is_cluster() {
      // The revocation is done; copying it to the feed is retried by sweeps if this fails.
      let until_text = until.0.to_string();
      if self.append_to_feed(&text, &until_text).await.is_ok() {
        let entry = format!("{text} {until_text}");
        let _ = io(
          ::redis::cmd("ZREM")
            .arg(self.keys.outbox(&t))
            .arg(entry)
            .query_async::<i64>(&mut c),
        )
        .await;
      }
    }
    let record = decode_record(*handle, &s, &d)?;
    // A stale index entry is harmless (skipped, and dropped at absolute expiry).
    if !is_anonymous(&record.user_id) {
      let _ = self.remove_from_user(&record.user_id, handle).await;
    }
    Ok(Some(record))
  }

  async fn list_user(&self, user_id: &str) -> Result<Vec<SessionRecord>> {
    if let Some(text) = anonymous_handle(user_id) {
      // No index: the reserved id names its one session.
      let Ok(handle) = row::handle_text(text) else {
        return Ok(vec![]);
      };
      let r = get_with(self.conn.clone(), Arc::clone(&self.keys), handle).await?;
      return Ok(r.into_iter().filter(|r| r.user_id == user_id).collect());
    }
    let mut c = self.conn.clone();
    let texts: Vec<String> = io(
      ::redis::cmd("ZRANGE")
        .arg(self.keys.user(user_id))
        .arg(0)
        .arg(-1)
        .query_async(&mut c),
    )
    .await?;
    let handles = texts
      .iter()
      .map(|t| row::handle_text(t))
      .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(handles.len());
    for chunk in handles.chunks(LIST_CONCURRENCY) {
      let mut set = JoinSet::new();
      for h in chunk {
        set.spawn(get_with(self.conn.clone(), Arc::clone(&self.keys), *h));
      }
      while let Some(r) = set.join_next().await {
        let r = r.map_err(|_| err(ErrorKind::Internal, "a Redis read task failed"))??;
        // The index may name a session that is gone, or (after a failed insert of a
        // colliding handle) someone else's: only the user's own live records count.
        if let Some(r) = r.filter(|r| r.user_id == user_id) {
          out.push(r);
        }
      }
    }
    Ok(out)
  }

  async fn patch_data(
    &self,
    handle: &Handle,
    patch: &DataPatch,
    max_bytes: usize,
  ) -> Result<Option<u64>> {
    let mut c = self.conn.clone();
    let mut inv = PATCH.prepare_invoke();
    inv
      .key(self.keys.session(handle))
      .key(self.keys.data(handle))
      .arg(max_bytes);
    for (k, v) in patch {
      match v {
        Some(v) => inv.arg("s").arg(k).arg(row::json_text(v)?),
        None => inv.arg("d").arg(k).arg(""),
      };
    }
    match io(inv.invoke_async::<Option<i64>>(&mut c)).await? {
      Some(-1) => Err(codec::too_large()),
      v => v.map(row::to_u64).transpose(),
    }
  }

  async fn revocations_since(&self, after: u64, limit: usize) -> Result<Vec<Revocation>> {
    if limit == 0 {
      return Ok(vec![]);
    }
    let count = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut c = self.conn.clone();
    let members: Vec<String> = io(
      ::redis::cmd("ZRANGEBYSCORE")
        .arg(&self.keys.feed_log)
        .arg(format!("({after}"))
        .arg("+inf")
        .arg("LIMIT")
        .arg(0)
        .arg(count)
        .query_async(&mut c),
    )
    .await?;
    members.iter().map(|m| parse_feed_entry(m)).collect()
  }

  async fn sweep(&self, now: UnixMillis) -> Result<u64> {
    let mut removed = 0;
    for b in 0..=u8::MAX {
      removed += self.sweep_tag(&format!("{b:02x}"), now).await?;
    }
    loop {
      let mut c = self.conn.clone();
      let mut inv = FEED_SWEEP.prepare_invoke();
      inv
        .key(&self.keys.feed_log)
        .key(&self.keys.feed_until)
        .arg(now.0)
        .arg(SWEEP_PAGE);
      let n: usize = io(inv.invoke_async(&mut c)).await?;
      if n < SWEEP_PAGE {
        break;
      }
    }
    Ok(removed)
  }

  async fn load_key_ring(&self) -> Result<Option<StoredRing>> {
    let mut c = self.conn.clone();
    let (version, sealed): (Option<String>, Option<String>) = io(
      ::redis::cmd("HMGET")
        .arg(&self.keys.ring)
        .arg("version")
        .arg("sealed")
        .query_async(&mut c),
    )
    .await?;
    match (version, sealed) {
      (None, None) => Ok(None),
      (Some(v), Some(sealed)) => Ok(Some(StoredRing {
        version: v.parse().map_err(|_| row::corrupt())?,
        sealed,
      })),
      _ => Err(row::corrupt()),
    }
  }

  async fn save_key_ring(&self, expected: Option<u64>, ring: &StoredRing) -> Result<bool> {
    let mut c = self.conn.clone();
    let mut inv = RING_SAVE.prepare_invoke();
    inv
      .key(&self.keys.ring)
      .arg(expected.map(|v| v.to_string()).unwrap_or_default())
      .arg(ring.version)
      .arg(&ring.sealed)
      .arg(&self.keys.channel);
    let saved: i64 = io(inv.invoke_async(&mut c)).await?;
    Ok(saved == 1)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::store::conformance::record as sample;

  #[test]
  fn a_record_round_trips_through_its_hash_fields() -> Result<()> {
    let mut r = sample("alice")?;
    r.refresh.previous_digest = Some([9; 32]);
    let s: HashMap<String, String> = session_fields(&r)?
      .into_iter()
      .map(|(k, v)| (k.to_owned(), v))
      .collect();
    let d: HashMap<String, String> = r
      .data
      .iter()
      .map(|(k, v)| Ok((k.clone(), row::json_text(v)?)))
      .collect::<Result<_>>()?;
    assert_eq!(decode_record(r.handle, &s, &d)?, r);
    let mut bad = s.clone();
    bad.insert("gen".into(), "x".into());
    assert_eq!(
      decode_record(r.handle, &bad, &d).err().map(|e| e.kind()),
      Some(ErrorKind::StoreCorrupt)
    );
    Ok(())
  }

  #[test]
  fn keys_of_one_session_share_a_hash_tag() -> Result<()> {
    let h = Handle::generate()?;
    let keys = Keys::default();
    let t = format!("{{{}}}", tag(&h));
    for k in [
      keys.session(&h),
      keys.data(&h),
      keys.expiry(&tag(&h)),
      keys.anonymous(&tag(&h)),
    ] {
      assert!(k.contains(&t), "{k}");
    }
    // The insert's script names an evicted session's keys by replacing the handle at the
    // end of these two: that works only if each ends with it.
    assert!(keys.session(&h).ends_with(&h.to_text()) && keys.data(&h).ends_with(&h.to_text()));
    assert_eq!(keys.user("a"), "ts:u:{a}");
    Ok(())
  }

  #[test]
  fn feed_entries_parse_and_garbage_is_corrupt() -> Result<()> {
    let h = Handle::generate()?;
    let e = parse_feed_entry(&format!("7:{}:-5", h.to_text()))?;
    assert_eq!((e.seq, e.handle, e.until), (7, h, UnixMillis(-5)));
    for m in ["", "x:y:z", "1:2", "1:AAAAAAAAAAAAAAAAAAAAAA:x"] {
      assert_eq!(
        parse_feed_entry(m).err().map(|e| e.kind()),
        Some(ErrorKind::StoreCorrupt)
      );
    }
    Ok(())
  }

  #[test]
  fn ttls_are_relative_and_never_zero() {
    assert_eq!(ttl_ms(UnixMillis(100), UnixMillis(40)), 60 + TTL_SLACK_MS);
    assert_eq!(ttl_ms(UnixMillis(0), UnixMillis(40)), TTL_SLACK_MS);
  }
}
