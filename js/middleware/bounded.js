'use strict'

/**
 * The one rule of the middleware's maps capped in entries only (the CSRF tokens, the
 * dashboard's users, the legacy upgrades in flight, the bridge's kept store errors): a Map
 * in insertion order, newest last, that never holds more than `max` entries; when full, the
 * oldest goes first. (The verdict cache and the session data copies are capped in
 * characters too, and keep their own counts: `fast/verdict-cache.js`, `data-cache.js`.)
 *
 * Guarantees: after `setBounded`, `key` is the newest entry and `map.size <= max`.
 * Not here: expiry and recency on read (a cache that wants "least recently used" moves a
 * key to the newest end itself, with `setBounded` again).
 * @private
 */

/**
 * Put `key` → `value` as the newest entry; when the map already holds `max` other entries,
 * drop the oldest first.
 * @param {Map} map
 * @param {unknown} key
 * @param {unknown} value
 * @param {number} max
 */
function setBounded (map, key, value, max) {
  map.delete(key)
  if (map.size >= max) map.delete(map.keys().next().value)
  map.set(key, value)
}

module.exports = { setBounded }
