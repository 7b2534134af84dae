// Public typings of tandem-session (hand-written; the generated binding typings live in
// js/native/binding.d.ts and are re-exported here only where they are public API).
//
// Today the package exports the token core. The Express middleware, `session(options)`,
// with `req.session` and `SessionData` augmentation, comes with the middleware.

export {
  TokenCore,
  NapiTokenOptions as TokenCoreOptions,
  NapiAccessClaims as AccessClaims,
  NapiVerifyResult as VerifyResult,
  NapiSubject as Subject,
  NapiIssuedAccess as IssuedAccessToken,
  NapiRefreshToken as RefreshToken,
  NapiParsedRefresh as ParsedRefreshToken,
  NapiKeyRingInfo as KeyRingInfo,
  NapiKeyInfo as KeyInfo,
} from './js/native/binding'
