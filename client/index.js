/**
 * tandem-session browser client: a `fetch` wrapper that keeps a dual-token session alive.
 * Plain ESM, no dependencies, no build step (`<script type="module">` or a bundler).
 *
 *   import { createClient } from 'tandem-session/client'
 *   const client = createClient({ onSessionEnded: () => location.assign('/login') })
 *   const res = await client.fetch('/api/me')        // or client.install() to wrap globalThis.fetch
 *
 * Guarantees
 * - Only requests to our own origin (`baseUrl`, default `location.href`) are touched; a request
 *   to any other origin is passed to `fetch` exactly as given: no CSRF token, no bearer token,
 *   no refresh, and its response headers are ignored.
 * - On `401 {"code":"TRY_REFRESH"}` the session is refreshed once for every concurrent request
 *   of the tab (one promise) and, with Web Locks, of every tab of the origin: inside the lock a
 *   refresh is skipped when another tab (localStorage marker) or this tab refreshed since the
 *   request was sent. The request is then replayed at most `maxRetries` times (default 1);
 *   after that its 401 is returned. Nothing here loops.
 * - A refresh that fails without a verdict (503, network error, any other status) returns the
 *   original 401 and keeps the session. `UNAUTHORISED` / `TOKEN_THEFT_DETECTED` (from a request
 *   or from the refresh) end it: `onSessionEnded(code)` runs once per session, in this tab and,
 *   through BroadcastChannel 'tandem-session', in the others.
 * - `X-CSRF-Token` (last one the server sent, else `<meta name="csrf-token">`) goes on unsafe
 *   methods to our origin only. Cookie mode keeps no token where JS can read it (the cookies are
 *   HttpOnly; `info` holds `{userId, accessExpires}` only). Header mode keeps the tokens only in
 *   the app's `storage` and sends them to our origin only.
 *
 * The pieces, each with one job (`createClient` only wires them and returns the public object):
 * - `readOptions`: the options checked once (a TypeError naming the option), defaults filled;
 * - `Listeners`: the `on`/`off` events; a listener that throws is reported, the next one runs;
 * - `CsrfToken`: the last `X-CSRF-Token` seen (else the meta tag), put on unsafe requests;
 * - `HeaderTokens`: header mode's tokens in the app's `storage`, onto requests and refreshes;
 * - `SessionView`: what our origin's responses say (info, CSRF, tokens) and the session's end;
 * - `RefreshMarker` and `Refresher`: the refresh single flight, in the tab and across tabs;
 * - `fetchWithSession`: `client.fetch`, the send → absorb → refresh → replay loop.
 *
 * Not guaranteed
 * - A request whose body is a ReadableStream is sent once (a stream cannot be replayed): its
 *   401 is returned, with no refresh. Request objects are cloned (tee'd) so they can be replayed.
 * - Without Web Locks two tabs may both refresh; the server's grace window accepts that.
 * - `info` is this tab's view, updated by the responses this client sees.
 * - Cross-origin APIs need the app's CORS setup (credentials, exposed headers); not handled here.
 */

const LOCK = 'tandem-session:refresh'
const MARKER = 'tandem-session:refreshed'
const CHANNEL = 'tandem-session'
const ENDINGS = ['UNAUTHORISED', 'TOKEN_THEFT_DETECTED']
const SAFE = ['GET', 'HEAD', 'OPTIONS'] // Request upper-cases these; TRACE is forbidden in fetch
const EVENTS = ['sessionEnded', 'refreshed', 'info']

/** An exception in app code (a listener, the storage) is reported, never thrown into a request. */
const report = (e) => (globalThis.reportError ?? console.error)(e)

function safely (fn, value) {
  try {
    fn(value)
  } catch (e) {
    report(e)
  }
}

/** An option that may be null (meaning "none"); undefined means the default. */
function pick (options, name, fallback) {
  return options[name] === undefined ? fallback() : options[name]
}

function localStorageOrNull () {
  try {
    return globalThis.localStorage ?? null
  } catch {
    return null // e.g. a sandboxed frame
  }
}

function defaultChannel () {
  if (typeof BroadcastChannel !== 'function') return null
  const ch = new BroadcastChannel(CHANNEL)
  ch.unref?.() // Node: do not keep the process alive
  return ch
}

