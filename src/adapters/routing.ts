import type { Adapter, Store } from './types.js'

/** The court hierarchy as routing needs it: `parent` links of the directory. */
export interface CourtTree {
  court(code: string): { code: string; parent?: string } | undefined
}

/**
 * How far `adapter` is from serving `court` itself: 0 for the court's own adapter, the number of `parent`
 * steps up to the registering court for an adapter that covers it, undefined when it does not serve it.
 * Smaller is more specific (DESIGN §4: a court's own adapter wins over one a higher court registered).
 */
export function specificity(adapter: Adapter, court: string, store: Store, tree: CourtTree): number | undefined {
  if (!adapter.stores.includes(store)) return undefined
  if (adapter.court === court) return 0
  if (!adapter.covers.includes(court)) return undefined
  let distance = 0
  for (let code: string | undefined = court; code !== undefined; code = tree.court(code)?.parent) {
    if (code === adapter.court) return distance
    distance++
  }
  return undefined
}

/** The active adapter that serves `court`'s `store`, most specific first; undefined when none does. */
export function servingAdapter(adapters: Adapter[], court: string, store: Store, tree: CourtTree): Adapter | undefined {
  let best: { adapter: Adapter; distance: number } | undefined
  for (const adapter of adapters) {
    if (adapter.status !== 'active') continue
    const distance = specificity(adapter, court, store, tree)
    if (distance !== undefined && (best === undefined || distance < best.distance)) best = { adapter, distance }
  }
  return best?.adapter
}

/** Every (court, store) pair an adapter claims. */
export function claims(adapter: Adapter): Array<{ court: string; store: Store }> {
  return [adapter.court, ...adapter.covers].flatMap((court) => adapter.stores.map((store) => ({ court, store })))
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
    for (const other of adapters) {
      if (other.id === candidate.id || other.status !== 'active') continue
      if (specificity(other, court, store, tree) === mine) found.push({ adapter: other, court, store })
    }
  }
  return found
}
