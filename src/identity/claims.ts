import type { IssuerConfig } from '../config/types.js'
import type { Role } from './principal.js'

/** A claim by dotted path (`realm_access.roles`, as Keycloak nests realm roles); only own, plain-object steps. */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  let value: unknown = claims
  for (const step of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, step)) {
      return undefined
    }
    value = (value as Record<string, unknown>)[step]
  }
  return value
}

/**
 * The role names a token's role claim holds: a list, or one string of space-separated names (as OAuth `scope`
 * is written). With a `roleMap`, IdP role names are translated and names it does not list are dropped (IdPs
 * put the roles of every application in a token); without one, the names are passed on for the caller to
 * check as gateway roles. `undefined` when the claim is neither a non-empty list nor a string.
 */
export function roleNames(value: unknown, roleMap: Readonly<Record<string, Role>> | undefined): unknown[] | undefined {
  const names = typeof value === 'string' ? value.split(/\s+/).filter((name) => name !== '') : value
  if (!Array.isArray(names) || names.length === 0) return undefined
  if (roleMap === undefined) return names
  return names.flatMap((name) => (typeof name === 'string' && Object.hasOwn(roleMap, name) ? [roleMap[name]] : []))
}

/**
 * The organisation code and the roles of a verified token, read where the issuer's `claims` mapping says
 * (defaults `org` and `roles`, the gateway's own token shape). Nothing is validated here but the shape.
 */
export function mappedClaims(
  claims: Readonly<Record<string, unknown>>,
  mapping: IssuerConfig['claims'],
): { orgCode: unknown; roles: unknown[] | undefined } {
  return {
    orgCode: claimAt(claims, mapping?.org ?? 'org'),
    roles: roleNames(claimAt(claims, mapping?.roles ?? 'roles'), mapping?.roleMap),
  }
}
