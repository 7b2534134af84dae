'use strict'

/**
 * Requests written by hand over a plain TCP socket, for the cases node:http cannot send
 * (it joins or drops repeated header lines before they leave the client), and the routes
 * that show what the server kept of them. Parses only what the tests read: the status,
 * the headers, the Set-Cookie lines and a plain or chunked body.
 */

const net = require('node:net')

const { view } = require('./apps.js')

/**
 * Extra routes for `useApp(t, express, options, { setup: headerRoutes })`: `/p/:anything`
 * (a token as a path segment, ATK-45) and `/headers`, what Node kept of the request's
 * Authorization and Cookie lines.
 */
function headerRoutes (app) {
  app.get('/p/:anything', (req, res) => res.json(view(req)))
  app.get('/headers', (req, res) => {
    const raw = (name) => req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i].toLowerCase() === name).length
    res.json({
      userId: req.session ? req.session.owner : null,
      authorization: req.headers.authorization ?? null,
      authorizationLines: raw('authorization'),
      cookie: req.headers.cookie ?? null,
      cookieLines: raw('cookie')
    })
  })
}

/** Decode a chunked body. */
function unchunk (buf) {
  const out = []
  let i = 0
  for (;;) {
    const eol = buf.indexOf('\r\n', i)
    const size = parseInt(buf.slice(i, eol).toString('latin1'), 16)
    if (!(size > 0)) return Buffer.concat(out)
    out.push(buf.slice(eol + 2, eol + 2 + size))
    i = eol + 2 + size + 2
  }
}

/**
 * Send a request written by hand (`lines`: the request line and header lines, each sent
 * as its own line) over a plain TCP socket, and parse the answer.
 * @returns {Promise<{status, headers, setCookies: string[], text, json}>}
 */
function rawHttp (app, lines, body = '') {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(new URL(app.url).port), '127.0.0.1')
    const chunks = []
    sock.on('data', (d) => chunks.push(d))
    sock.on('error', reject)
    sock.on('end', () => {
      const buf = Buffer.concat(chunks)
      const split = buf.indexOf('\r\n\r\n')
      const [statusLine, ...headerLines] = buf.slice(0, split).toString('latin1').split('\r\n')
      const headers = {}
      const setCookies = []
      for (const l of headerLines) {
        const k = l.slice(0, l.indexOf(':')).toLowerCase()
        const v = l.slice(l.indexOf(':') + 1).trim()
        if (k === 'set-cookie') setCookies.push(v)
        else headers[k] = v
      }
      let rest = buf.slice(split + 4)
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) rest = unchunk(rest)
      const text = rest.toString('utf8')
      let json
      try { json = JSON.parse(text) } catch { json = undefined }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, setCookies, text, json })
    })
    const host = new URL(app.url).host
    const all = [...lines.slice(0, 1), `Host: ${host}`, ...lines.slice(1), 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`]
    sock.write(all.join('\r\n') + '\r\n\r\n' + body)
  })
}

module.exports = { headerRoutes, rawHttp }
