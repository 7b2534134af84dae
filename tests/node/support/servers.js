'use strict'

// When a test over a real server runs: the `skip` option of node:test for a suite that
// needs the variables it names. Locally a missing variable skips it and says how to set
// it; under CI (`CI` set) nothing is skipped, so a server that .ci/run failed to start
// fails the suite instead of hiding it.

/**
 * `false` when every one of `values` is set (or under CI), else the reason to skip.
 * @param {Array<string|undefined>|string|undefined} values the variables' values
 * @param {string} how what to set, e.g. 'set TANDEM_PG_URL (bash scripts/ci/postgres.sh)'
 */
function skipWithout (values, how) {
  const all = Array.isArray(values) ? values : [values]
  if (all.every((v) => typeof v === 'string' && v.length > 0)) return false
  return process.env.CI ? false : how
}

module.exports = { skipWithout }
