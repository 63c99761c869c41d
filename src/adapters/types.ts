import type { ConformanceResult } from '../conformance/activation.js'

export type Store = 'trial' | 'execution'
export type AdapterStatus = 'pending' | 'active' | 'suspended'

/** A court's registered file-store adapter (docs/courts.md#registering). */
export interface Adapter {
  id: string
  court: string
  baseUrl: string
  /** Lower courts of `court`'s jurisdiction that this adapter also serves. */
  covers: string[]
  stores: Store[]
  description?: string
  caCertificate?: string
  probeCase?: string
  status: AdapterStatus
  createdBy: string
  createdAt: string
  updatedAt: string
  activatedAt?: string
  suspendedAt?: string
  /** The checks of the last successful activation. */
  conformance?: ConformanceResult
}
