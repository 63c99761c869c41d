/**
 * Every authorisation decision of the gateway, as one pure function (docs/architecture.md#roles, #grants, #security). No I/O and no clock:
 * the caller passes `now`, the grant it loaded and a view of the directory, so the whole rule set is testable
 * from a table and the access log can record exactly the reason code that was decided here. Route code asks
 * and acts on the answer; it never compares roles or organisations itself, so there is one rule set to read.
 *
 * Three kinds of question, one function:
 * - may this person do this to this object (allow, or a refusal with its reason code);
 * - may this person know the object exists (a refusal says `NOT_FOUND`, word for word the same as for an id
 *   that names nothing, so ids leak nothing);
 * - which objects a listing shows them (`grant.list`, `adapter.list`, `audit.query` answer with a `scope`
 *   that the store applies, the same rule that decides the single-object questions).
 *
 * Order of checks for every action, and why:
 * 1. Role and organisation kind. They say nothing about the object, so a refusal here (`FORBIDDEN`) is the
 *    same for an existing id and an unknown one: a court admin, an operator or an auditor learns nothing
 *    about grants by trying ids.
 * 2. Visibility: the object exists and the caller may know it does; otherwise `NOT_FOUND`.
 * 3. The caller's relation to the object (creator, member, four eyes, own court), then its state.
 *
 * The rules (docs/architecture.md#roles), each with why:
 * - grant.create: a prosecutor of a procuratorate, for a court within its jurisdiction and a civil or
 *   enforcement case type. Reading court files is the procuratorate's supervision power and nobody else's.
 * - grant.list, grant.view: prosecutors see the grants they created or are members of, approvers all grants
 *   of their procuratorate; anyone else's grant is NOT_FOUND. Approvers must see what they are to decide on;
 *   a prosecutor has no business knowing which cases a colleague is looking into.
 * - grant.approve, grant.reject: an approver of the grant's procuratorate, never its creator or a member
 *   ("whoever approves is responsible, whoever uses is responsible" needs two people), pending grants only.
 * - grant.revoke: the creator or an approver, pending or active grants: either may end a loan early.
 * - grant.renew: the creator only, active grants only, to at most 180 days from creation (the national
 *   six-month limit on a loan) and only later than the grant ends already (revoke is for ending early).
 * - case.read, volumes.read, document.read: the grant's creator or members, while it is active and the court
 *   is still within jurisdiction (re-checked on every read); the sub-volume only through an approved grant
 *   that covers it, and the volume comes from the court's catalogue, never from the client.
 * - adapter.register, adapter.update: a court-admin, for the adapter of its own court, covering only courts
 *   below it. A court answers for its own file system, and may run one for its area.
 * - adapter.list, adapter.view: operators all adapters, a court-admin its own court's; anyone else's is
 *   NOT_FOUND. A base URL says where a court's file system listens.
 * - adapter.activate, adapter.suspend: operators only: they run the conformance checks and the gateway.
 * - audit.query, audit.entry: auditors of a procuratorate or an audit body see every entry; a court's auditor
 *   only entries about its court (an entry about no court or another court is NOT_FOUND): a court checks who
 *   read its files, not other courts'. The operator's auditor sees nothing: who runs the gateway does not
 *   audit it.
 * - audit.export: auditors who see every entry; not a court's auditor, because an export is the log's leaves
 *   byte for byte and cannot leave other courts' entries out and still verify.
 *
 * Nobody else may do anything: an unknown action is refused, never allowed.
 */
import type { Config } from '../config/types.js'
import type { Court, CourtLevel, Procuratorate, ProcuratorateLevel } from '../directory/types.js'
import { effectiveStatus, type Grant, type GrantStatus, type VolumeKind } from '../grants/types.js'
import type { ErrorCode } from '../http/errors.js'
import { hasRole, type Principal, type Role } from '../identity/principal.js'

