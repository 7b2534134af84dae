#!/usr/bin/env node
'use strict'

/**
 * Static check for ATK-59 (timing): no `==` or `!=` on secret material in the Rust sources.
 *
 * MACs, digests, CSRF tags, signatures and secrets must be compared in constant time,
 * through `crate::digest` (`ct_eq`, `hmac_sha256_verify`, built on `subtle` and `hmac`'s
 * `verify_slice`). This script scans `src/**\/*.rs` (not `src/digest.rs`, which holds the
 * constant-time primitives, not `#[cfg(test)]` items, not `tests/` directories or
 * `tests.rs` files) for an `==` or `!=` whose left or right operand names something that
 * looks secret: an identifier with a part `mac`, `tag`, `sig`, `signature`, `digest`,
 * `hmac`, `csrf` or `secret` (snake_case and CamelCase parts; `digest`, `hmac`, `csrf`,
 * `secret` and `signature` also inside a longer word).
 *
 * Not flagged: operands that are only a length or emptiness (`.len()`, `.is_empty()`,
 * `.is_some()`, `.is_none()`, `.count()`, identifiers ending in `_len`, `_length`, `_size`,
 * `_count`), which are public; comments and string literals.
 * A line may carry `// ct-ok: <reason>` to allow a comparison that is not on secret bytes
 * (a reason is required).
 *
 * Usage: `node scripts/check-constant-time.js [root]` (default: the repository root).
 * Exit 0 when clean; 1 with one `file:line: text` per offending comparison.
 */

const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(process.argv[2] || path.join(__dirname, '..'))
const SRC = path.join(ROOT, 'src')
const EXEMPT_FILES = new Set([path.join('src', 'digest.rs')])

/** Identifier parts that name secret material, and words that do inside a longer word. */
const SECRET_PARTS = /^(mac|macs|tag|tags|sig|sigs|signature|signatures|digest|digests|hmac|hmacs|csrf|secret|secrets)\d*$/
const SECRET_INFIX = /digest|hmac|csrf|secret|signature/
/** An operand that is only public facts about secret bytes. */
const PUBLIC_SUFFIX = /\.(len|is_empty|is_some|is_none|count|capacity)\(\s*\)$/
/** The last part of an identifier that names a length, which is public (`sig_len`). */
const PUBLIC_PART = /^(len|length|size|count)$/
const CT_OK = /\/\/\s*ct-ok:\s*\S/

function listRustFiles (dir) {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name === 'tests') continue
      out.push(...listRustFiles(full))
    } else if (entry.isFile() && entry.name.endsWith('.rs') && entry.name !== 'tests.rs') {
      out.push(full)
    }
  }
  return out.sort()
}

/**
 * The source with comments, string and char literals blanked (replaced by spaces, newlines
 * kept), so that positions and line numbers stay those of the original.
 */
function blank (src) {
  const out = src.split('')
  const clear = (from, to) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' '
  }
  let i = 0
  while (i < src.length) {
    const c = src[i]
    const next = src[i + 1]
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i)
      const stop = end === -1 ? src.length : end
      clear(i, stop)
      i = stop
    } else if (c === '/' && next === '*') {
      let depth = 1
      let j = i + 2
      while (j < src.length && depth > 0) {
        if (src[j] === '/' && src[j + 1] === '*') { depth++; j += 2 } else if (src[j] === '*' && src[j + 1] === '/') { depth--; j += 2 } else j++
      }
      clear(i, j)
      i = j
    } else if (/[rb]/.test(c) && /^(br|r|b)?#*"/.test(src.slice(i, i + 40)) && !/[A-Za-z0-9_]/.test(src[i - 1] || '')) {
      const m = /^(br|r|b)?(#*)"/.exec(src.slice(i))
      const raw = (m[1] || '').includes('r')
      let j = i + m[0].length
      if (raw) {
        const close = '"' + m[2]
        const end = src.indexOf(close, j)
        j = end === -1 ? src.length : end + close.length
      } else {
        while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
        j++
      }
      clear(i, j)
      i = j
    } else if (c === '"') {
      let j = i + 1
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
      clear(i, j + 1)
      i = j + 1
    } else if (c === '\'') {
      const m = /^'(\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|\\.|[^\\'\n])'/.exec(src.slice(i, i + 16))
      if (m) {
        clear(i, i + m[0].length)
        i += m[0].length
      } else {
        i++ // a lifetime
      }
    } else {
      i++
    }
  }
  return out.join('')
}

/** Index just past the brace that closes the one at `open`. */
function matchingBrace (text, open) {
  let depth = 0
  for (let j = open; j < text.length; j++) {
    if (text[j] === '{') depth++
    else if (text[j] === '}' && --depth === 0) return j + 1
  }
  return text.length
}

/** Blank every item under `#[cfg(test)]` (a test module, a test-only fn or impl). */
function dropTestItems (text) {
  const out = text.split('')
  const re = /#\[cfg\(\s*test\s*\)\]/g
  let m
  while ((m = re.exec(text)) !== null) {
    const brace = text.indexOf('{', m.index)
    const semi = text.indexOf(';', m.index)
    const end = semi !== -1 && (brace === -1 || semi < brace) ? semi + 1 : matchingBrace(text, brace)
    for (let k = m.index; k < end; k++) if (out[k] !== '\n') out[k] = ' '
    re.lastIndex = end
  }
  return out.join('')
}

