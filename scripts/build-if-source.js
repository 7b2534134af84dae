'use strict'

/**
 * `npm install` in a source checkout (a git clone: Cargo.toml is here) builds the native
 * addon from source, in release mode, for this machine's own target. Nothing prebuilt is
 * downloaded: napi-rs's CLI and the crates come from the npm registry and crates.io.
 *
 * An installed release (from npm) has no Cargo.toml and loads its per-platform prebuilt
 * package instead (see js/native/binding.js), so this script does nothing there.
 * Set TANDEM_SKIP_BUILD=1 to skip the build (for instance when only docs changed).
 */

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

if (!fs.existsSync(path.join(root, 'Cargo.toml'))) process.exit(0)
if (process.env.TANDEM_SKIP_BUILD === '1') {
  console.log('tandem-session: TANDEM_SKIP_BUILD=1, not building the addon')
  process.exit(0)
}

const cli = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
const args = [cli, 'build', '--platform', '--release',
  '--output-dir', 'js/native', '--js', 'binding.js', '--dts', 'binding.d.ts']
console.log('tandem-session: building the native addon from source (release)')
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
if (r.status !== 0) {
  console.error('tandem-session: the native build failed; is a Rust toolchain (cargo) installed?')
  process.exit(r.status || 1)
}
