// What machine and build a benchmark ran on: CPU, pinning, kernel, Node, the addon file the
// loader picked (and whether it is a debug build), load. Shared by bench/verify.mjs and
// bench/engine.mjs, so every results file describes its run the same way.

import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Output of a command run in the repository, or '?'. */
export function sh (cmd, args) {
  try { return execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() } catch { return '?' }
}

/** Section names of an ELF64 little-endian file (the Linux addon); [] for anything else. */
export function elfSections (b) {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return []
  const shoff = Number(b.readBigUInt64LE(0x28))
  const shentsize = b.readUInt16LE(0x3a)
  const shnum = b.readUInt16LE(0x3c)
  const shstrndx = b.readUInt16LE(0x3e)
  const shAt = (i) => shoff + i * shentsize
  if (shoff === 0 || shAt(shnum) > b.length) return []
  const strOff = Number(b.readBigUInt64LE(shAt(shstrndx) + 0x18))
  const names = []
  for (let i = 0; i < shnum; i++) {
    const at = strOff + b.readUInt32LE(shAt(i))
    names.push(b.toString('latin1', at, b.indexOf(0, at)))
  }
  return names
}

/**
 * The addon the loader picked (js/native/*.node, or NAPI_RS_NATIVE_LIBRARY_PATH). A debug
 * build (`npm run build:debug`) is 10-20x slower; an unstripped ELF with .debug_info is flagged.
 */
export function addonInfo () {
  const dir = path.join(root, 'js/native')
  const file = process.env.NAPI_RS_NATIVE_LIBRARY_PATH ||
    path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.node')) ?? '?')
  try {
    const st = fs.statSync(file)
    const debugInfo = elfSections(fs.readFileSync(file)).includes('.debug_info')
    return { file: path.relative(root, file), size: st.size, mtime: st.mtime.toISOString(), debugInfo }
  } catch { return { file, size: 0, mtime: '?', debugInfo: false } }
}

/** The machine, with `versions` of the given npm packages and of tandem-session itself. */
export function machine (packages) {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8')
  const field = (k) => (cpuinfo.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm')) || [])[1] ?? '?'
  const status = fs.readFileSync('/proc/self/status', 'utf8')
  const affinity = (status.match(/^Cpus_allowed_list:\s*(.*)$/m) || [])[1] ?? '?'
  const versions = {}
  for (const p of packages) versions[p] = require(`${p}/package.json`).version
  versions['tandem-session'] = `${require('../package.json').version} @ ${sh('git', ['rev-parse', '--short', 'HEAD'])}` +
    (sh('git', ['status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock']) ? ' (src modified)' : '')
  return {
    cpu: `${field('model name')} (family ${field('cpu family')}, model ${field('model')}, ${field('cpu MHz')} MHz)`,
    cores: os.cpus().length,
    affinity,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    versions,
    addon: { ...addonInfo(), note: process.env.BENCH_ADDON_NOTE ?? '' },
    load: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    date: new Date().toISOString(),
  }
}