const OPEN = { ')': '(', ']': '[', '}': '{' }
const CLOSE = { '(': ')', '[': ']', '{': '}' }
/** Operands longer than this are cut (a runaway scan in odd code). */
const MAX_OPERAND = 400
const STOP_WORDS = /\b(if|while|return|match|let|else|in|for|assert|debug_assert)\s*!?\s*$/

/** The operand left of the operator at `at`: back to an unbalanced bracket or a lower-precedence token. */
function leftOperand (text, at) {
  let depth = 0
  let j = at - 1
  for (; j >= 0; j--) {
    const c = text[j]
    if (c === '}' && depth === 0) break // the end of the previous block
    if (OPEN[c]) { depth++; continue }
    if (CLOSE[c]) {
      if (depth === 0) break
      depth--
      continue
    }
    if (depth > 0) continue
    if (c === ';' || c === ',' || at - j > MAX_OPERAND) break
    if ((c === '&' && text[j - 1] === '&') || (c === '|' && text[j - 1] === '|')) break
    if (c === '=' && text[j - 1] !== '=' && text[j - 1] !== '!' && text[j - 1] !== '<' && text[j - 1] !== '>') break
    if (c === '>' && text[j - 1] === '=') break // =>
    if (STOP_WORDS.test(text.slice(Math.max(0, j - 20), j + 1)) && /\s/.test(text[j + 1] || ' ')) break
  }
  return text.slice(j + 1, at).trim().replace(STOP_WORDS, '').trim()
}

/** The operand right of the operator ending at `at`. */
function rightOperand (text, at) {
  let depth = 0
  let j = at
  for (; j < text.length; j++) {
    const c = text[j]
    if (c === '{' && depth === 0) break // the block of an `if`
    if (CLOSE[c]) { depth++; continue }
    if (OPEN[c]) {
      if (depth === 0) break
      depth--
      continue
    }
    if (depth > 0) continue
    if (c === ';' || c === ',' || j - at > MAX_OPERAND) break
    if ((c === '&' && text[j + 1] === '&') || (c === '|' && text[j + 1] === '|')) break
    if (c === '=' && text[j + 1] === '>') break
  }
  return text.slice(at, j).trim()
}

/** Does this operand name secret material? */
function looksSecret (operand) {
  if (operand === '' || PUBLIC_SUFFIX.test(operand)) return false
  for (const id of operand.match(/[A-Za-z_][A-Za-z0-9_]*/g) || []) {
    const parts = id.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split('_').filter(Boolean)
    if (PUBLIC_PART.test(parts[parts.length - 1] || '')) continue // sig_len, encoded_len: a length
    if (parts.some((p) => SECRET_PARTS.test(p))) return true
    if (SECRET_INFIX.test(id.toLowerCase())) return true
  }
  return false
}

/** Offending comparisons of one file: `[{line, text}]`. */
function check (file) {
  const src = fs.readFileSync(file, 'utf8')
  const text = dropTestItems(blank(src))
  const lines = src.split('\n')
  const found = []
  const re = /[=!]=/g
  let m
  while ((m = re.exec(text)) !== null) {
    const before = text[m.index - 1]
    const after = text[m.index + 2]
    if (after === '=' || before === '=' || before === '<' || before === '>' || before === '!') continue
    const left = leftOperand(text, m.index)
    const right = rightOperand(text, m.index + 2)
    if (!looksSecret(left) && !looksSecret(right)) continue
    const line = text.slice(0, m.index).split('\n').length
    // `// ct-ok: <reason>` on any line the comparison spans
    const first = line - left.split('\n').length + 1
    const last = line + right.split('\n').length - 1
    if (lines.slice(first - 1, last).some((l) => CT_OK.test(l))) continue
    found.push({ line, text: lines[line - 1].trim(), left, right })
  }
  return found
}

function main () {
  if (!fs.existsSync(SRC)) {
    console.error(`check-constant-time: no src/ under ${ROOT}`)
    process.exit(2)
  }
  const files = listRustFiles(SRC).filter((f) => !EXEMPT_FILES.has(path.relative(ROOT, f)))
  const offences = []
  for (const f of files) for (const o of check(f)) offences.push({ file: path.relative(ROOT, f), ...o })
  if (offences.length === 0) {
    console.log(`check-constant-time: ${files.length} files, no ==/!= on secret material`)
    return
  }
  console.error('check-constant-time: compare MACs, digests, tags and secrets with crate::digest::ct_eq')
  console.error('(or mark a comparison that is not on secret bytes with `// ct-ok: <reason>`):')
  for (const o of offences) console.error(`${o.file}:${o.line}: ${o.text}`)
  process.exitCode = 1
}

if (require.main === module) main()

module.exports = { blank, check, dropTestItems, looksSecret }