function isTokenStorage (storage) {
  return ['get', 'set', 'clear'].every((m) => typeof storage?.[m] === 'function')
}

/**
 * The options, checked in this order, with their defaults. `storage` is null in cookie mode;
 * `send` calls the fetch with `globalThis` as `this` (browsers refuse any other).
 */
function readOptions (options) {
  const {
    refreshPath = '/session/refresh', maxRetries = 1, transfer = 'cookie', storage, onSessionEnded
  } = options
  const base = options.baseUrl ?? globalThis.location?.href
  if (base === undefined) throw new TypeError('createClient: baseUrl is required where there is no location')
  const origin = new URL(base).origin
  const refreshUrl = new URL(refreshPath, base)
  if (refreshUrl.origin !== origin) throw new TypeError('createClient: refreshPath must be on the origin of baseUrl')
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new TypeError('createClient: maxRetries must be an integer >= 0')
  if (transfer !== 'cookie' && transfer !== 'header') throw new TypeError("createClient: transfer must be 'cookie' or 'header'")
  const header = transfer === 'header'
  if (header && !isTokenStorage(storage)) throw new TypeError("createClient: transfer 'header' needs storage { get, set, clear }")
  if (onSessionEnded !== undefined && typeof onSessionEnded !== 'function') {
    throw new TypeError('createClient: onSessionEnded must be a function')
  }
  const rawFetch = options.fetch ?? globalThis.fetch
  if (typeof rawFetch !== 'function') throw new TypeError('createClient: no fetch available')
  return {
    base,
    origin,
    refreshUrl,
    maxRetries,
    storage: header ? storage : null,
    onSessionEnded,
    send: (...args) => rawFetch.apply(globalThis, args),
    locks: pick(options, 'locks', () => globalThis.navigator?.locks ?? null),
    area: pick(options, 'storageArea', localStorageOrNull),
    channel: pick(options, 'channel', defaultChannel)
  }
}

/** The client's events (`EVENTS`): `on`, `off`, and `emit` to every listener in turn. */
class Listeners {
  constructor (onSessionEnded) {
    this.byEvent = Object.fromEntries(EVENTS.map((event) => [event, new Set()]))
    if (onSessionEnded) this.byEvent.sessionEnded.add(onSessionEnded)
  }

  on (event, fn) {
    if (!(event in this.byEvent)) throw new TypeError('client.on: unknown event ' + event)
    this.byEvent[event].add(fn)
    return () => this.byEvent[event].delete(fn)
  }

  off (event, fn) {
    this.byEvent[event]?.delete(fn)
  }

  /** A listener that throws is reported; the next one still runs. */
  emit (event, value) {
    for (const fn of [...this.byEvent[event]]) safely(fn, value)
  }
}

/** The CSRF token for unsafe requests: the last one our origin sent, else the page's meta tag. */
class CsrfToken {
  constructor () {
    this.last = undefined // undefined: none seen yet (use the meta tag); null: the session ended
  }

  remember (token) {
    if (token) this.last = token
  }

  /** The session ended: its token (and the page's) is no longer sent. */
  forget () {
    this.last = null
  }

  current () {
    if (this.last !== undefined) return this.last
    return globalThis.document?.querySelector?.('meta[name="csrf-token"]')?.getAttribute('content') || null
  }

  /** On an unsafe method, unless the app set its own. */
  addTo (req) {
    if (SAFE.includes(req.method) || req.headers.has('x-csrf-token')) return
    const token = this.current()
    if (token) req.headers.set('x-csrf-token', token)
  }
}

/** Header mode: the tokens live only in the app's `storage` and go to our origin in headers. */
class HeaderTokens {
  constructor (storage) {
    this.storage = storage
  }

  /** Asks for header mode; the stored tokens (or nothing). */
  async ask (headers) {
    headers.set('x-session-transfer', 'header')
    return await this.storage.get()
  }

  async addAccess (headers) {
    const tokens = await this.ask(headers)
    if (tokens?.accessToken) headers.set('authorization', 'Bearer ' + tokens.accessToken)
  }

  async addRefresh (headers) {
    const tokens = await this.ask(headers)
    if (tokens?.refreshToken) headers.set('x-refresh-token', tokens.refreshToken)
  }

