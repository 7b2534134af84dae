'use strict'

/**
 * The change detector of `req.session`: its data as JSON text when the request started,
 * and the patch of changed keys at the end (DESIGN promise 9: a save writes only the keys
 * that changed, so concurrent requests changing different keys both keep theirs).
 *
 * Guarantees: values are compared as JSON, so what is stored is what JSON can say (a
 * `Date` becomes its ISO text, `undefined` removes the key); a key that went away is
 * `null` in the patch (delete). Not here: writing the patch (the engine does).
 * @private
 */

const { sessionJson } = require('./session.js')

/** The JSON text of the data as stored, keys in insertion order. */
function dataJson (session) {
  return sessionJson(session)
}

/**
 * The keys of `session` that differ from `originalJson`, as a patch (`null` deletes), or
 * null when nothing changed.
 */
function changes (session, originalJson) {
  const now = dataJson(session)
  if (now === originalJson) return null
  const before = JSON.parse(originalJson)
  const after = JSON.parse(now)
  const patch = {}
  let any = false
  for (const k of Object.keys(after)) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      patch[k] = after[k]
      any = true
    }
  }
  for (const k of Object.keys(before)) {
    if (!Object.prototype.hasOwnProperty.call(after, k)) {
      patch[k] = null
      any = true
    }
  }
  return any ? patch : null
}

module.exports = { dataJson, changes }
