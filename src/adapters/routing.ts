import type { Adapter, Store } from './types.js'

/** The court hierarchy as routing needs it: `parent` links of the directory. */
export interface CourtTree {
  court(code: string): { code: string; parent?: string } | undefined
}

/** More `parent` steps than any real hierarchy has, so a cycle in a bad directory file cannot hang a read. */
const MAX_DEPTH = 16

/**
 * How far `adapter` is from serving `court` itself: 0 for the court's own adapter, the number of `parent`
 * steps up to the registering court for an adapter that covers it, undefined when it does not serve it.
 * Smaller is more specific (docs/architecture.md#adapters-and-routing: a court's own adapter wins over one a higher court registered).
 * The steps are counted in the directory as it is now, so a covered court that has since moved out of the
 * registering court's jurisdiction is no longer served by that adapter.
 */
export function specificity(adapter: Adapter, court: string, store: Store, tree: CourtTree): number | undefined {
  if (!adapter.stores.includes(store)) return undefined
  if (adapter.court === court) return 0
  if (!adapter.covers.includes(court)) return undefined
  let code: string | undefined = court
  for (let distance = 0; code !== undefined && distance <= MAX_DEPTH; distance++) {
    if (code === adapter.court) return distance
    code = tree.court(code)?.parent
  }
  return undefined
}

/**
 * The active adapter that serves `court`'s `store`, most specific first; undefined when none does. Activation
 * refuses ties (see `conflicts`), but should one exist anyway (data from before that check), the adapter
 * active longest keeps serving, so that routing does not depend on storage order.
 */
export function servingAdapter(adapters: Adapter[], court: string, store: Store, tree: CourtTree): Adapter | undefined {
  let best: { adapter: Adapter; distance: number } | undefined
  for (const adapter of adapters) {
    if (adapter.status !== 'active') continue
    const distance = specificity(adapter, court, store, tree)
    if (distance === undefined) continue
    if (
      best === undefined ||
      distance < best.distance ||
      (distance === best.distance && servedEarlier(adapter, best.adapter))
    ) {
      best = { adapter, distance }
    }
  }
  return best?.adapter
}

function servedEarlier(a: Adapter, b: Adapter): boolean {
  const since = (x: Adapter) => x.activatedAt ?? x.createdAt
  return since(a) !== since(b) ? since(a) < since(b) : a.id < b.id
}

/** Every (court, store) pair an adapter claims. */
export function claims(adapter: Adapter): Array<{ court: string; store: Store }> {
  const courts = [...new Set([adapter.court, ...adapter.covers])]
  return courts.flatMap((court) => adapter.stores.map((store) => ({ court, store })))
}

/**
 * Active adapters that claim one of `candidate`'s (court, store) pairs at the same specificity: activating
 * `candidate` beside them would make routing ambiguous, so activation is refused (409).
 */
export function conflicts(
  candidate: Adapter,
  adapters: Adapter[],
  tree: CourtTree,
): Array<{ adapter: Adapter; court: string; store: Store }> {
  const found: Array<{ adapter: Adapter; court: string; store: Store }> = []
  for (const { court, store } of claims(candidate)) {
    const mine = specificity(candidate, court, store, tree)
    // A claim the directory no longer backs serves nothing, so it clashes with nothing (and two such claims
    // must not "match" on undefined).
    if (mine === undefined) continue
    for (const other of adapters) {
      if (other.id === candidate.id || other.status !== 'active') continue
      if (specificity(other, court, store, tree) === mine) found.push({ adapter: other, court, store })
    }
  }
  return found
}