  /**
   * Stores the tokens a response issued (a missing refresh token keeps the stored one); an
   * empty access token clears them. `renewed` runs just before new tokens are stored.
   */
  async absorb (h, renewed) {
    const access = h.get('x-access-token')
    if (access === '') return this.clear()
    if (!access) return
    const refreshToken = h.get('x-refresh-token') || (await this.storage.get())?.refreshToken
    renewed()
    await this.storage.set({ accessToken: access, refreshToken })
  }

  clear () {
    return this.storage.clear()
  }
}

/** Parses `X-Session-Info`: `{userId, accessExpires}`, or null when malformed. */
function parseSessionInfo (value) {
  let v = null
  try {
    v = JSON.parse(decodeURIComponent(value))
  } catch {} // a malformed header changes nothing
  if (!v || typeof v !== 'object') return null
  return { userId: v.userId ?? null, accessExpires: Number(v.accessExpires) }
}

/**
 * This tab's view of the session, as our origin's responses describe it: `info`, the CSRF
 * token, header mode's tokens, and whether `onSessionEnded` already ran for this session.
 */
class SessionView {
  constructor (settings, listeners) {
    this.listeners = listeners
    this.channel = settings.channel
    this.tokens = settings.storage && new HeaderTokens(settings.storage) // null in cookie mode
    this.csrf = new CsrfToken()
    this.info = null
    this.ended = false // onSessionEnded already ran for the current session
  }

  setInfo (value) {
    this.info = value
    this.listeners.emit('info', value)
  }

  /** The session headers of a request to our origin (CSRF, header-mode tokens). */
  async decorate (req) {
    this.csrf.addTo(req)
    if (this.tokens) await this.tokens.addAccess(req.headers)
    return req
  }

  /** Take what a response of our origin tells: CSRF token, session info, header-mode tokens. */
  async absorb (res) {
    const h = res.headers
    this.csrf.remember(h.get('x-csrf-token'))
    this.absorbInfo(h.get('x-session-info'))
    if (this.tokens) await this.tokens.absorb(h, () => { this.ended = false })
  }

  /** `X-Session-Info`: "ended" forgets the info and CSRF token; a malformed one changes nothing. */
  absorbInfo (value) {
    if (value === 'ended') {
      this.csrf.forget()
      this.setInfo(null)
    } else if (value) {
      const info = parseSessionInfo(value)
      if (info === null) return
      this.ended = false
      this.setInfo(info)
    }
  }

  /** A refresh succeeded: a live session again, and `refreshed` with the info. */
  refreshed () {
    this.ended = false
    this.listeners.emit('refreshed', this.info)
  }

  /** The session is over: forget it, tell this tab once, and the other tabs when `notify`. */
  async end (code, notify) {
    this.csrf.forget()
    if (this.info !== null) this.setInfo(null)
    if (this.tokens) await this.tokens.clear()
    if (this.ended) return
    this.ended = true
    if (notify) this.channel?.postMessage({ type: 'ended', code })
    this.listeners.emit('sessionEnded', code)
  }

  /** Another tab said the session ended (BroadcastChannel): end it here without echoing. */
  listenToOtherTabs () {
    this.channel?.addEventListener('message', (e) => {
      if (e.data?.type === 'ended' && ENDINGS.includes(e.data.code)) {
        this.end(e.data.code, false).catch(report)
      }
    })
  }
}

/** The cross-tab "a tab refreshed" marker (localStorage); storage errors read as no marker. */
class RefreshMarker {
  constructor (area) {
    this.area = area
  }

  read () {
    try {
      return this.area?.getItem(MARKER) ?? ''
    } catch {
      return ''
    }
  }

  write () {
    try {
      this.area?.setItem(MARKER, Date.now().toString(36) + Math.random().toString(36).slice(2))
    } catch {} // storage full or disabled: in-tab single flight still holds
  }
}

/** The refresh: one flight per tab, and under the Web Lock one for the tabs of the origin. */
class Refresher {
  constructor (settings, session) {
    this.send = settings.send
    this.refreshUrl = settings.refreshUrl
    this.locks = settings.locks
    this.marker = new RefreshMarker(settings.area)
    this.session = session
    this.generation = 0 // successful refreshes in this tab
    this.flight = null // the refresh in progress in this tab
  }

  /** What "has anyone refreshed since?" is compared against. */
  snapshot () {
    return this.generation + '|' + this.marker.read()
  }

