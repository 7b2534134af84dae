'use strict'

/**
 * Checks of call arguments that must happen before they cross into Rust.
 * @private
 */

/** Deepest nesting of app claims checked (and accepted) when signing. */
const MAX_CLAIM_DEPTH = 64

/**
 * Throw INVALID_ARGUMENT unless every string in `value` (keys included) is well-formed
 * UTF-16. Crossing into Rust turns a lone surrogate into U+FFFD, so 'a\uD800' and
 * 'a\uFFFD' would become the same user id: refuse instead.
 * @private
 */
function assertWellFormed (value, name, depth = 0) {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw invalidArgument(name + ' holds a lone surrogate (not well-formed UTF-16)')
  } else if (value !== null && typeof value === 'object') {
    if (depth >= MAX_CLAIM_DEPTH) throw invalidArgument(name + ' is nested too deeply')
    for (const key of Object.keys(value)) {
      assertWellFormed(key, name, depth + 1)
      assertWellFormed(value[key], name, depth + 1)
    }
  }
}

function invalidArgument (message) {
  const err = new TypeError('INVALID_ARGUMENT: ' + message)
  err.code = 'INVALID_ARGUMENT'
  return err
}

module.exports = { assertWellFormed, invalidArgument }
