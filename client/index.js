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
 * Not guaranteed
 * - A request whose body is a ReadableStream is sent once (a stream cannot be replayed): its
 *   401 is returned after the refresh. Request objects are cloned (tee'd) so they can be replayed.
 * - Without Web Locks two tabs may both refresh; the server's grace window accepts that.
 * - `info` is this tab's view, updated by the responses this client sees.
 * - Cross-origin APIs need the app's CORS setup (credentials, exposed headers); not handled here.
 */

const LOCK = 'tandem-session:refresh'
const MARKER = 'tandem-session:refreshed'
const CHANNEL = 'tandem-session'
const ENDINGS = ['UNAUTHORISED', 'TOKEN_THEFT_DETECTED']
const SAFE = ['GET', 'HEAD', 'OPTIONS'] // Request upper-cases these; TRACE is forbidden in fetch

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

/**
 * @param {import('./index.d.ts').ClientOptions} [options]
 * @returns {import('./index.d.ts').TandemClient}
 */
export function createClient (options = {}) {
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
  if (header && !['get', 'set', 'clear'].every((m) => typeof storage?.[m] === 'function')) {
    throw new TypeError("createClient: transfer 'header' needs storage { get, set, clear }")
  }
  if (onSessionEnded !== undefined && typeof onSessionEnded !== 'function') {
    throw new TypeError('createClient: onSessionEnded must be a function')
  }
  const rawFetch = options.fetch ?? globalThis.fetch
  if (typeof rawFetch !== 'function') throw new TypeError('createClient: no fetch available')
  const send = (...args) => rawFetch.apply(globalThis, args)
  const locks = pick(options, 'locks', () => globalThis.navigator?.locks ?? null)
  const area = pick(options, 'storageArea', localStorageOrNull)
  const channel = pick(options, 'channel', defaultChannel)

  const listeners = { sessionEnded: new Set(), refreshed: new Set(), info: new Set() }
  const emit = (event, value) => { for (const fn of [...listeners[event]]) safely(fn, value) }
  if (onSessionEnded) listeners.sessionEnded.add(onSessionEnded)

  let info = null
  let csrfToken // undefined: none seen yet (use the meta tag); null: cleared when a session ended
  let ended = false // onSessionEnded already ran for the current session
  let generation = 0 // successful refreshes in this tab
  let flight = null // the refresh in progress in this tab
  let installed = null // the globalThis.fetch that install() replaced

  const setInfo = (value) => { info = value; emit('info', value) }

  function readMarker () {
    try {
      return area?.getItem(MARKER) ?? ''
    } catch {
      return ''
    }
  }

  function writeMarker () {
    try {
      area?.setItem(MARKER, Date.now().toString(36) + Math.random().toString(36).slice(2))
    } catch {} // storage full or disabled: in-tab single flight still holds
  }

  /** What "has anyone refreshed since?" is compared against. */
  const snapshot = () => generation + '|' + readMarker()

  function currentCsrf () {
    if (csrfToken !== undefined) return csrfToken
    return globalThis.document?.querySelector?.('meta[name="csrf-token"]')?.getAttribute('content') || null
  }

  /** Take what a response of our origin tells: CSRF token, session info, header-mode tokens. */
  async function absorb (res) {
    const h = res.headers
    const csrf = h.get('x-csrf-token')
    if (csrf) csrfToken = csrf
    const si = h.get('x-session-info')
    if (si === 'ended') {
      csrfToken = null
      setInfo(null)
    } else if (si) {
      let v = null
      try {
        v = JSON.parse(decodeURIComponent(si))
      } catch {} // a malformed header changes nothing
      if (v && typeof v === 'object') {
        ended = false
        setInfo({ userId: v.userId ?? null, accessExpires: Number(v.accessExpires) })
      }
    }
    if (!header) return
    const access = h.get('x-access-token')
    if (access === '') return storage.clear()
    if (access) {
      const refreshToken = h.get('x-refresh-token') || (await storage.get())?.refreshToken
      ended = false
      await storage.set({ accessToken: access, refreshToken })
    }
  }

  /** The session is over: forget it, tell this tab once, and the other tabs when `notify`. */
  async function end (code, notify) {
    csrfToken = null
    if (info !== null) setInfo(null)
    if (header) await storage.clear()
    if (ended) return
    ended = true
    if (notify) channel?.postMessage({ type: 'ended', code })
    emit('sessionEnded', code)
  }

  channel?.addEventListener('message', (e) => {
    if (e.data?.type === 'ended' && ENDINGS.includes(e.data.code)) {
      end(e.data.code, false).catch(report)
    }
  })

  /** POST the refresh endpoint. true: refreshed. */
  async function refreshNow () {
    const headers = new Headers()
    if (header) {
      headers.set('x-session-transfer', 'header')
      const tokens = await storage.get()
      if (tokens?.refreshToken) headers.set('x-refresh-token', tokens.refreshToken)
    }
    const res = await send(refreshUrl.href, { method: 'POST', headers, credentials: 'same-origin' })
    await absorb(res)
    const body = await res.json().catch(() => null)
    if (res.ok) {
      generation++
      writeMarker()
      ended = false
      emit('refreshed', info)
      return true
    }
    if (res.status === 401) await end(body?.code === 'TOKEN_THEFT_DETECTED' ? body.code : 'UNAUTHORISED', true)
    return false
  }

  /**
   * Refresh unless someone did since `since` (a snapshot). One flight per tab; across tabs
   * under the Web Lock: a tab that finds the lock taken waits for it and then only
   * replays, since the holder was refreshing (the localStorage marker alone is not enough:
   * browsers copy it to other tabs' processes a little late). Resolves true when the
   * request may be replayed; never rejects.
   */
  function refreshAfter (since) {
    if (flight) return flight
    const run = () => (snapshot() !== since ? true : refreshNow())
    const underLock = () => locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? run() : null))
      .then((done) => (done === null ? locks.request(LOCK, () => true) : done))
    flight = Promise.resolve()
      .then(() => (locks ? underLock() : run()))
      .catch(() => false)
      .finally(() => { flight = null })
    return flight
  }

  async function decorate (req) {
    if (!SAFE.includes(req.method) && !req.headers.has('x-csrf-token')) {
      const token = currentCsrf()
      if (token) req.headers.set('x-csrf-token', token)
    }
    if (header) {
      req.headers.set('x-session-transfer', 'header')
      const tokens = await storage.get()
      if (tokens?.accessToken) req.headers.set('authorization', 'Bearer ' + tokens.accessToken)
    }
    return req
  }

  async function clientFetch (input, init) {
    const url = new URL(input instanceof Request ? input.url : String(input), base)
    if (url.origin !== origin) return send(input, init)
    const replayable = !(typeof ReadableStream === 'function' && init?.body instanceof ReadableStream)
    const request = new Request(input instanceof Request ? input : url, init)
    for (let tries = 0; ; tries++) {
      const since = snapshot()
      const res = await send(await decorate(replayable ? request.clone() : request))
      await absorb(res)
      if (res.status !== 401) return res
      const code = (await res.clone().json().catch(() => null))?.code
      if (ENDINGS.includes(code)) {
        await end(code, true)
        return res
      }
      if (code !== 'TRY_REFRESH' || !replayable || tries >= maxRetries || !(await refreshAfter(since))) return res
    }
  }

  return {
    fetch: clientFetch,
    get info () { return info },
    refresh: () => refreshAfter(snapshot()),
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
    on (event, fn) {
      if (!(event in listeners)) throw new TypeError('client.on: unknown event ' + event)
      listeners[event].add(fn)
      return () => listeners[event].delete(fn)
    },
    off (event, fn) { listeners[event]?.delete(fn) }
  }
}
