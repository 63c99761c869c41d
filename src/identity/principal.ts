import type { Org } from '../directory/types.js'

export const ROLES = ['prosecutor', 'approver', 'auditor', 'court-admin', 'operator'] as const
export type Role = (typeof ROLES)[number]

/** The authenticated caller, built only from a verified token whose `org` is in the directory. */
export interface Principal {
  sub: string
  name?: string
  issuer: string
  roles: Role[]
  org: Org
}

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.includes(role)
}
