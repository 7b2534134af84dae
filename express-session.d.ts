// The module name 'express-session', declared as tandem-session itself (a script file,
// so this is an ambient module declaration; index.d.ts references it).
//
// What it guarantees: an app's existing augmentation
//
//   declare module 'express-session' { interface SessionData { views: number } }
//
// applies to tandem-session's `SessionData` (the augmentation merges into the namespace
// that `export =` names, as it would into @types/express-session's), with or without
// @types/express-session installed: TypeScript resolves a module name to an ambient
// declaration before it looks in node_modules, so imports of 'express-session' type as
// tandem-session too (`import { SessionData } from 'express-session'` keeps compiling).
// What it does not: change what `require('express-session')` loads at run time; an app
// that still runs express-session somewhere gets tandem-session's types for it.

declare module 'express-session' {
  import session = require('tandem-session')
  export = session
}
