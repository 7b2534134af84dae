'use strict'

/**
 * Type-checks the public typings (index.d.ts) against the tests in tests/types: each
 * tsconfig*.json there (Node's module rules; CommonJS with esModuleInterop; a bundler; an
 * app without SessionData augmentation), then the same tests as an app that installed the
 * package, resolving `tandem-session` through package.json ("exports" → "types") instead of
 * the tests' `paths`. Nothing is emitted. Every `@ts-expect-error` in the tests must be
 * needed, so wrong usages that the typings stop refusing fail here too.
 */

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const dir = path.join(root, 'tests', 'types')
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] })

function check (label, project) {
  const r = spawnSync(process.execPath, [tsc, '-p', project, '--pretty', 'false'], { cwd: root, encoding: 'utf8' })
  if (r.status === 0) return true
  console.error(`types (${label}):\n${r.stdout}${r.stderr}`)
  return false
}

let passed = 0
let failed = 0
const count = (ok) => { if (ok) passed++; else failed++ }

for (const f of fs.readdirSync(dir).filter((f) => /^tsconfig.*\.json$/.test(f)).sort()) {
  count(check(f, path.join(dir, f)))
}

// As installed: node_modules/tandem-session is this package (a symlink, as npm link makes).
const app = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-session-types-'))
try {
  fs.mkdirSync(path.join(app, 'node_modules'))
  fs.symlinkSync(root, path.join(app, 'node_modules', 'tandem-session'), 'dir')
  fs.symlinkSync(path.join(root, 'node_modules', '@types'), path.join(app, 'node_modules', '@types'), 'dir')
  const files = ['usage.ts', 'interop.ts', 'augment.ts', 'esm.mts']
  for (const f of files) fs.copyFileSync(path.join(dir, f), path.join(app, f))
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      types: ['node'],
      skipLibCheck: false
    },
    files
  }))
  count(check('installed package, nodenext', app))
} finally {
  fs.rmSync(app, { recursive: true, force: true })
}

console.log(`types: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
