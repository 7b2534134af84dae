'use strict'

/**
 * Type-checks the public typings (index.d.ts, express-session.d.ts) against the tests in
 * tests/types, nothing emitted, declaration files checked too (skipLibCheck false):
 *
 * - each tsconfig*.json there, in this repository's layout (`paths` maps the package name
 *   to index.d.ts): Node's module rules; CommonJS with esModuleInterop; a bundler; an app
 *   without SessionData augmentation; an app written for express-session;
 * - then as an app that installed the package: node_modules/tandem-session holds the
 *   declaration files that package.json "files" ships (so a typings file left out of
 *   "files" fails here), resolved through package.json ("exports" → "types"), with this
 *   repository's @types packages:
 *   - the tests above under nodenext;
 *   - the express-session app (express-session-app.ts) under nodenext and under CommonJS
 *     with node10 resolution, once without @types/express-session and once with it next
 *     to tandem-session, in an app tsconfig without "types" (so every @types package
 *     applies, as in a default app). A probe file proves which of the two each run is.
 *
 * Every `@ts-expect-error` in the tests must be needed, so wrong usages that the typings
 * stop refusing fail here too. Not checked here: Express 4's typings (@types/express@4
 * is not a dependency of this repository).
 */

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const dir = path.join(root, 'tests', 'types')
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] })
const typesDir = path.join(root, 'node_modules', '@types')

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

/** Every .d.ts that package.json "files" ships, relative to the root. */
function shippedTypings () {
  const out = []
  const walk = (rel) => {
    const abs = path.join(root, rel)
    if (!fs.existsSync(abs)) return
    if (fs.statSync(abs).isDirectory()) {
      for (const e of fs.readdirSync(abs)) if (e !== 'node_modules') walk(path.join(rel, e))
    } else if (rel.endsWith('.d.ts')) {
      out.push(rel)
    }
  }
  for (const entry of require(path.join(root, 'package.json')).files) walk(entry.replace(/\/$/, ''))
  return out
}

/**
 * A throwaway app directory: the package's shipped typings under node_modules/tandem-session,
 * this repository's @types packages (express-session's only when `withExpressSessionTypes`),
 * the test files copied in. Returns its path; the caller removes it.
 */
function installedApp (files, withExpressSessionTypes) {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-session-types-'))
  const pkg = path.join(app, 'node_modules', 'tandem-session')
  fs.mkdirSync(pkg, { recursive: true })
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'))
  for (const rel of shippedTypings()) {
    fs.mkdirSync(path.dirname(path.join(pkg, rel)), { recursive: true })
    fs.copyFileSync(path.join(root, rel), path.join(pkg, rel))
  }
  const types = path.join(app, 'node_modules', '@types')
  fs.mkdirSync(types)
  for (const name of fs.readdirSync(typesDir)) {
    if (name === 'express-session' && !withExpressSessionTypes) continue
    fs.symlinkSync(path.join(typesDir, name), path.join(types, name), 'dir')
  }
  for (const f of files) fs.copyFileSync(path.join(dir, f), path.join(app, f))
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  return app
}

function checkInstalled (label, files, compilerOptions, withExpressSessionTypes = false, extra = {}) {
  const app = installedApp(files, withExpressSessionTypes)
  try {
    for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(app, name), text)
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'es2022', skipLibCheck: false, ...compilerOptions },
      files: [...files, ...Object.keys(extra)]
    }))
    count(check(label, app))
  } finally {
    fs.rmSync(app, { recursive: true, force: true })
  }
}

const nodenext = { module: 'nodenext', moduleResolution: 'nodenext' }
const commonjs = { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }

checkInstalled('installed package, nodenext', ['usage.ts', 'interop.ts', 'augment.ts', 'esm.mts'],
  { ...nodenext, types: ['node'] })

if (!fs.existsSync(path.join(typesDir, 'express-session'))) {
  console.error('types: node_modules/@types/express-session is missing (a devDependency): run npm install')
  failed++
} else {
  // @types/express-session declares the global type Express.SessionStore: present or not
  // tells the two runs apart.
  const probe = (present) => ({
    'probe.ts': present
      ? 'export type Probe = Express.SessionStore\n'
      : '// @ts-expect-error without @types/express-session\nexport type Probe = Express.SessionStore\n'
  })
  for (const [name, options] of [['nodenext', nodenext], ['commonjs node10', commonjs]]) {
    checkInstalled(`express-session app, ${name}, without @types/express-session`,
      ['express-session-app.ts'], options, false, probe(false))
    checkInstalled(`express-session app, ${name}, with @types/express-session`,
      ['express-session-app.ts'], options, true, probe(true))
  }
}

console.log(`types: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
