/**
 * Every authorisation decision of the gateway, as one pure function (docs/architecture.md#roles, #grants, #security). No I/O and no clock:
 * the caller passes `now`, the grant it loaded and a view of the directory, so the whole rule set is testable
 * from a table and the access log can record exactly the reason code that was decided here.
 *
 * Order of checks for every action: role and organisation kind first (they leak nothing about the object),
 * then the object's existence and organisation, then the caller's relation to it, then its state.
 */
import type { Config } from '../config/types.js'
import type { Court, CourtLevel, Procuratorate, ProcuratorateLevel } from '../directory/types.js'
import { effectiveStatus, type Grant, type GrantStatus, type VolumeKind } from '../grants/types.js'
import type { ErrorCode } from '../http/errors.js'
import { hasRole, type Principal, type Role } from '../identity/principal.js'

export const ACTIONS = [
  'grant.create',
  'grant.view',
  'grant.approve',
  'grant.reject',
  'grant.revoke',
  'grant.renew',
  'case.read',
  'volumes.read',
  'document.read',
  'adapter.register',
  'adapter.update',
  'adapter.view',
  'adapter.activate',
  'adapter.suspend',
  'audit.query',
] as const
export type Action = (typeof ACTIONS)[number]

/** What an action is about. Only the fields an action needs are read; see each rule. */
export interface Resource {
  /** Court code the grant is (to be) for. */
  court?: string
  caseTypeCode?: string
  /** Court code parsed from the case number. */
  caseCourtCode?: string
  /** The volume of the document or volume listing, as the court's catalogue says. */
  volume?: VolumeKind
  adapterCourt?: string
  covers?: string[]
  requestedVolumes?: VolumeKind[]
  days?: number
  auditCourt?: string
}

/** The part of the directory policy needs; the Directory class satisfies it structurally. */
export interface DirectoryView {
  court(code: string): Court | undefined
  procuratorate(code: string): Procuratorate | undefined
  /** True when `courtCode` equals `ancestorCode` or reaches it through `parent` links. */
  isWithin(courtCode: string, ancestorCode: string): boolean
}

export interface PolicyContext {
  policy: Config['policy']
  directory: DirectoryView
}

export type Decision = { allow: true } | { allow: false; reason: ErrorCode; message: string }

/** National rule: a loan renews to at most six months in total, counted from creation. */
export const MAX_GRANT_LIFETIME_DAYS = 180

const DAY_MS = 86_400_000

const ALLOW: Decision = Object.freeze({ allow: true })

function deny(reason: ErrorCode, message: string): Decision {
  return { allow: false, reason, message }
}

/** The latest moment a renewal of this grant may reach; NaN when `createdAt` is not a date. */
export function latestRenewalExpiry(grant: Grant): Date {
  return new Date(Date.parse(grant.createdAt) + MAX_GRANT_LIFETIME_DAYS * DAY_MS)
}