  /**
   * Refresh unless someone did since `since` (a snapshot). One flight per tab; across tabs
   * under the Web Lock (`acrossTabs`). Resolves true when the request may be replayed;
   * never rejects.
   */
  refreshAfter (since) {
    if (this.flight) return this.flight
    const run = () => (this.snapshot() !== since ? true : this.refreshNow())
    this.flight = Promise.resolve()
      .then(() => (this.locks ? this.acrossTabs(run) : run()))
      .catch(() => false)
      .finally(() => { this.flight = null })
    return this.flight
  }

  /**
   * `run` under the Web Lock. A tab that finds the lock taken waits for it and then only
   * replays, since the holder was refreshing (the localStorage marker alone is not enough:
   * browsers copy it to other tabs' processes a little late).
   */
  acrossTabs (run) {
    const locks = this.locks
    return locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? run() : null))
      .then((done) => (done === null ? locks.request(LOCK, () => true) : done))
  }

  /** POST the refresh endpoint. true: refreshed; a 401 ends the session. */
  async refreshNow () {
    const session = this.session
    const headers = new Headers()
    if (session.tokens) await session.tokens.addRefresh(headers)
    const res = await this.send(this.refreshUrl.href, { method: 'POST', headers, credentials: 'same-origin' })
    await session.absorb(res)
    const body = await res.json().catch(() => null)
    if (res.ok) {
      this.generation++
      this.marker.write()
      session.refreshed()
      return true
    }
    if (res.status === 401) await session.end(body?.code === 'TOKEN_THEFT_DETECTED' ? body.code : 'UNAUTHORISED', true)
    return false
  }
}

/**
 * `client.fetch`. Another origin's request goes to `send` as given. Ours is sent with the
 * session headers, its response absorbed, and after a refresh replayed (`shouldReplay`).
 * Request objects are cloned per try so that their body can be sent again.
 */
async function fetchWithSession (parts, input, init) {
  const { settings, session, refresher } = parts
  const url = new URL(input instanceof Request ? input.url : String(input), settings.base)
  if (url.origin !== settings.origin) return settings.send(input, init)
  const replayable = !(typeof ReadableStream === 'function' && init?.body instanceof ReadableStream)
  const request = new Request(input instanceof Request ? input : url, init)
  for (let tries = 0; ; tries++) {
    const since = refresher.snapshot()
    const res = await settings.send(await session.decorate(replayable ? request.clone() : request))
    await session.absorb(res)
    if (!(await shouldReplay(parts, res, { since, tries, replayable }))) return res
  }
}

/**
 * After our origin answered: an ending 401 ends the session; `401 TRY_REFRESH` refreshes and
 * says replay, within `maxRetries` and when the refresh (by anyone since `since`) succeeded.
 */
async function shouldReplay ({ settings, session, refresher }, res, { since, tries, replayable }) {
  if (res.status !== 401) return false
  const code = (await res.clone().json().catch(() => null))?.code
  if (ENDINGS.includes(code)) {
    await session.end(code, true)
    return false
  }
  if (code !== 'TRY_REFRESH' || !replayable || tries >= settings.maxRetries) return false
  return await refresher.refreshAfter(since)
}

/**
 * @param {import('./index.d.ts').ClientOptions} [options]
 * @returns {import('./index.d.ts').TandemClient}
 */
export function createClient (options = {}) {
  const settings = readOptions(options)
  const listeners = new Listeners(settings.onSessionEnded)
  const session = new SessionView(settings, listeners)
  session.listenToOtherTabs()
  const refresher = new Refresher(settings, session)
  const parts = { settings, session, refresher }
  const clientFetch = (input, init) => fetchWithSession(parts, input, init)
  let installed = null // the globalThis.fetch that install() replaced

  return {
    fetch: clientFetch,
    get info () { return session.info },
    refresh: () => refresher.refreshAfter(refresher.snapshot()),
    install () {
      if (installed === null) {
        installed = globalThis.fetch
        globalThis.fetch = clientFetch
      }
    },
    uninstall () {
      if (installed === null) return
      if (globalThis.fetch === clientFetch) globalThis.fetch = installed
      installed = null
    },
    on: (event, fn) => listeners.on(event, fn),
    off: (event, fn) => listeners.off(event, fn)
  }
}
