'use strict'

/**
 * A small HTTP client for the middleware tests, with a real cookie jar.
 *
 * The jar follows RFC 6265 §5.2–5.4 (and the cookie prefixes of RFC 6265bis): it stores
 * what `Set-Cookie` says (Path, Max-Age over Expires, Domain, Secure, HttpOnly, SameSite),
 * forgets a cookie set with `Max-Age=0`, an Expires in the past or an empty value, and
 * sends back only the cookies whose Path path-matches the request path. So a refresh
 * cookie with `Path=/session/refresh` reaches that endpoint and nothing else, as in a
 * browser, and every request records the exact `Cookie` header it carried.
 *
 * Built on `node:http`, not `fetch`: Node's fetch forces `Sec-Fetch-Mode: cors` (no page
 * navigation can be played with it), adds Accept, Accept-Language and User-Agent of its
 * own, and cannot send some of the raw bytes the hostile-input tests need. Here a request
 * carries exactly the headers the test chose, plus Host. Redirects are never followed
 * unless asked (`redirect: 'follow'`), like fetch's `redirect: 'manual'`.
 */

const http = require('node:http')

/** The default-path of a request path (RFC 6265 §5.1.4). */
function defaultPath (requestPath) {
  if (!requestPath.startsWith('/')) return '/'
  const i = requestPath.lastIndexOf('/')
  return i === 0 ? '/' : requestPath.slice(0, i)
}