export function decide(
  principal: Principal,
  action: Action,
  resource: Resource,
  grant: Grant | undefined,
  now: Date,
  context: PolicyContext,
): Decision {
  switch (action) {
    case 'grant.create':
      return decideCreate(principal, resource, context)
    case 'grant.view':
      return decideView(principal, grant)
    case 'grant.approve':
    case 'grant.reject':
      return decideApproval(principal, action, grant, now)
    case 'grant.revoke':
      return decideRevoke(principal, grant, now)
    case 'grant.renew':
      return decideRenew(principal, resource, grant, now, context)
    case 'case.read':
    case 'volumes.read':
    case 'document.read':
      return decideRead(principal, action, resource, grant, now, context)
    case 'adapter.register':
    case 'adapter.update':
      return decideAdapterChange(principal, resource, context)
    case 'adapter.view':
      return ALLOW
    case 'adapter.activate':
    case 'adapter.suspend':
      return principal.org.kind === 'operator' && hasRole(principal, 'operator')
        ? ALLOW
        : deny('FORBIDDEN', `Only an operator may ${action === 'adapter.activate' ? 'activate' : 'suspend'} adapters`)
    case 'audit.query':
      return decideAudit(principal, resource)
    default:
      // Actions arrive from route code as strings at run time; an unknown one must never fall through to allow.
      return deny('FORBIDDEN', `Unknown action ${String(action)}`)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Jurisdiction

const COUNTERPART: Record<ProcuratorateLevel, CourtLevel> = {
  provincial: 'high',
  city: 'intermediate',
  district: 'basic',
}

/** Self first, then ancestors. Bounded so that a `parent` cycle in a bad directory file cannot hang a request. */
function courtLine(court: Court, directory: DirectoryView): Court[] {
  const line: Court[] = [court]
  let current = court
  while (current.parent !== undefined && line.length < 16) {
    const parent = directory.court(current.parent)
    if (parent === undefined || line.includes(parent)) break
    line.push(parent)
    current = parent
  }
  return line
}

/**
 * A procuratorate paired with a special court is a special branch (railway, forestry, land reclamation). Its
 * `region` is often that of the city it sits in, so region matching would wrongly hand it the city's courts:
 * such a branch reads only through its pairings.
 */
function isSpecialBranch(procuratorate: Procuratorate, directory: DirectoryView): boolean {
  return (procuratorate.pairedCourts ?? []).some((code) => directory.court(code)?.special === true)
}

/**
 * Whether `procuratorate` may read files of `court` under `context.policy.jurisdiction` (docs/architecture.md#grants):
 * - `province`: any procuratorate of the directory reads any court of it (the 2020 Heilongjiang regulation).
 * - `same-level`: the counterpart court of the same level and region, and the courts below it; special courts
 *   and the courts below them only through `pairedCourts` (which also reach the courts below a paired court).
 * Both parties are looked up again in the directory, so a stale or forged object decides nothing.
 */
export function jurisdictionAllows(procuratorate: Procuratorate, court: Court, context: PolicyContext): boolean {
  const directory = context.directory
  const reader = directory.procuratorate(procuratorate.code)
  const target = directory.court(court.code)
  if (reader === undefined || target === undefined) return false
  if (context.policy.jurisdiction === 'province') return true
  // Anything but `province` gets the strict rule, so an unexpected setting fails closed.
  if ((reader.pairedCourts ?? []).some((paired) => directory.isWithin(target.code, paired))) return true
  if (isSpecialBranch(reader, directory)) return false
  const line = courtLine(target, directory)
  if (line.some((c) => c.special === true)) return false
  const level = COUNTERPART[reader.level]
  if (level === undefined) return false
  return line.some((c) => c.level === level && c.region === reader.region)
}

// ---------------------------------------------------------------------------------------------------------------
// Grants

function procuratorateOf(principal: Principal): Procuratorate | undefined {
  return principal.org.kind === 'procuratorate' ? principal.org.procuratorate : undefined
}

function actsFor(principal: Principal, role: Role): boolean {
  return principal.org.kind === 'procuratorate' && hasRole(principal, role)
}

function inGrantOrg(principal: Principal, grant: Grant): boolean {
  return principal.org.kind === 'procuratorate' && principal.org.code === grant.org
}

// `sub` alone is not an identity: subs are only unique within an organisation, so a token of another
// organisation never counts as creator or member, whatever its `sub` (docs/architecture.md#tokens).
function isCreator(principal: Principal, grant: Grant): boolean {
  return inGrantOrg(principal, grant) && principal.sub === grant.createdBy
}

function isMember(principal: Principal, grant: Grant): boolean {
  return inGrantOrg(principal, grant) && grant.members.includes(principal.sub)
}

/** effectiveStatus, except that an unreadable expiry counts as passed rather than as never. */
function statusAt(grant: Grant, now: Date): GrantStatus {
  const status = effectiveStatus(grant, now)
  if ((status === 'active' || status === 'pending') && Number.isNaN(Date.parse(grant.expiresAt))) return 'expired'
  return status
}

// Another organisation's grant is reported exactly like a missing one, so grant ids leak nothing across
// procuratorates (object-level checks, docs/architecture.md#security).
const GRANT_NOT_FOUND = (): Decision => deny('NOT_FOUND', 'No such grant')

function validDays(days: number, max: number): boolean {
  return Number.isInteger(days) && days >= 1 && days <= max
}

function decideCreate(principal: Principal, resource: Resource, context: PolicyContext): Decision {
  const procuratorate = procuratorateOf(principal)
  if (procuratorate === undefined || !hasRole(principal, 'prosecutor')) {
    return deny('FORBIDDEN', 'Only a prosecutor of a procuratorate may open a grant')
  }
  const { policy, directory } = context
  if (resource.court === undefined) return deny('VALIDATION_FAILED', 'The grant names no court')
  const court = directory.court(resource.court)
  if (court === undefined) return deny('VALIDATION_FAILED', `Court ${resource.court} is not in the directory`)
  if (resource.caseCourtCode === undefined || resource.caseTypeCode === undefined) {
    return deny('INVALID_CASE_NUMBER', 'The case number names no court or no case type')
  }
  if (resource.caseCourtCode !== court.code) {
    return deny(
      'INVALID_CASE_NUMBER',
      `The case number belongs to court ${resource.caseCourtCode}, which differs from the grant's court ${court.code}`,
    )
  }
  if (!policy.caseTypes.includes(resource.caseTypeCode)) {
    return deny(
      'CASE_TYPE_OUT_OF_SCOPE',
      `Case type ${resource.caseTypeCode} is not a civil trial or enforcement type open to supervision here`,
    )
  }
  if (!jurisdictionAllows(procuratorate, court, context)) {
    return deny(
      'OUT_OF_JURISDICTION',
      `Procuratorate ${procuratorate.code} may not read files of court ${court.code} (jurisdiction rule: ${policy.jurisdiction})`,
    )
  }
  const volumes = resource.requestedVolumes
  if (volumes !== undefined) {
    const ok =
      (volumes.length === 1 && volumes[0] === 'main') ||
      (volumes.length === 2 && volumes[0] === 'main' && volumes[1] === 'sub')
    if (!ok) return deny('VALIDATION_FAILED', 'volumes must be ["main"] or ["main", "sub"]')
  }
  if (resource.days !== undefined && !validDays(resource.days, policy.grantDays)) {
    return deny('VALIDATION_FAILED', `days must be a whole number from 1 to ${policy.grantDays}`)
  }
  return ALLOW
}

function decideView(principal: Principal, grant: Grant | undefined): Decision {
  if (!actsFor(principal, 'prosecutor') && !actsFor(principal, 'approver')) {
    return deny('FORBIDDEN', 'Only prosecutors and approvers of a procuratorate may view grants')
  }
  if (grant === undefined || !inGrantOrg(principal, grant)) return GRANT_NOT_FOUND()
  if (hasRole(principal, 'approver')) return ALLOW
  if (isCreator(principal, grant) || isMember(principal, grant)) return ALLOW
  return deny('FORBIDDEN', 'This grant was opened by a colleague and does not name you as a member')
}

function decideApproval(
  principal: Principal,
  action: 'grant.approve' | 'grant.reject',
  grant: Grant | undefined,
  now: Date,
): Decision {
  const verb = action === 'grant.approve' ? 'approve' : 'reject'
  if (!actsFor(principal, 'approver')) {
    return deny('FORBIDDEN', `Only an approver of a procuratorate may ${verb} grants`)
  }
  if (grant === undefined || !inGrantOrg(principal, grant)) return GRANT_NOT_FOUND()
  // Four eyes: "whoever approves is responsible, whoever uses is responsible" only means something when they
  // are two people, so neither the creator nor a member who will read through the grant may decide on it.
  if (isCreator(principal, grant)) {
    return deny('FORBIDDEN', `Four-eyes rule: you cannot ${verb} a grant you opened yourself`)
  }
  if (isMember(principal, grant)) {
    return deny('FORBIDDEN', `Four-eyes rule: you cannot ${verb} a grant that names you as a member`)
  }
  const status = statusAt(grant, now)
  if (status === 'expired') return deny('GRANT_EXPIRED', `The grant expired at ${grant.expiresAt} before a decision`)
  if (status !== 'pending') return deny('INVALID_TRANSITION', `Only a pending grant can be ${verb}ed; it is ${status}`)
  return ALLOW
}

function decideRevoke(principal: Principal, grant: Grant | undefined, now: Date): Decision {
  if (!actsFor(principal, 'prosecutor') && !actsFor(principal, 'approver')) {
    return deny('FORBIDDEN', 'Only prosecutors and approvers of a procuratorate may revoke grants')
  }
  if (grant === undefined || !inGrantOrg(principal, grant)) return GRANT_NOT_FOUND()
  const creator = hasRole(principal, 'prosecutor') && isCreator(principal, grant)
  if (!creator && !hasRole(principal, 'approver')) {
    return deny('FORBIDDEN', 'Only the creator of a grant or an approver may revoke it')
  }
  const status = statusAt(grant, now)
  if (status !== 'pending' && status !== 'active') {
    return deny('INVALID_TRANSITION', `Only a pending or active grant can be revoked; it is ${status}`)
  }
  return ALLOW
}

function decideRenew(
  principal: Principal,
  resource: Resource,
  grant: Grant | undefined,
  now: Date,
  context: PolicyContext,
): Decision {
  if (!actsFor(principal, 'prosecutor')) return deny('FORBIDDEN', 'Only a prosecutor may renew a grant')
  if (grant === undefined || !inGrantOrg(principal, grant)) return GRANT_NOT_FOUND()
  if (!isCreator(principal, grant)) return deny('FORBIDDEN', 'Only the creator of a grant may renew it')
  const status = statusAt(grant, now)
  if (status === 'expired') return deny('GRANT_EXPIRED', `The grant expired at ${grant.expiresAt}; open a new one`)
  if (status !== 'active') return deny('INVALID_TRANSITION', `Only an active grant can be renewed; it is ${status}`)
  const max = context.policy.maxGrantDays
  const days = resource.days
  if (days === undefined || !validDays(days, max)) {
    return deny('VALIDATION_FAILED', `days must be a whole number from 1 to ${max}`)
  }
  const latest = latestRenewalExpiry(grant)
  const requested = now.getTime() + days * DAY_MS
  // Written as "not within" so that an unreadable createdAt (NaN) refuses instead of allowing.
  if (!(requested <= latest.getTime())) {
    const limit = Number.isNaN(latest.getTime()) ? 'unknown' : latest.toISOString()
    return deny(
      'VALIDATION_FAILED',
      `A renewal of ${days} days would run past ${MAX_GRANT_LIFETIME_DAYS} days from the grant's creation; the latest allowed expiry is ${limit}`,
    )
  }
  return ALLOW
}

// ---------------------------------------------------------------------------------------------------------------
// Reads

function decideRead(
  principal: Principal,
  action: 'case.read' | 'volumes.read' | 'document.read',
  resource: Resource,
  grant: Grant | undefined,
  now: Date,
  context: PolicyContext,
): Decision {
  const procuratorate = procuratorateOf(principal)
  if (procuratorate === undefined || !hasRole(principal, 'prosecutor')) {
    return deny('FORBIDDEN', 'Only a prosecutor of a procuratorate may read case files')
  }
  // A missing grant, another organisation's grant and a grant that does not name the reader all look alike,
  // so a read never tells whether a grant id exists elsewhere.
  if (grant === undefined) return deny('NO_GRANT', 'No grant covers this read')
  if (!isCreator(principal, grant) && !isMember(principal, grant)) {
    return deny('NO_GRANT', 'No grant of yours covers this read')
  }
  if (resource.court !== undefined && resource.court !== grant.court) {
    return deny('NO_GRANT', `The grant covers court ${grant.court}, not ${resource.court}`)
  }
  const status = statusAt(grant, now)
  if (status === 'expired') return deny('GRANT_EXPIRED', `The grant expired at ${grant.expiresAt}`)
  if (status !== 'active') {
    const hint = status === 'pending' ? '; a pending grant reads nothing until approved' : ''
    return deny('GRANT_NOT_ACTIVE', `The grant is ${status}${hint}`)
  }
  // Re-checked on every read so that a change of the directory or of the jurisdiction rule takes effect at
  // once, not only for grants opened afterwards.
  const court = context.directory.court(grant.court)
  if (court === undefined || !jurisdictionAllows(procuratorate, court, context)) {
    return deny(
      'OUT_OF_JURISDICTION',
      `Court ${grant.court} is no longer within the jurisdiction of ${procuratorate.code}`,
    )
  }
  // A document of unknown volume is treated as sub-volume: the catalogue, not the client, must say it is main.
  const needsSub =
    action === 'document.read' ? resource.volume !== 'main' : action === 'volumes.read' && resource.volume === 'sub'
  if (needsSub && !(grant.volumes.includes('sub') && grant.approvedBy !== undefined)) {
    return deny('SUB_VOLUME_NOT_APPROVED', 'The grant does not cover the sub-volume with an approval')
  }
  return ALLOW
}

// ---------------------------------------------------------------------------------------------------------------
// Adapters

function decideAdapterChange(principal: Principal, resource: Resource, context: PolicyContext): Decision {
  if (principal.org.kind !== 'court' || !hasRole(principal, 'court-admin')) {
    return deny('FORBIDDEN', 'Only a court administrator may register or change an adapter')
  }
  const own = principal.org.code
  if (resource.adapterCourt === undefined) return deny('VALIDATION_FAILED', 'The adapter names no court')
  if (resource.adapterCourt !== own) {
    return deny(
      'FORBIDDEN',
      `A court administrator of ${own} may not manage the adapter of court ${resource.adapterCourt}`,
    )
  }
  const directory = context.directory
  for (const covered of resource.covers ?? []) {
    if (directory.court(covered) === undefined) {
      return deny('VALIDATION_FAILED', `covers names court ${covered}, which is not in the directory`)
    }
    // An adapter may serve the courts below its own (one file system for an area), never a sibling or a
    // superior court, and its own court is implied rather than "covered".
    if (covered === own || !directory.isWithin(covered, own)) {
      return deny('OUT_OF_JURISDICTION', `Court ${covered} is not a lower court within the jurisdiction of ${own}`)
    }
  }
  return ALLOW
}

// ---------------------------------------------------------------------------------------------------------------
// Access log

/**
 * Which access-log entries an auditor may see: all of them for procuratorate and audit organisations, only
 * those about its own court for a court's auditor, none (undefined) for anyone else. Query handlers apply it
 * as a filter when the query names no court.
 */
export function auditScope(principal: Principal): { all: true } | { court: string } | undefined {
  if (!hasRole(principal, 'auditor')) return undefined
  switch (principal.org.kind) {
    case 'procuratorate':
    case 'audit':
      return { all: true }
    case 'court':
      return { court: principal.org.code }
    default:
      return undefined
  }
}

function decideAudit(principal: Principal, resource: Resource): Decision {
  const scope = auditScope(principal)
  if (scope === undefined) {
    return deny('FORBIDDEN', 'Only an auditor of a procuratorate, a court or an audit body may query the access log')
  }
  if ('court' in scope && resource.auditCourt !== undefined && resource.auditCourt !== scope.court) {
    return deny(
      'FORBIDDEN',
      `An auditor of court ${scope.court} sees only entries about that court, not ${resource.auditCourt}`,
    )
  }
  return ALLOW
}
