import type { Adapter } from './types.js'

/** Adapter registrations. Every call is atomic and durable on return; not-found is `undefined`. */
export interface AdapterStore {
  insert(adapter: Adapter): void
  get(id: string): Adapter | undefined
  update(adapter: Adapter): void
  list(): Adapter[]
}
