export type VolumeKind = 'main' | 'sub'
export type GrantStatus = 'pending' | 'active' | 'rejected' | 'revoked' | 'expired'

/**
 * A grant lets its creator (and named members of the same procuratorate) read one case of one court for one
 * supervision case. `status` as stored never says `expired`: expiry is derived from `expiresAt` and `now`
 * (see effectiveStatus), so a grant expires on time without a job having to run.
 */
export interface Grant {
  id: string
  status: Exclude<GrantStatus, 'expired'>
  court: string
  caseNo: string
  supervisionCase: string
  volumes: VolumeKind[]
  reason: string
  /** The procuratorate code of the creator; members are always of this organisation. */
  org: string
  createdBy: string
  members: string[]
  createdAt: string
  expiresAt: string
  approvedBy?: string
  approvedAt?: string
  rejectedBy?: string
  rejectedAt?: string
  decisionNote?: string
  revokedBy?: string
  revokedAt?: string
}

export function effectiveStatus(grant: Grant, now: Date): GrantStatus {
  if ((grant.status === 'active' || grant.status === 'pending') && now.getTime() >= Date.parse(grant.expiresAt)) {
    return 'expired'
  }
  return grant.status
}