/** Whether `requestPath` path-matches `cookiePath` (RFC 6265 §5.1.4). */
function pathMatches (requestPath, cookiePath) {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

/**
 * Parse one Set-Cookie header value (RFC 6265 §5.2), as received for `url` at `now` (ms).
 * @returns {object|null} `{name, value, path, domain, hostOnly, expires (ms|null),
 *   maxAge (s|null), secure, httpOnly, sameSite, priority, partitioned, raw}`, or null when
 *   a browser ignores the line
 */
function parseSetCookie (line, url, now) {
  const parts = line.split(';')
  const pair = parts.shift()
  const eq = pair.indexOf('=')
  if (eq < 0) return null
  const name = pair.slice(0, eq).trim()
  const value = pair.slice(eq + 1).trim()
  if (name === '') return null
  const c = {
    name,
    value,
    path: null,
    domain: null,
    hostOnly: true,
    expires: null,
    maxAge: null,
    secure: false,
    httpOnly: false,
    sameSite: null,
    priority: null,
    partitioned: false,
    raw: line
  }
  let expiresAttr = null
  for (const part of parts) {
    const i = part.indexOf('=')
    const key = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase()
    const val = i < 0 ? '' : part.slice(i + 1).trim()
    if (key === 'expires') {
      const t = Date.parse(val)
      if (!Number.isNaN(t)) expiresAttr = t
    } else if (key === 'max-age') {
      if (/^-?\d+$/.test(val)) c.maxAge = Number(val)
    } else if (key === 'domain') {
      if (val !== '') c.domain = val.replace(/^\./, '').toLowerCase()
    } else if (key === 'path') {
      c.path = val.startsWith('/') ? val : null
    } else if (key === 'secure') {
      c.secure = true
    } else if (key === 'httponly') {
      c.httpOnly = true
    } else if (key === 'samesite') {
      c.sameSite = val
    } else if (key === 'priority') {
      c.priority = val
    } else if (key === 'partitioned') {
      c.partitioned = true
    }
  }
  if (c.maxAge !== null) c.expires = c.maxAge <= 0 ? 0 : now + c.maxAge * 1000
  else if (expiresAttr !== null) c.expires = expiresAttr
  c.pathAttribute = c.path
  if (c.path === null) c.path = defaultPath(new URL(url).pathname)
  if (c.domain !== null) c.hostOnly = false
  return c
}

/** Whether a parsed Set-Cookie asks the browser to forget the cookie. */
function isDeletion (c, now) {
  return c.value === '' || (c.expires !== null && c.expires <= now)
}

/**
 * A cookie jar for one origin's host (the tests all talk to 127.0.0.1). Cookies are keyed
 * by (name, domain, path) as in a browser: a deletion with another Path deletes nothing.
 */
class CookieJar {
  #cookies = new Map()
  #clock
  #seq = 0

  /** @param {() => number} [clock] the browser's clock (ms); default Date.now */
  constructor (clock = Date.now) {
    this.#clock = clock
    /** Set-Cookie lines a browser would have refused (e.g. a __Host- cookie without Secure). */
    this.refused = []
  }

  now () {
    return this.#clock()
  }

  /** A copy of this jar (same cookies, same clock): what a thief who copied them holds. */
  clone () {
    const j = new CookieJar(this.#clock)
    for (const [k, c] of this.#cookies) j.#cookies.set(k, { ...c })
    j.#seq = this.#seq
    return j
  }

  /**
   * Store the Set-Cookie lines of a response to `url`. `secure`: whether the browser
   * sees the origin as secure (https, or a TLS-terminating proxy in front).
   * @returns {object[]} the parsed lines (also those refused)
   */
  receive (lines, url, secure) {
    const now = this.now()
    const host = new URL(url).hostname.toLowerCase()
    const out = []
    for (const line of lines) {
      const c = parseSetCookie(line, url, now)
      if (c === null) {
        this.refused.push({ line, why: 'unparsable' })
        continue
      }
      out.push(c)
      const why = this.#refusal(c, host, secure)
      if (why) {
        this.refused.push({ line, why })
        c.refused = why
        continue
      }
      c.domain = c.domain ?? host
      const key = c.name + '\0' + c.domain + '\0' + c.path
      if (isDeletion(c, now)) {
        this.#cookies.delete(key)
      } else {
        const old = this.#cookies.get(key)
        c.created = old ? old.created : ++this.#seq
        this.#cookies.set(key, c)
      }
    }
    return out
  }

  #refusal (c, host, secure) {
    if (c.domain !== null && c.domain !== host && !host.endsWith('.' + c.domain)) return 'domain does not match'
    if (c.secure && !secure) return 'Secure cookie from an insecure origin'
    if (c.name.startsWith('__Secure-') && !c.secure) return '__Secure- without Secure'
    if (c.name.startsWith('__Host-') && (!c.secure || c.domain !== null || c.pathAttribute !== '/')) {
      return '__Host- needs Secure, Path=/ and no Domain'
    }
    return null
  }

  /** The live cookies, optionally only those named `name`. */
  all (name) {
    const now = this.now()
    const out = []
    for (const [k, c] of this.#cookies) {
      if (c.expires !== null && c.expires <= now) {
        this.#cookies.delete(k)
        continue
      }
      if (name === undefined || c.name === name) out.push(c)
    }
    return out
  }

  /** The one live cookie named `name` (undefined if none; throws if several paths hold one). */
  get (name) {
    const found = this.all(name)
    if (found.length > 1) throw new Error(`the jar holds ${found.length} cookies named ${name}`)
    return found[0]
  }

  /** Names of the live cookies, sorted. */
  names () {
    return this.all().map((c) => c.name).sort()
  }

  /** Put a cookie in by hand (host-only, Path=/ unless said). */
  set (name, value, attributes = {}) {
    const c = { name, value, path: '/', domain: '127.0.0.1', hostOnly: true, expires: null, secure: false, httpOnly: true, sameSite: null, ...attributes }
    c.created = ++this.#seq
    this.#cookies.set(c.name + '\0' + c.domain + '\0' + c.path, c)
  }

  /** Forget every cookie. */
  clear () {
    this.#cookies.clear()
  }

  /**
   * The Cookie header a browser would send to `url` (RFC 6265 §5.4): matching host and
   * path, Secure ones only to a secure origin; longer paths first. Null when none.
   */
  header (url, secure) {
    const u = new URL(url)
    const host = u.hostname.toLowerCase()
    const list = this.all().filter((c) =>
      (c.hostOnly ? c.domain === host : (host === c.domain || host.endsWith('.' + c.domain))) &&
      pathMatches(u.pathname, c.path) &&
      (!c.secure || secure))
    list.sort((a, b) => b.path.length - a.path.length || a.created - b.created)
    return list.length === 0 ? null : list.map((c) => c.name + '=' + c.value).join('; ')
  }
}

/** Names of the cookies in a Cookie header string (in order, duplicates kept). */
function cookieNames (header) {
  if (!header) return []
  return header.split(';').map((p) => p.trim()).filter(Boolean).map((p) => p.split('=')[0])
}

/** Parse a JSON body if it is one. */
function maybeJson (text, type) {
  if (!/\bjson\b/i.test(type || '')) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** One HTTP exchange with exactly the given headers (`[name, value]` pairs; repeats allowed). */
function exchange (method, url, headerPairs, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    // An object unless a name repeats (Node sends an array value of Cookie as one joined
    // line); the flat-array form is kept for repeats only, as Node does not see a
    // Content-Length given that way (it would add Transfer-Encoding too).
    const names = headerPairs.map(([k]) => k.toLowerCase())
    let headers
    if (new Set(names).size === names.length) {
      headers = Object.fromEntries(headerPairs)
      if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body))
    } else {
      if (body !== undefined) throw new Error('repeated headers with a body are not supported')
      headers = headerPairs.flat()
      if (!names.includes('host')) headers.unshift('Host', u.host)
    }
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method,
      path: u.pathname + u.search,
      headers,
      agent: false,
      setHost: !headerPairs.some(([k]) => k.toLowerCase() === 'host'),
      insecureHTTPParser: false
    }, (res) => {
      const chunks = []
      res.on('data', (d) => chunks.push(d))
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * A browser-like client of one app. Every request records `{method, path, cookie,
 * headers, status}` in `log`; `lastCookie` is the Cookie header of the latest request.
 */
class HttpClient {
  /**
   * @param {string} baseUrl e.g. `http://127.0.0.1:1234`
   * @param {object} [options]
   * @param {() => number} [options.clock] the browser's clock, for cookie expiry
   * @param {CookieJar} [options.jar]
   * @param {boolean} [options.secure] the browser sees the origin as https (proxy tests)
   * @param {string} [options.origin] the Origin sent on unsafe requests (default: the app's)
   * @param {object} [options.headers] headers sent on every request (e.g. X-Forwarded-Proto)
   * @param {string} [options.userAgent] default 'TestBrowser/1.0'
   */
  constructor (baseUrl, options = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, '')
    this.options = options
    this.secure = Boolean(options.secure)
    // A browser behind a TLS-terminating proxy sees (and sends as Origin) the https origin.
    this.origin = options.origin ?? (this.secure ? 'https://' + new URL(this.baseUrl).host : new URL(this.baseUrl).origin)
    this.jar = options.jar ?? new CookieJar(options.clock)
    this.defaultHeaders = { ...options.headers }
    this.userAgent = options.userAgent ?? 'TestBrowser/1.0'
    this.log = []
  }

  /** Another client with a copy of this one's cookies and settings (an attacker's copy). */
  clone (options = {}) {
    return new HttpClient(this.baseUrl, { ...this.options, ...options, jar: this.jar.clone() })
  }

  get lastCookie () {
    return this.log.length === 0 ? undefined : this.log[this.log.length - 1].cookie
  }

  /**
   * Send a request. `opts`: `headers` (a value of false/null/undefined removes a default
   * header; `Cookie` given here replaces the jar's), `json` or `form` (a body), `body`
   * (raw text, with `type`), `jar: false` (send no cookies, store none), `redirect`
   * ('manual' default, or 'follow').
   * @returns {Promise<object>} `{status, headers, text, json, setCookies, cookies(),
   *   location, cookie (sent), request}`
   */
  async request (method, path, opts = {}) {
    const url = new URL(path, this.baseUrl + '/').href
    const unsafe = !['GET', 'HEAD', 'OPTIONS', 'TRACE'].includes(method)
    const merged = new Map()
    const put = (k, v) => merged.set(k.toLowerCase(), [k, v])
    put('User-Agent', this.userAgent)
    put('Accept', 'application/json')
    if (unsafe) put('Origin', this.origin)
    for (const [k, v] of Object.entries(this.defaultHeaders)) put(k, v)
    let body
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json)
      put('Content-Type', 'application/json')
    } else if (opts.form !== undefined) {
      body = new URLSearchParams(opts.form).toString()
      put('Content-Type', 'application/x-www-form-urlencoded')
    } else if (opts.body !== undefined) {
      body = opts.body
      if (opts.type) put('Content-Type', opts.type)
    }
    if (opts.jar !== false) {
      const cookie = this.jar.header(url, this.secure)
      if (cookie !== null) put('Cookie', cookie)
    }
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v === false || v === null || v === undefined) merged.delete(k.toLowerCase())
      else put(k, String(v))
    }
    const pairs = [...merged.values()]
    const sent = Object.fromEntries(pairs.map(([k, v]) => [k.toLowerCase(), v]))
    const { res, body: raw } = await exchange(method, url, pairs, body)
    const text = raw.toString('utf8')
    const lines = res.headers['set-cookie'] ?? []
    const setCookies = opts.jar === false
      ? lines.map((l) => parseSetCookie(l, url, this.jar.now())).filter(Boolean)
      : this.jar.receive(lines, url, this.secure)
    const record = { method, path: new URL(url).pathname + new URL(url).search, cookie: sent.cookie ?? null, headers: sent, status: res.statusCode }
    this.log.push(record)
    const out = {
      status: res.statusCode,
      headers: res.headers,
      text,
      json: maybeJson(text, res.headers['content-type']),
      setCookies,
      location: res.headers.location,
      now: this.jar.now(),
      cookie: record.cookie,
      request: record,
      /** The Set-Cookie of this response for `name` (undefined if none). */
      setCookie (name) {
        return setCookies.find((c) => c.name === name)
      }
    }
    if (opts.redirect === 'follow' && [301, 302, 303, 307, 308].includes(out.status) && out.location) {
      const hops = (opts.hops ?? 0) + 1
      if (hops > 10) throw new Error('too many redirects')
      const keep = out.status === 307 || out.status === 308
      return this.request(keep ? method : 'GET', out.location, { ...opts, json: keep ? opts.json : undefined, form: keep ? opts.form : undefined, body: keep ? opts.body : undefined, hops })
    }
    return out
  }

  get (path, opts) { return this.request('GET', path, opts) }
  post (path, opts) { return this.request('POST', path, opts) }

  /** A top-level page navigation (typed URL or link), as a browser sends it. */
  navigate (path, opts = {}) {
    return this.get(path, {
      ...opts,
      headers: {
        Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
        'Sec-Fetch-Mode': 'navigate',
        'Sec-Fetch-Dest': 'document',
        'Sec-Fetch-Site': 'none',
        ...opts.headers
      }
    })
  }

  /** Follow the Location of a redirect response as a browser navigation would (GET). */
  follow (res, opts = {}) {
    if (!res.location) throw new Error(`no Location to follow (status ${res.status})`)
    const nav = res.request.headers['sec-fetch-mode'] === 'navigate'
    const headers = nav ? { 'Sec-Fetch-Site': 'same-origin', ...opts.headers } : opts.headers
    return nav ? this.navigate(res.location, { ...opts, headers }) : this.get(res.location, { ...opts, headers })
  }

  /**
   * Send a request with exactly these header pairs (repeats allowed, values as latin1
   * strings: one char per byte) and no jar: for malformed input.
   */
  async raw (method, path, headerPairs, body) {
    const url = new URL(path, this.baseUrl + '/').href
    const { res, body: rawBody } = await exchange(method, url, headerPairs, body)
    const text = rawBody.toString('utf8')
    this.log.push({ method, path, cookie: null, headers: Object.fromEntries(headerPairs), status: res.statusCode, raw: true })
    const lines = res.headers['set-cookie'] ?? []
    const setCookies = lines.map((l) => parseSetCookie(l, url, this.jar.now())).filter(Boolean)
    return {
      status: res.statusCode,
      headers: res.headers,
      text,
      json: maybeJson(text, res.headers['content-type']),
      setCookies,
      location: res.headers.location,
      now: this.jar.now(),
      setCookie (name) {
        return setCookies.find((c) => c.name === name)
      }
    }
  }
}

module.exports = { CookieJar, HttpClient, cookieNames, defaultPath, isDeletion, parseSetCookie, pathMatches }
