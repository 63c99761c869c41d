/** The directory file (docs/operators.md#directory-file, a contract): courts, procuratorates and other organisations. */
export type CourtLevel = 'high' | 'intermediate' | 'basic'
export type ProcuratorateLevel = 'provincial' | 'city' | 'district'
export type OrgKind = 'court' | 'procuratorate' | 'operator' | 'audit'

export interface Court {
  code: string
  name: string
  level: CourtLevel
  region: string
  parent?: string
  /** Railway-transport, forestry-region and land-reclamation courts: reached through `pairedCourts`. */
  special?: boolean
}

export interface Procuratorate {
  code: string
  name: string
  level: ProcuratorateLevel
  region: string
  parent?: string
  pairedCourts?: string[]
  /**
   * Branches of the provincial procuratorate for the railway, forestry-region and land-reclamation courts.
   * They have no GB/T 2260 code, so the gateway assigns one of the form `23NN00` (NN = the two digits of the
   * special court they supervise): GB/T 2260 never uses NN ≥ 71 for a prefecture, so it cannot clash.
   */
  special?: boolean
}

export interface Organisation {
  code: string
  name: string
  kind: 'operator' | 'audit'
}

export interface DirectoryFile {
  courts: Court[]
  procuratorates: Procuratorate[]
  organisations: Organisation[]
}

/** Any organisation a token's `org` claim may name, with its kind. */
export type Org =
  | { kind: 'court'; code: string; name: string; court: Court }
  | { kind: 'procuratorate'; code: string; name: string; procuratorate: Procuratorate }
  | { kind: 'operator' | 'audit'; code: string; name: string }