export const ACTIONS = [
  'grant.create',
  'grant.list',
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
  'adapter.list',
  'adapter.view',
  'adapter.activate',
  'adapter.suspend',
  'audit.query',
  'audit.entry',
  'audit.export',
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
  /** The court an adapter is to be registered for. */
  adapterCourt?: string
  /** The registered adapter an action names by id, as stored; absent when the id names none. */
  adapter?: { court: string }
  covers?: string[]
  requestedVolumes?: VolumeKind[]
  days?: number
  /** The court an audit query asks about, if it names one. */
  auditCourt?: string
  /** The log entry an `audit.entry` names by index (its `resource.court`); absent when the index names none. */
  entry?: { court?: string | undefined }
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

/** A refusal; `field` names the request field at fault when the refusal is about the input. */
export type Denial = { allow: false; reason: ErrorCode; message: string; field?: string }
export type Decision = { allow: true } | Denial
/** The answer to a listing: what the store may return, as a filter it applies. */
export type Scoped<S> = { allow: true; scope: S } | Denial

/** The grants a listing shows: those of `org`, and of those only the ones created by or naming `person` if set. */
export interface GrantScope {
  org: string
  person?: string
}

/** The adapters or log entries a listing shows: every one, or only those about `court` when set. */
export interface CourtScope {
  court?: string
}

/** Whether an object about `court` (none: undefined) lies in `scope`. */
export function inCourtScope(scope: CourtScope, court: string | undefined): boolean {
  return scope.court === undefined || scope.court === court
}

/** National rule: a loan renews to at most six months in total, counted from creation. */
export const MAX_GRANT_LIFETIME_DAYS = 180

const DAY_MS = 86_400_000

const ALLOW: Decision = Object.freeze({ allow: true })

function deny(reason: ErrorCode, message: string, field?: string): Denial {
  return field === undefined ? { allow: false, reason, message } : { allow: false, reason, message, field }
}

function scoped<S>(scope: S): Scoped<S> {
  return { allow: true, scope }
}

/** The latest moment a renewal of this grant may reach; NaN when `createdAt` is not a date. */
export function latestRenewalExpiry(grant: Grant): Date {
  return new Date(Date.parse(grant.createdAt) + MAX_GRANT_LIFETIME_DAYS * DAY_MS)
}

export function decide(
  principal: Principal,
  action: 'grant.list',
  resource: Resource,
  grant: Grant | undefined,
  now: Date,
  context: PolicyContext,
): Scoped<GrantScope>
export function decide(
  principal: Principal,
  action: 'adapter.list' | 'audit.query' | 'audit.entry' | 'audit.export',
  resource: Resource,
  grant: Grant | undefined,
  now: Date,
  context: PolicyContext,
): Scoped<CourtScope>
export function decide(
  principal: Principal,
  action: Action,
  resource: Resource,
  grant: Grant | undefined,
  now: Date,
  context: PolicyContext,
): Decision
export function decide(
  principal: Principal,
  action: Action,
  resource: Resource,
  grant: Grant | undefined,
  now: Date,
  context: PolicyContext,
): Decision | Scoped<GrantScope> | Scoped<CourtScope> {
  switch (action) {
    case 'grant.create':
      return decideCreate(principal, resource, context)
    case 'grant.list':
      return decideGrantList(principal)
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
      return decideAdapterChange(principal, action, resource, context)
    case 'adapter.list':
      return decideAdapterList(principal)
    case 'adapter.view':
      return decideAdapterView(principal, resource)
    case 'adapter.activate':
    case 'adapter.suspend':
      return decideAdapterStatus(principal, action, resource)
    case 'audit.query':
      return decideAudit(principal, resource)
    case 'audit.entry':
      return decideAuditEntry(principal, resource)
    case 'audit.export':
      return decideExport(principal)
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

/**
 * Whether the caller may know that `grant` exists: the approvers of its procuratorate (who decide on it), its
 * creator and its members. Exactly the grants `grant.list` shows them, so a single-grant answer never tells
 * more than the listing; to everyone else a grant is reported exactly like a missing one (object-level checks,
 * docs/architecture.md#security), within the procuratorate too, since a colleague's grant names a case they are not working on.
 */
function seesGrant(principal: Principal, grant: Grant): boolean {
  if (!inGrantOrg(principal, grant)) return false
  return actsFor(principal, 'approver') || isCreator(principal, grant) || isMember(principal, grant)
}

const GRANT_NOT_FOUND = (): Denial => deny('NOT_FOUND', 'No such grant')

/** Prosecutors and approvers of a procuratorate hold or see grants; nobody else does. */
function holdsGrants(principal: Principal): boolean {
  return actsFor(principal, 'prosecutor') || actsFor(principal, 'approver')
}

function validDays(days: number, max: number): boolean {
  return Number.isInteger(days) && days >= 1 && days <= max
}

function decideCreate(principal: Principal, resource: Resource, context: PolicyContext): Decision {
  const procuratorate = procuratorateOf(principal)
  if (procuratorate === undefined || !hasRole(principal, 'prosecutor')) {
    return deny('FORBIDDEN', 'Only a prosecutor of a procuratorate may open a grant')
  }
  const { policy, directory } = context
  if (resource.court === undefined) return deny('VALIDATION_FAILED', 'The grant names no court', 'court')
  const court = directory.court(resource.court)
  if (court === undefined) return deny('VALIDATION_FAILED', `Court ${resource.court} is not in the directory`, 'court')
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

function decideGrantList(principal: Principal): Scoped<GrantScope> {
  if (!holdsGrants(principal)) {
    return deny('FORBIDDEN', 'Only prosecutors and approvers of a procuratorate hold or see grants')
  }
  // The same rule as seesGrant, as a filter: the approver's organisation, or the prosecutor's own grants.
  const org = principal.org.code
  return scoped(actsFor(principal, 'approver') ? { org } : { org, person: principal.sub })
}

function decideView(principal: Principal, grant: Grant | undefined): Decision {
  if (!holdsGrants(principal)) {
    return deny('FORBIDDEN', 'Only prosecutors and approvers of a procuratorate may view grants')
  }
  if (grant === undefined || !seesGrant(principal, grant)) return GRANT_NOT_FOUND()
  return ALLOW
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
  if (grant === undefined || !seesGrant(principal, grant)) return GRANT_NOT_FOUND()
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
  if (!holdsGrants(principal)) {
    return deny('FORBIDDEN', 'Only prosecutors and approvers of a procuratorate may revoke grants')
  }
  if (grant === undefined || !seesGrant(principal, grant)) return GRANT_NOT_FOUND()
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
  if (grant === undefined || !seesGrant(principal, grant)) return GRANT_NOT_FOUND()
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
  // A renewal counts its days from now; one that would end the grant sooner is a mistake, not a renewal
  // (revoke ends a grant early), so it is refused rather than applied.
  if (!(requested > Date.parse(grant.expiresAt))) {
    return deny(
      'VALIDATION_FAILED',
      `A renewal of ${days} days from now would end the grant at ${new Date(requested).toISOString()}, not later than it ends already (${grant.expiresAt})`,
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
  // Reads name the grant in their path: one the reader may not know of answers like a missing one.
  if (grant === undefined || !seesGrant(principal, grant)) return GRANT_NOT_FOUND()
  // An approver who also prosecutes sees the organisation's grants, but reads only through their own.
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

/**
 * Which adapters the caller may know of: operators every one (they activate and watch them), a court-admin
 * those of their own court, nobody else any. A base URL says where a court's file system listens.
 */
function adapterScope(principal: Principal): CourtScope | undefined {
  if (principal.org.kind === 'operator' && hasRole(principal, 'operator')) return {}
  if (principal.org.kind === 'court' && hasRole(principal, 'court-admin')) return { court: principal.org.code }
  return undefined
}

const ADAPTER_NOT_FOUND = (): Denial => deny('NOT_FOUND', 'No such adapter')

function decideAdapterList(principal: Principal): Scoped<CourtScope> {
  const scope = adapterScope(principal)
  return scope === undefined ? deny('FORBIDDEN', 'Only operators and court administrators see adapters') : scoped(scope)
}

function decideAdapterView(principal: Principal, resource: Resource): Decision {
  const listed = decideAdapterList(principal)
  if (!listed.allow) return listed
  // Another court's adapter answers exactly like a missing one, so its existence is not disclosed.
  if (resource.adapter === undefined || !inCourtScope(listed.scope, resource.adapter.court)) {
    return ADAPTER_NOT_FOUND()
  }
  return ALLOW
}

function decideAdapterChange(
  principal: Principal,
  action: 'adapter.register' | 'adapter.update',
  resource: Resource,
  context: PolicyContext,
): Decision {
  if (principal.org.kind !== 'court' || !hasRole(principal, 'court-admin')) {
    return deny('FORBIDDEN', 'Only a court administrator may register or change an adapter')
  }
  const own = principal.org.code
  // An update names a registered adapter, which only its own court's administrators may know of; a
  // registration names a court, and every court of the directory is public (GET /v1/courts).
  if (action === 'adapter.update') {
    if (resource.adapter === undefined || resource.adapter.court !== own) return ADAPTER_NOT_FOUND()
  } else {
    const court = resource.adapterCourt
    if (court === undefined) return deny('VALIDATION_FAILED', 'The adapter names no court', 'court')
    // Before the court is compared: a court that does not exist is a mistake in the request, not a refusal.
    if (context.directory.court(court) === undefined) {
      return deny('VALIDATION_FAILED', `Court ${court} is not in the directory`, 'court')
    }
    if (court !== own) {
      return deny('FORBIDDEN', `A court administrator of ${own} may not manage the adapter of court ${court}`)
    }
  }
  const directory = context.directory
  for (const covered of resource.covers ?? []) {
    if (directory.court(covered) === undefined) {
      return deny('VALIDATION_FAILED', `covers names court ${covered}, which is not in the directory`, 'covers')
    }
    // An adapter may serve the courts below its own (one file system for an area), never a sibling or a
    // superior court, and its own court is implied rather than "covered".
    if (covered === own || !directory.isWithin(covered, own)) {
      return deny('OUT_OF_JURISDICTION', `Court ${covered} is not a lower court within the jurisdiction of ${own}`)
    }
  }
  return ALLOW
}

/** Activation puts a court's file system in service: the operator's job, after the conformance checks. */
function decideAdapterStatus(
  principal: Principal,
  action: 'adapter.activate' | 'adapter.suspend',
  resource: Resource,
): Decision {
  if (principal.org.kind !== 'operator' || !hasRole(principal, 'operator')) {
    return deny('FORBIDDEN', `Only an operator may ${action === 'adapter.activate' ? 'activate' : 'suspend'} adapters`)
  }
  if (resource.adapter === undefined) return ADAPTER_NOT_FOUND()
  return ALLOW
}

// ---------------------------------------------------------------------------------------------------------------
// Access log

/**
 * Which access-log entries an auditor may see: all of them for procuratorate and audit organisations (they
 * supervise every court), only those about its own court for a court's auditor (a court checks who read its
 * files, not other courts'), none (undefined) for anyone else: the operator runs the gateway and must not
 * be the one who checks it.
 */
function auditScope(principal: Principal): CourtScope | undefined {
  if (!hasRole(principal, 'auditor')) return undefined
  switch (principal.org.kind) {
    case 'procuratorate':
    case 'audit':
      return {}
    case 'court':
      return { court: principal.org.code }
    default:
      return undefined
  }
}

const NOT_AN_AUDITOR = (): Denial =>
  deny('FORBIDDEN', 'Only an auditor of a procuratorate, a court or an audit body may query the access log')

function decideAudit(principal: Principal, resource: Resource): Scoped<CourtScope> {
  const scope = auditScope(principal)
  if (scope === undefined) return NOT_AN_AUDITOR()
  if (resource.auditCourt !== undefined && !inCourtScope(scope, resource.auditCourt)) {
    return deny(
      'FORBIDDEN',
      `An auditor of court ${scope.court} sees only entries about that court, not ${resource.auditCourt}`,
    )
  }
  return scoped(scope)
}

function decideAuditEntry(principal: Principal, resource: Resource): Scoped<CourtScope> {
  const scope = auditScope(principal)
  if (scope === undefined) return NOT_AN_AUDITOR()
  // A court auditor learns nothing about other courts' entries, not even that they exist.
  if (resource.entry === undefined || !inCourtScope(scope, resource.entry.court)) {
    return deny('NOT_FOUND', 'No such entry visible to you')
  }
  return scoped(scope)
}

function decideExport(principal: Principal): Scoped<CourtScope> {
  const scope = auditScope(principal)
  if (scope === undefined) return NOT_AN_AUDITOR()
  // An export is the log's leaves byte for byte, so it cannot leave out other courts' entries and still verify.
  if (scope.court !== undefined) {
    return deny('FORBIDDEN', 'An export holds every court’s entries: a court auditor may not export')
  }
  return scoped(scope)
}
