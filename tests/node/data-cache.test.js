'use strict'

// The data cache's bounds (issue 18, point 1): entries and characters, whatever the
// clients write; and what it keeps is still exact.

const assert = require('node:assert/strict')
const { it } = require('node:test')

const { DataCache, MAX_ENTRY_CHARS } = require('../../js/middleware/data-cache.js')

it('should keep at most max entries and maxChars characters, least recently used first', function () {
  const c = new DataCache(100, 10_000)
  for (let i = 0; i < 50; i++) c.set('h' + i, 1, { pad: 'x'.repeat(990) })
  assert.ok(c.chars <= 10_000, `characters kept: ${c.chars}`)
  assert.equal(c.size, 10, 'ten copies of about 1,000 characters fit')
  assert.equal(c.get('h0', 1), undefined, 'the oldest went first')
  assert.deepEqual(c.get('h49', 1).data, { pad: 'x'.repeat(990) }, 'the newest are kept whole')
  for (let i = 0; i < 200; i++) c.set('s' + i, 1, { n: i })
  assert.equal(c.size, 100, 'and never more than max entries')
})

it('should not keep a copy longer than MAX_ENTRY_CHARS, and forget the older copy it replaces', function () {
  const c = new DataCache(100)
  c.set('a', 1, { small: true })
  c.set('a', 2, { big: 'x'.repeat(MAX_ENTRY_CHARS) })
  assert.equal(c.get('a', 1), undefined, 'no stale copy left behind')
  assert.equal(c.chars, 0)
  c.set('b', 1, { v: 1 })
  c.patched('b', 2, { w: 'y'.repeat(MAX_ENTRY_CHARS) })
  assert.equal(c.get('b', 1), undefined, 'a patch that makes it too large drops it')
  assert.equal(c.chars, 0, 'and the count follows every removal')
})
