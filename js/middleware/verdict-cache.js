'use strict'

// Moved to fast/verdict-cache.js (part of the tuned Verifier). Kept only because
// tests/node/middleware-verdict-cache.test.js requires this path; delete once it
// requires the new one.
module.exports = require('./fast/verdict-cache.js')
