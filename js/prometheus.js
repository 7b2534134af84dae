'use strict'

/**
 * `session.prometheus(s, promClient, options)`: the counters of `s.metrics()` as
 * Prometheus metrics in a prom-client registry, read at every scrape.
 *
 * prom-client is the app's, not ours (no runtime dependency): pass the module
 * (`require('prom-client')`, its default registry is used) or a `Registry`. The metrics
 * are collectors that the registry asks at scrape time (`registry.metrics()`), so nothing
 * is counted twice and nothing runs between scrapes.
 *
 * Guarantees: counters are named `<prefix>logins_total` and so on (prefix
 * `tandem_session_` by default), the store latency is a histogram in seconds
 * (`<prefix>store_latency_seconds`, cumulative `le` buckets, `_sum`, `_count`); the
 * option checks throw a TypeError naming the option. Returns the metrics' names.
 * Not here: OpenTelemetry (read `s.metrics()` from an observable instrument instead).
 * @public
 */

/** The counters: [name after the prefix, field of `metrics()`, help]. */
const COUNTERS = [
  ['logins_total', 'logins', 'Sessions created for a user (logins).'],
  ['anonymous_sessions_total', 'anonymousSessions', 'Anonymous sessions created.'],
  ['refreshes_total', 'refreshes', 'Refreshes that gave new tokens, grace hits included.'],
  ['grace_hits_total', 'graceHits', 'Refreshes answered in the grace window (a second tab, a retry).'],
  ['refreshes_refused_total', 'refreshesRefused', 'Refreshes refused (forged, expired or revoked refresh token).'],
  ['thefts_total', 'thefts', 'Reused refresh tokens: sessions revoked as stolen.'],
  ['revocations_total', 'revocations', 'Sessions revoked (logout, admin, theft, session cap, ...).'],
  ['store_calls_total', 'storeCalls', 'Calls the engine made to the session store.'],
  ['store_errors_total', 'storeErrors', 'Store calls that failed (STORE_UNAVAILABLE, STORE_CORRUPT).']
]

/** The registry in `client`: a prom-client module (its `register`) or a Registry. */
function registryOf (client) {
  if (client && typeof client.registerMetric === 'function') return client
  if (client && client.register && typeof client.register.registerMetric === 'function') return client.register
  throw new TypeError('promClient argument must be the prom-client module or a prom-client Registry')
}

/**
 * Register the middleware's counters in prom-client.
 * @param {{metrics: () => object}} middleware what `session()` returned (or an Engine)
 * @param {object} client `require('prom-client')` or a `new Registry()`
 * @param {{prefix?: string}} [options] prefix: default `'tandem_session_'`
 * @returns {string[]} the registered metric names
 */
function prometheus (middleware, client, options = {}) {
  if (!middleware || typeof middleware.metrics !== 'function') {
    throw new TypeError('middleware argument must be what session() returned')
  }
  const registry = registryOf(client)
  const prefix = options.prefix ?? 'tandem_session_'
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix + 'x')) {
    throw new TypeError('prefix option must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)')
  }
  const names = []
  const add = (metric) => {
    registry.registerMetric(metric)
    names.push(metric.name)
  }
  for (const [suffix, field, help] of COUNTERS) {
    const name = prefix + suffix
    add(collector(name, help, 'counter', () => [{ value: middleware.metrics()[field], labels: {} }]))
  }
  const latency = prefix + 'store_latency_seconds'
  add(collector(latency, 'Duration of the engine\'s store calls, seconds.', 'histogram', () => {
    const m = middleware.metrics()
    const values = m.storeLatencyBoundsMs.map((le, i) => ({
      metricName: latency + '_bucket', labels: { le: le / 1000 }, value: m.storeLatencyBuckets[i]
    }))
    values.push({ metricName: latency + '_bucket', labels: { le: '+Inf' }, value: m.storeCalls })
    values.push({ metricName: latency + '_sum', labels: {}, value: m.storeLatencySumMs / 1000 })
    values.push({ metricName: latency + '_count', labels: {}, value: m.storeCalls })
    return values
  }))
  return names
}

/** A metric as prom-client's registry reads it: `get()` at every scrape. */
function collector (name, help, type, values) {
  return {
    name,
    help,
    type,
    aggregator: 'sum', // prom-client's cluster mode sums each process's counts
    get: () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset () {}
  }
}

module.exports = { prometheus }
