// An app declaring its session data, as with express-session:
// `declare module 'tandem-session' { interface SessionData { … } }`.

import type { Request, Response } from 'express'
import type { SessionData } from 'tandem-session'

declare module 'tandem-session' {
  interface SessionData {
    views: number
    cart: { sku: string; qty: number }[]
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
declare function expect<T extends true>(): void

export function count (req: Request, res: Response): void {
  expect<Equal<typeof req.session.views, number | undefined>>()
  expect<Equal<typeof req.session.cart, { sku: string; qty: number }[] | undefined>>()
  // @ts-expect-error views may be undefined
  const views: number = req.session.views
  req.session.views = (req.session.views ?? 0) + 1
  req.session.cart = [{ sku: 'A-1', qty: 2 }]
  delete req.session.cart
  res.json({ views: req.session.views })

  // @ts-expect-error views is a number
  req.session.views = 'one'
  // @ts-expect-error cart items are { sku, qty }
  req.session.cart = [{ sku: 'A-1' }]
  // @ts-expect-error still no undeclared keys
  req.session.viewz = 1
}

export async function login (req: Request): Promise<void> {
  // initial data is checked against SessionData too
  await req.session.create('user-1', { data: { views: 0 } })
  // @ts-expect-error views is a number
  await req.session.create('user-1', { data: { views: 'zero' } })
  // @ts-expect-error undeclared key
  await req.session.create('user-1', { data: { viewz: 0 } })
}

// The augmented interface is the one the namespace exports.
const data: SessionData = { views: 1, cart: [] }
// @ts-expect-error every declared key is required in SessionData itself (req.session has them optional)
const partial: SessionData = { views: 1 }
export { data, partial }
