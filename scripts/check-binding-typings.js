'use strict'

/**
 * The generated binding (js/native/binding.js and binding.d.ts) is committed. Every build
 * regenerates it; this check fails when the freshly generated files differ from the
 * committed ones, so an API change cannot land without its typings (oxc-resolver's habit).
 */

const { spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')
const files = ['js/native/binding.d.ts', 'js/native/binding.js']

const inGit = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: root })
if (inGit.status !== 0) {
  console.log('binding typings: not a git checkout, nothing to compare')
  process.exit(0)
}
const r = spawnSync('git', ['diff', '--exit-code', '--stat', '--', ...files], { cwd: root, encoding: 'utf8' })
if (r.status !== 0) {
  console.error('binding typings drifted from the committed ones; rebuild and commit them:\n' + r.stdout)
  process.exit(1)
}
console.log('binding typings: 1 passed, 0 failed')
