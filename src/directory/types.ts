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
  /** Railway-transport, maritime, forestry-region and land-reclamation courts: reached through `pairedCourts`. */
  special?: boolean
  /**
   * Whether `code` was checked against published case numbers; the file always says, and says where an unchecked
   * code comes from in `codeSource`. Optional here only so that code building entries in memory need not.
   */
  codeConfirmed?: boolean
  codeSource?: string
  /** Court abbreviations of pre-2016 case numbers (哈 in （2014）哈民一终字第123号), each unique in the directory. */
  abbreviations?: string[]
  note?: string
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
  /** As for courts: whether `code` is a GB/T 2260 code checked as such, and if not, where it comes from. */
  codeConfirmed?: boolean
  codeSource?: string
  note?: string
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
