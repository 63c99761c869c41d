import type { Services } from '../services.js'
import { servingAdapter } from './routing.js'
import type { Adapter, Store } from './types.js'

/** The active adapter serving a court's store now, or undefined. */
export async function resolveAdapter(
  services: Pick<Services, 'adapters' | 'directory'>,
  court: string,
  store: Store,
): Promise<Adapter | undefined> {
  return servingAdapter(await services.adapters.list(), court, store, services.directory)
}
