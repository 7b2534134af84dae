// bench/RESULTS.md: the whole suite's results on one page. `npm run bench` runs every part
// (each writes its own file with its full tables and method), then this, which copies each
// part's headline sections here, in the order a reader asks: HTTP against express-session and
// the JWT middlewares, the targets, growth and memory, the deterministic instruction counts,
// the micro-benchmarks (verify and sign), the session engine; then bench/ANALYSIS.md (written
// by hand: what was profiled and changed, what is left and why).
//
// Guarantees: nothing here is a number of its own; every figure is copied from a part's file,
// with that file's generation date beside it. A part that has no file yet is said to be missing.
// Usage: node bench/summary.mjs (npm run bench runs it last).

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

/** A part's file: its generation line and its `## ` sections by title. */
function part (file) {
  const p = path.join(here, file)
  if (!fs.existsSync(p)) return null
  const text = fs.readFileSync(p, 'utf8')
  const generated = (/\d{4}-\d\d-\d\dT[\d:.]+Z/.exec(text.slice(0, 600)) ?? ['?'])[0]
  const sections = new Map()
  const chunks = text.split(/^## /m).slice(1)
  for (const c of chunks) {
    const nl = c.indexOf('\n')
    sections.set(c.slice(0, nl).trim(), c.slice(nl + 1).trim())
  }
  return { file, generated, sections }
}

/** Sections of `p` whose title starts with one of `titles`, as `### ` subsections. */
function pick (p, titles) {
  if (p === null) return []
  const out = []
  for (const t of titles) {
    for (const [title, body] of p.sections) {
      if (title.startsWith(t)) out.push(`### ${title}\n\n${body}`)
    }
  }
  return out
}

function block (heading, p, titles, intro) {
  if (p === null) return `## ${heading}\n\n(not run yet: its file is missing)\n`
  return [`## ${heading}`, `From [\`bench/${p.file}\`](${p.file}), generated ${p.generated}. ${intro}`, ...pick(p, titles)].join('\n\n') + '\n'
}

const http = part('HTTP-RESULTS.md')
const instr = part('INSTRUCTIONS-RESULTS.md')
const verify = part('VERIFY-RESULTS.md')
const engine = part('ENGINE-RESULTS.md')
const exhaustion = part('EXHAUSTION-RESULTS.md')
const analysisPath = path.join(here, 'ANALYSIS.md')
const analysis = fs.existsSync(analysisPath)
  ? fs.readFileSync(analysisPath, 'utf8').replace(/^# .*\n+/, '').replace(/^## /gm, '### ').trim()
  : '(bench/ANALYSIS.md is missing)'

const instrText = instr === null ? '' : fs.readFileSync(path.join(here, instr.file), 'utf8').split('\n').slice(2).join('\n').trim()

const md = `# Benchmark results

Written by \`npm run bench\` (\`bench/run.sh\`: verify and sign, the session engine, HTTP,
instructions per request, then \`bench/summary.mjs\`). Every number below is copied from the
part's own file, which has the full tables, the machine and the method; rerun with
\`npm run bench\` (about an hour on 2 cores; \`BENCH_PARTS="http"\` and friends run one part).
Nothing here is edited by hand except the analysis, which comes from \`bench/ANALYSIS.md\`.

${block('HTTP: tandem-session, express-session and JWT middlewares', http, ['Headline', 'Targets', 'Growth'], 'Requests per second through Express 5, each server pinned to one core and autocannon to the other; medians of interleaved rounds.')}
## Instructions per request

${instr === null ? '(not run yet: bench/INSTRUCTIONS-RESULTS.md is missing; it needs valgrind)' : `From [\`bench/INSTRUCTIONS-RESULTS.md\`](INSTRUCTIONS-RESULTS.md). ${instrText}`}

${block('Verify and sign, from JS', verify, ['Results', 'Sign'], 'Nanoseconds per call, one core.')}
${block('The session engine (stores)', engine, ['Throughput', 'Memory per session'], 'Operations per second through the engine from JS.')}
${block('Exhaustion soak: hostile clients next to normal users', exhaustion, ['Result'], 'Memory of the app process, refused logins and 5xx under hostile traffic (bench/soak.mjs --hostile).')}
## What was profiled, what changed, what is left and why

${analysis}
`
fs.writeFileSync(path.join(here, 'RESULTS.md'), md)
console.log('wrote bench/RESULTS.md')
