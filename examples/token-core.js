'use strict'

/**
 * A tour of the token core, runnable with `npm start` after `npm install`.
 *
 * It signs an access token, verifies it the way every request will (one synchronous call
 * with the Cookie header), shows that a tampered or expired token is refused with a
 * stable code, issues and rotates a refresh token, tells a forged refresh token from a
 * genuine one, rotates the signing keys without logging anyone out, and seals the key
 * ring for storage. The Express middleware that puts this behind `req.session` is the
 * next piece of work (see README, Status).
 */

const { TokenCore } = require('..')

const start = Date.UTC(2026, 0, 1)
const core = new TokenCore({
  secret: [process.env.SESSION_SECRET || 'demo-secret-please-change-me-0123456789'],
  accessTokenMaxAge: 15 * 60 * 1000,
  fixedNow: start // a fixed clock so the tour can move time; apps leave this out
})

function show (label, value) {
  console.log(label.padEnd(44), typeof value === 'string' ? value : JSON.stringify(value))
}

const handle = core.newSessionHandle()
const at = core.signAccessToken({ userId: 'alice', session: handle, claims: { role: 'editor' } })
show('access token (' + at.token.length + ' bytes)', at.token.slice(0, 40) + '…')

const cookie = 'theme=dark; __Host-at=' + at.token
const ok = core.verifyRequest(cookie, null)
show('verifyRequest(cookie)', { ok: ok.ok, sub: ok.claims.sub, role: ok.claims.claims.role })

const tampered = at.token.slice(0, -2) + (at.token.endsWith('A') ? 'BB' : 'AA')
show('tampered token', core.verifyRequest('__Host-at=' + tampered, null).code)
show('same cookie twice', core.verifyRequest(cookie + '; __Host-at=' + at.token, null).code)

core.setNow(start + 16 * 60 * 1000)
show('16 minutes later', core.verifyRequest(cookie, null).code)

const rt0 = core.issueRefreshToken(handle)
show('refresh token (store keeps only digest)', { digest: rt0.digest, generation: rt0.generation })
const salt = 'AAAAAAAAAAAAAAAAAAAAAA'
const rt1 = core.refreshSuccessor(rt0.token, salt)
show('rotated: generation', rt1.generation)
show('same predecessor, same successor (grace)', core.refreshSuccessor(rt0.token, salt).token === rt1.token)
const forged = rt0.token.slice(0, 40) + (rt0.token[40] === 'A' ? 'B' : 'A') + rt0.token.slice(41)
try {
  core.parseRefreshToken(forged)
} catch (err) {
  show('forged refresh token (revokes nothing)', err.code)
}

const week = 7 * 24 * 3600 * 1000
core.setNow(start + week - 60 * 1000)
const beforeRotation = core.signAccessToken({ userId: 'alice', session: handle })
core.setNow(start + week)
show('signing keys rotate after 7 days', core.rotateKeysIfDue())
show('token signed just before: still valid', core.verifyRequest('__Host-at=' + beforeRotation.token, null).ok)
const after = core.signAccessToken({ userId: 'alice', session: handle })
show('new token, new kid', core.verifyAccessToken(after.token).kid !== core.verifyAccessToken(beforeRotation.token).kid)

const sealed = core.sealKeyRing()
show('sealed key ring (' + sealed.length + ' chars)', sealed.slice(0, 40) + '…')
show('CSRF token verifies for its session', core.verifyCsrfToken(core.csrfToken(handle), handle))
