import { seedGrants } from '../helpers/seed.js'
import { readFileSync } from 'node:fs'
import t from 'tap'
import type { Config } from '../../src/config/types.js'
import type { Court, Organisation, Procuratorate } from '../../src/directory/types.js'
import { SqliteGrantStore } from '../../src/grants/sqlite-store.js'
import type { Grant } from '../../src/grants/types.js'
import type { ErrorCode } from '../../src/http/errors.js'
import type { Principal, Role } from '../../src/identity/principal.js'
import {
  ACTIONS,
  type Action,
  type CourtScope,
  type DirectoryView,
  decide,
  type GrantScope,
  inCourtScope,
  jurisdictionAllows,
  latestRenewalExpiry,
  MAX_GRANT_LIFETIME_DAYS,
  type PolicyContext,
  type Resource,
} from '../../src/policy/decide.js'
import { openSqlite } from '../../src/storage/sqlite.js'

// ---------------------------------------------------------------------------------------------------------------
// A small province: the high court, two intermediate courts, a basic court under 黑01, and a special (railway)
// intermediate court with a basic court under it that is not itself marked special. The railway court and
// its basic court share regions with Harbin and Nangang on purpose, so region matching alone would be wrong.

const COURTS: Court[] = [
  { code: '黑', name: '黑龙江省高级人民法院', level: 'high', region: '230000' },
  { code: '黑01', name: '哈尔滨市中级人民法院', level: 'intermediate', region: '230100', parent: '黑' },
  { code: '黑02', name: '齐齐哈尔市中级人民法院', level: 'intermediate', region: '230200', parent: '黑' },
  { code: '黑0103', name: '哈尔滨市南岗区人民法院', level: 'basic', region: '230103', parent: '黑01' },
  {
    code: '黑71',
    name: '哈尔滨铁路运输中级法院',
    level: 'intermediate',
    region: '230100',
    parent: '黑',
    special: true,
  },
  { code: '黑7101', name: '哈尔滨铁路运输法院', level: 'basic', region: '230103', parent: '黑71' },
]

const PROCURATORATES: Procuratorate[] = [
  { code: '230000', name: '黑龙江省人民检察院', level: 'provincial', region: '230000' },
  { code: '230100', name: '哈尔滨市人民检察院', level: 'city', region: '230100', parent: '230000' },
  { code: '230200', name: '齐齐哈尔市人民检察院', level: 'city', region: '230200', parent: '230000' },
  { code: '230103', name: '哈尔滨市南岗区人民检察院', level: 'district', region: '230103', parent: '230100' },
  {
    code: '239100',
    name: '哈尔滨铁路运输检察分院',
    level: 'city',
    region: '230100',
    parent: '230000',
    pairedCourts: ['黑71'],
  },
]

const ORGANISATIONS: Organisation[] = [
  { code: 'HLJ-OPS', name: '运维中心', kind: 'operator' },
  { code: 'HLJ-AUDIT', name: '审计机构', kind: 'audit' },
]

class TestDirectory implements DirectoryView {
  private readonly courts = new Map(COURTS.map((c) => [c.code, c]))
  private readonly procuratorates = new Map(PROCURATORATES.map((p) => [p.code, p]))

  court(code: string): Court | undefined {
    return this.courts.get(code)
  }

  procuratorate(code: string): Procuratorate | undefined {
    return this.procuratorates.get(code)
  }

  isWithin(courtCode: string, ancestorCode: string): boolean {
    let current = this.courts.get(courtCode)
    while (current !== undefined) {
      if (current.code === ancestorCode) return true
      current = current.parent === undefined ? undefined : this.courts.get(current.parent)
    }
    return false
  }
}

const directory = new TestDirectory()

type Mode = Config['policy']['jurisdiction']
const MODES: Mode[] = ['province', 'same-level']

function context(jurisdiction: Mode): PolicyContext {
  return {
    policy: { jurisdiction, caseTypes: ['民初', '民终', '民再', '执', '执恢'], grantDays: 90, maxGrantDays: 90 },
    directory,
  }
}

function who(sub: string, org: string, ...roles: Role[]): Principal {
  const court = directory.court(org)
  const procuratorate = directory.procuratorate(org)
  const other = ORGANISATIONS.find((o) => o.code === org)
  const base = { sub, issuer: 'https://idp.test', roles }
  if (court !== undefined) return { ...base, org: { kind: 'court', code: org, name: court.name, court } }
  if (procuratorate !== undefined) {
    return { ...base, org: { kind: 'procuratorate', code: org, name: procuratorate.name, procuratorate } }
  }
  if (other !== undefined) return { ...base, org: { kind: other.kind, code: org, name: other.name } }
  throw new Error(`test directory has no org ${org}`)
}

const DAY = 86_400_000
const CREATED = '2024-02-01T00:00:00.000Z'
const NOW = '2024-03-01T00:00:00.000Z'

/** An active main-only grant of Harbin procuratorate (creator p1, member p2) on 黑01, unless overridden. */
function grant(overrides: Partial<Grant> = {}): Grant {
  return {
    id: 'g-1',
    status: 'active',
    court: '黑01',
    caseNo: '（2023）黑01民初123号',
    supervisionCase: '哈检民监〔2024〕1号',
    volumes: ['main'],
    reason: 'supervision of a civil judgment',
    org: '230100',
    createdBy: 'p1',
    members: ['p2'],
    createdAt: CREATED,
    expiresAt: new Date(Date.parse(CREATED) + 90 * DAY).toISOString(),
    ...overrides,
  }
}

const SUB_PENDING = { volumes: ['main', 'sub'], status: 'pending' } as const satisfies Partial<Grant>
const SUB_APPROVED = {
  volumes: ['main', 'sub'],
  approvedBy: 'a1',
  approvedAt: '2024-02-02T00:00:00.000Z',
} as const satisfies Partial<Grant>

// People. Subs repeat across organisations on purpose: a sub is only unique within its organisation.
const creator = who('p1', '230100', 'prosecutor')
const member = who('p2', '230100', 'prosecutor')
const colleague = who('p3', '230100', 'prosecutor')
const approver = who('a1', '230100', 'approver')
const creatorApprover = who('p1', '230100', 'prosecutor', 'approver')
const memberApprover = who('p2', '230100', 'prosecutor', 'approver')
const otherApprover = who('a1', '230200', 'approver')
const otherOrgMember = who('p2', '230200', 'prosecutor')
const qiqihar = who('q1', '230200', 'prosecutor')
const provincial = who('s1', '230000', 'prosecutor')
const district = who('d1', '230103', 'prosecutor')
const railway = who('r1', '239100', 'prosecutor')
const procAuditor = who('u1', '230100', 'auditor')
const auditBody = who('u2', 'HLJ-AUDIT', 'auditor')
const courtAuditor = who('u3', '黑01', 'auditor')
const opsAuditor = who('u4', 'HLJ-OPS', 'auditor')
const operator = who('o1', 'HLJ-OPS', 'operator')
const operatorInProc = who('o2', '230100', 'operator')
const harbinAdmin = who('c1', '黑01', 'court-admin')
const highAdmin = who('c2', '黑', 'court-admin')
const courtProsecutor = who('c3', '黑01', 'prosecutor')
const procCourtAdmin = who('c4', '230100', 'court-admin')

const create = (court: string, extra: Resource = {}): Resource => ({
  court,
  caseCourtCode: court,
  caseTypeCode: '民初',
  ...extra,
})

/** Every action on one grant, with a resource that would pass on its own. */
const GRANT_ACTIONS: Array<[Action, Resource]> = [
  ['grant.view', {}],
  ['grant.approve', {}],
  ['grant.reject', {}],
  ['grant.revoke', {}],
  ['grant.renew', { days: 80 }],
  ['case.read', {}],
  ['volumes.read', {}],
  ['document.read', { volume: 'main' }],
]

interface Row {
  name: string
  principal: Principal
  action: Action
  resource?: Resource
  grant?: Grant
  now?: string
  /** Jurisdiction modes the row runs under; both unless said. */
  modes?: Mode[]
  expect: 'allow' | ErrorCode
  /** For listings: the filter the store is to apply. */
  scope?: GrantScope | CourtScope
  /** What the person is told must name the problem. */
  message?: RegExp
}

const ROWS: Row[] = [
  // grant.create: role, court, case number, case type, jurisdiction, days, volumes
  {
    name: 'prosecutor opens a grant',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01'),
    expect: 'allow',
  },
  {
    name: 'approver cannot open a grant',
    principal: approver,
    action: 'grant.create',
    resource: create('黑01'),
    expect: 'FORBIDDEN',
  },
  {
    name: 'prosecutor role at a court org cannot open a grant',
    principal: courtProsecutor,
    action: 'grant.create',
    resource: create('黑01'),
    expect: 'FORBIDDEN',
  },
  {
    name: 'unknown court',
    principal: creator,
    action: 'grant.create',
    resource: create('黑99'),
    expect: 'VALIDATION_FAILED',
    message: /黑99/,
  },
  {
    name: "case number's court differs from the grant's court",
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { caseCourtCode: '黑0103' }),
    expect: 'INVALID_CASE_NUMBER',
    message: /黑0103.*differs.*黑01/,
  },
  {
    name: 'case number without a case type',
    principal: creator,
    action: 'grant.create',
    resource: { court: '黑01', caseCourtCode: '黑01' },
    expect: 'INVALID_CASE_NUMBER',
  },
  {
    name: 'criminal case type is out of scope',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { caseTypeCode: '刑初' }),
    expect: 'CASE_TYPE_OUT_OF_SCOPE',
    message: /刑初/,
  },
  {
    name: 'enforcement case type is in scope',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { caseTypeCode: '执' }),
    expect: 'allow',
  },
  {
    name: 'another city reads Harbin under province',
    principal: qiqihar,
    action: 'grant.create',
    resource: create('黑01'),
    modes: ['province'],
    expect: 'allow',
  },
  {
    name: 'another city may not read Harbin under same-level',
    principal: qiqihar,
    action: 'grant.create',
    resource: create('黑01'),
    modes: ['same-level'],
    expect: 'OUT_OF_JURISDICTION',
    message: /230200.*黑01/,
  },
  {
    name: 'district procuratorate may not read the intermediate court under same-level',
    principal: district,
    action: 'grant.create',
    resource: create('黑01'),
    modes: ['same-level'],
    expect: 'OUT_OF_JURISDICTION',
  },
  {
    name: 'provincial reads a basic court',
    principal: provincial,
    action: 'grant.create',
    resource: create('黑0103'),
    expect: 'allow',
  },
  {
    name: 'provincial may not read a special court under same-level',
    principal: provincial,
    action: 'grant.create',
    resource: create('黑71'),
    modes: ['same-level'],
    expect: 'OUT_OF_JURISDICTION',
  },
  {
    name: 'railway branch reads the basic court under its paired special court',
    principal: railway,
    action: 'grant.create',
    resource: create('黑7101'),
    expect: 'allow',
  },
  {
    name: 'railway branch may not read the city court of its own region under same-level',
    principal: railway,
    action: 'grant.create',
    resource: create('黑01'),
    modes: ['same-level'],
    expect: 'OUT_OF_JURISDICTION',
  },
  {
    name: 'grant of the maximum default length',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { days: 90 }),
    expect: 'allow',
  },
  {
    name: 'grant longer than grantDays',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { days: 91 }),
    expect: 'VALIDATION_FAILED',
    message: /1 to 90/,
  },
  {
    name: 'grant of zero days',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { days: 0 }),
    expect: 'VALIDATION_FAILED',
  },
  {
    name: 'grant of a fractional number of days',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { days: 1.5 }),
    expect: 'VALIDATION_FAILED',
  },
  {
    name: 'grant asking for main and sub',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { requestedVolumes: ['main', 'sub'] }),
    expect: 'allow',
  },
  {
    name: 'grant asking for the sub-volume alone',
    principal: creator,
    action: 'grant.create',
    resource: create('黑01', { requestedVolumes: ['sub'] }),
    expect: 'VALIDATION_FAILED',
  },

  // grant.view
  { name: 'creator views the grant', principal: creator, action: 'grant.view', grant: grant(), expect: 'allow' },
  { name: 'member views the grant', principal: member, action: 'grant.view', grant: grant(), expect: 'allow' },
  {
    name: 'approver of the org views the grant',
    principal: approver,
    action: 'grant.view',
    grant: grant(),
    expect: 'allow',
  },
  {
    name: "colleague who is not a member does not know of the org's grant",
    principal: colleague,
    action: 'grant.view',
    grant: grant(),
    expect: 'NOT_FOUND',
  },
  {
    name: "another org's grant is not found",
    principal: qiqihar,
    action: 'grant.view',
    grant: grant(),
    expect: 'NOT_FOUND',
  },
  {
    name: 'member sub from another org does not see the grant',
    principal: otherOrgMember,
    action: 'grant.view',
    grant: grant(),
    expect: 'NOT_FOUND',
  },
  { name: 'missing grant is not found', principal: creator, action: 'grant.view', expect: 'NOT_FOUND' },
  {
    name: 'auditor role does not view grants',
    principal: procAuditor,
    action: 'grant.view',
    grant: grant(),
    expect: 'FORBIDDEN',
  },

  // grant.approve / grant.reject
  {
    name: 'approver approves a colleague’s pending grant',
    principal: approver,
    action: 'grant.approve',
    grant: grant(SUB_PENDING),
    expect: 'allow',
  },
  {
    name: 'approver rejects a colleague’s pending grant',
    principal: approver,
    action: 'grant.reject',
    grant: grant(SUB_PENDING),
    expect: 'allow',
  },
  {
    name: 'four eyes: approver may not approve own grant',
    principal: creatorApprover,
    action: 'grant.approve',
    grant: grant(SUB_PENDING),
    expect: 'FORBIDDEN',
    message: /Four-eyes/,
  },
  {
    name: 'four eyes: approver may not approve a grant naming them as member',
    principal: memberApprover,
    action: 'grant.approve',
    grant: grant(SUB_PENDING),
    expect: 'FORBIDDEN',
    message: /member/,
  },
  {
    name: 'approver of another org does not find the grant',
    principal: otherApprover,
    action: 'grant.approve',
    grant: grant(SUB_PENDING),
    expect: 'NOT_FOUND',
  },
  {
    name: 'prosecutor may not approve',
    principal: colleague,
    action: 'grant.approve',
    grant: grant(SUB_PENDING),
    expect: 'FORBIDDEN',
  },
  { name: 'approving a missing grant', principal: approver, action: 'grant.approve', expect: 'NOT_FOUND' },
  {
    name: 'approving an active grant',
    principal: approver,
    action: 'grant.approve',
    grant: grant(),
    expect: 'INVALID_TRANSITION',
  },
  {
    name: 'rejecting a rejected grant',
    principal: approver,
    action: 'grant.reject',
    grant: grant({ ...SUB_PENDING, status: 'rejected' }),
    expect: 'INVALID_TRANSITION',
  },
  {
    name: 'approving a pending grant that has expired',
    principal: approver,
    action: 'grant.approve',
    grant: grant({ ...SUB_PENDING, expiresAt: NOW }),
    expect: 'GRANT_EXPIRED',
  },

  // grant.revoke
  { name: 'creator revokes', principal: creator, action: 'grant.revoke', grant: grant(), expect: 'allow' },
  {
    name: 'approver revokes a pending grant',
    principal: approver,
    action: 'grant.revoke',
    grant: grant(SUB_PENDING),
    expect: 'allow',
  },
  { name: 'member may not revoke', principal: member, action: 'grant.revoke', grant: grant(), expect: 'FORBIDDEN' },
  {
    name: 'another org may not revoke',
    principal: qiqihar,
    action: 'grant.revoke',
    grant: grant(),
    expect: 'NOT_FOUND',
  },
  { name: 'operator may not revoke', principal: operator, action: 'grant.revoke', grant: grant(), expect: 'FORBIDDEN' },
  {
    name: 'revoking a revoked grant',
    principal: creator,
    action: 'grant.revoke',
    grant: grant({ status: 'revoked' }),
    expect: 'INVALID_TRANSITION',
  },
  {
    name: 'revoking an expired grant',
    principal: creator,
    action: 'grant.revoke',
    grant: grant({ expiresAt: NOW }),
    expect: 'INVALID_TRANSITION',
  },

  // grant.renew
  {
    name: 'creator renews',
    principal: creator,
    action: 'grant.renew',
    resource: { days: 80 },
    grant: grant(),
    expect: 'allow',
  },
  {
    name: 'member may not renew',
    principal: member,
    action: 'grant.renew',
    resource: { days: 30 },
    grant: grant(),
    expect: 'FORBIDDEN',
  },
  {
    name: 'approver may not renew',
    principal: approver,
    action: 'grant.renew',
    resource: { days: 30 },
    grant: grant(),
    expect: 'FORBIDDEN',
  },
  {
    name: "another org's grant cannot be renewed",
    principal: otherOrgMember,
    action: 'grant.renew',
    resource: { days: 30 },
    grant: grant({ createdBy: 'p2' }),
    expect: 'NOT_FOUND',
  },
  {
    name: 'renewing an expired grant',
    principal: creator,
    action: 'grant.renew',
    resource: { days: 30 },
    grant: grant({ expiresAt: NOW }),
    expect: 'GRANT_EXPIRED',
  },
  {
    name: 'renewing a pending grant',
    principal: creator,
    action: 'grant.renew',
    resource: { days: 30 },
    grant: grant(SUB_PENDING),
    expect: 'INVALID_TRANSITION',
  },
  {
    name: 'renewal without days',
    principal: creator,
    action: 'grant.renew',
    grant: grant(),
    expect: 'VALIDATION_FAILED',
  },
  {
    name: 'renewal longer than maxGrantDays',
    principal: creator,
    action: 'grant.renew',
    resource: { days: 91 },
    grant: grant(),
    expect: 'VALIDATION_FAILED',
  },
  {
    // 2024-01-01 + 180 days = 2024-06-29; 2024-06-01 + 28 days is exactly that.
    name: 'renewal up to exactly 180 days after creation',
    principal: creator,
    action: 'grant.renew',
    resource: { days: 28 },
    grant: grant({ createdAt: '2024-01-01T00:00:00.000Z', expiresAt: '2024-06-10T00:00:00.000Z' }),
    now: '2024-06-01T00:00:00.000Z',
    expect: 'allow',
  },
  {
    name: 'renewal beyond 180 days after creation',
    principal: creator,
    action: 'grant.renew',
    resource: { days: 29 },
    grant: grant({ createdAt: '2024-01-01T00:00:00.000Z', expiresAt: '2024-06-10T00:00:00.000Z' }),
    now: '2024-06-01T00:00:00.000Z',
    expect: 'VALIDATION_FAILED',
    message: /2024-06-29T00:00:00\.000Z/,
  },

  // reads
  { name: 'creator reads the case', principal: creator, action: 'case.read', grant: grant(), expect: 'allow' },
  { name: 'member lists volumes', principal: member, action: 'volumes.read', grant: grant(), expect: 'allow' },
  {
    name: 'member reads a main-volume document',
    principal: member,
    action: 'document.read',
    resource: { volume: 'main' },
    grant: grant(),
    expect: 'allow',
  },
  { name: 'read through a missing grant', principal: creator, action: 'case.read', expect: 'NOT_FOUND' },
  {
    name: 'member sub of another org reads nothing through the grant, nor learns it exists',
    principal: otherOrgMember,
    action: 'document.read',
    resource: { volume: 'main' },
    grant: grant(),
    expect: 'NOT_FOUND',
  },
  {
    name: 'colleague who is not a member reads nothing, nor learns the grant exists',
    principal: colleague,
    action: 'case.read',
    grant: grant(),
    expect: 'NOT_FOUND',
  },
  {
    name: 'an approver who also prosecutes sees the grant but reads only through their own',
    principal: who('a2', '230100', 'prosecutor', 'approver'),
    action: 'case.read',
    grant: grant(),
    expect: 'NO_GRANT',
  },
  {
    name: 'read naming another court than the grant',
    principal: creator,
    action: 'case.read',
    resource: { court: '黑02' },
    grant: grant(),
    expect: 'NO_GRANT',
  },
  { name: 'operator reads no case', principal: operator, action: 'case.read', grant: grant(), expect: 'FORBIDDEN' },
  {
    name: 'operator lists no volumes',
    principal: operator,
    action: 'volumes.read',
    grant: grant(),
    expect: 'FORBIDDEN',
  },
  {
    name: 'operator reads no document',
    principal: operator,
    action: 'document.read',
    resource: { volume: 'main' },
    grant: grant(),
    expect: 'FORBIDDEN',
  },
  {
    name: 'operator role inside a procuratorate reads no document',
    principal: operatorInProc,
    action: 'document.read',
    resource: { volume: 'main' },
    grant: grant({ createdBy: 'o2' }),
    expect: 'FORBIDDEN',
  },
  {
    name: 'approver alone reads nothing',
    principal: approver,
    action: 'case.read',
    grant: grant(),
    expect: 'FORBIDDEN',
  },
  {
    name: 'read one millisecond before expiry',
    principal: creator,
    action: 'case.read',
    grant: grant({ expiresAt: '2024-03-01T00:00:00.001Z' }),
    expect: 'allow',
  },
  {
    name: 'read exactly at expiresAt is expired',
    principal: creator,
    action: 'case.read',
    grant: grant({ expiresAt: NOW }),
    expect: 'GRANT_EXPIRED',
  },
  {
    name: 'grant with an unreadable expiry counts as expired',
    principal: creator,
    action: 'case.read',
    grant: grant({ expiresAt: 'soon' }),
    expect: 'GRANT_EXPIRED',
  },
  {
    name: 'pending grant reads nothing',
    principal: creator,
    action: 'document.read',
    resource: { volume: 'main' },
    grant: grant(SUB_PENDING),
    expect: 'GRANT_NOT_ACTIVE',
    message: /pending/,
  },
  {
    name: 'revoked grant reads nothing',
    principal: creator,
    action: 'case.read',
    grant: grant({ status: 'revoked' }),
    expect: 'GRANT_NOT_ACTIVE',
  },
  {
    name: 'rejected grant reads nothing',
    principal: creator,
    action: 'case.read',
    grant: grant({ ...SUB_PENDING, status: 'rejected' }),
    expect: 'GRANT_NOT_ACTIVE',
  },
  {
    name: 'sub-volume document through a main-only grant',
    principal: creator,
    action: 'document.read',
    resource: { volume: 'sub' },
    grant: grant(),
    expect: 'SUB_VOLUME_NOT_APPROVED',
  },
  {
    name: 'sub-volume document through an unapproved sub grant',
    principal: creator,
    action: 'document.read',
    resource: { volume: 'sub' },
    grant: grant({ volumes: ['main', 'sub'] }),
    expect: 'SUB_VOLUME_NOT_APPROVED',
  },
  {
    name: 'document of unknown volume counts as sub-volume',
    principal: creator,
    action: 'document.read',
    grant: grant(),
    expect: 'SUB_VOLUME_NOT_APPROVED',
  },
  {
    name: 'sub-volume document through an approved grant',
    principal: member,
    action: 'document.read',
    resource: { volume: 'sub' },
    grant: grant(SUB_APPROVED),
    expect: 'allow',
  },
  {
    name: 'sub-volume listing through a main-only grant',
    principal: creator,
    action: 'volumes.read',
    resource: { volume: 'sub' },
    grant: grant(),
    expect: 'SUB_VOLUME_NOT_APPROVED',
  },
  {
    name: 'sub-volume listing through an approved grant',
    principal: creator,
    action: 'volumes.read',
    resource: { volume: 'sub' },
    grant: grant(SUB_APPROVED),
    expect: 'allow',
  },
  {
    name: 'cross-city grant reads under province',
    principal: qiqihar,
    action: 'case.read',
    grant: grant({ org: '230200', createdBy: 'q1' }),
    modes: ['province'],
    expect: 'allow',
  },
  {
    name: 'cross-city grant reads nothing once the rule is same-level',
    principal: qiqihar,
    action: 'case.read',
    grant: grant({ org: '230200', createdBy: 'q1' }),
    modes: ['same-level'],
    expect: 'OUT_OF_JURISDICTION',
  },

  // adapters
  {
    name: 'court admin registers its own adapter covering a lower court',
    principal: harbinAdmin,
    action: 'adapter.register',
    resource: { adapterCourt: '黑01', covers: ['黑0103'] },
    expect: 'allow',
  },
  {
    name: 'court admin registers its own adapter serving its court alone',
    principal: harbinAdmin,
    action: 'adapter.register',
    resource: { adapterCourt: '黑01' },
    expect: 'allow',
  },
  {
    name: 'high court admin covers the whole province, special courts included',
    principal: highAdmin,
    action: 'adapter.register',
    resource: { adapterCourt: '黑', covers: ['黑01', '黑0103', '黑71', '黑7101'] },
    expect: 'allow',
  },
  {
    name: 'court admin of another court may not register',
    principal: harbinAdmin,
    action: 'adapter.register',
    resource: { adapterCourt: '黑02' },
    expect: 'FORBIDDEN',
    message: /黑02/,
  },
  {
    name: "court admin does not know of another court's adapter, so cannot update it",
    principal: harbinAdmin,
    action: 'adapter.update',
    resource: { adapter: { court: '黑' } },
    expect: 'NOT_FOUND',
  },
  {
    name: 'court admin updates its own adapter',
    principal: harbinAdmin,
    action: 'adapter.update',
    resource: { adapter: { court: '黑01' }, covers: ['黑0103'] },
    expect: 'allow',
  },
  {
    name: 'updating a missing adapter',
    principal: harbinAdmin,
    action: 'adapter.update',
    resource: { covers: [] },
    expect: 'NOT_FOUND',
  },
  {
    name: 'operator may not update an adapter, whether or not it exists',
    principal: operator,
    action: 'adapter.update',
    resource: { adapter: { court: '黑01' } },
    expect: 'FORBIDDEN',
  },
  {
    name: 'adapter without a court',
    principal: harbinAdmin,
    action: 'adapter.register',
    resource: {},
    expect: 'VALIDATION_FAILED',
  },
  {
    name: 'covers a sibling court',
    principal: harbinAdmin,
    action: 'adapter.update',
    resource: { adapter: { court: '黑01' }, covers: ['黑0103', '黑02'] },
    expect: 'OUT_OF_JURISDICTION',
    message: /黑02/,
  },
  {
    name: 'covers its superior court',
    principal: harbinAdmin,
    action: 'adapter.register',
    resource: { adapterCourt: '黑01', covers: ['黑'] },
    expect: 'OUT_OF_JURISDICTION',
  },
  {
    name: 'covers its own court',
    principal: harbinAdmin,
    action: 'adapter.register',
    resource: { adapterCourt: '黑01', covers: ['黑01'] },
    expect: 'OUT_OF_JURISDICTION',
  },
  {
    name: 'covers an unknown court',
    principal: harbinAdmin,
    action: 'adapter.register',
    resource: { adapterCourt: '黑01', covers: ['黑0199'] },
    expect: 'VALIDATION_FAILED',
  },
  {
    name: 'prosecutor may not register adapters',
    principal: creator,
    action: 'adapter.register',
    resource: { adapterCourt: '黑01' },
    expect: 'FORBIDDEN',
  },
  {
    name: 'court-admin role at a procuratorate may not register adapters',
    principal: procCourtAdmin,
    action: 'adapter.register',
    resource: { adapterCourt: '230100' },
    expect: 'FORBIDDEN',
  },
  {
    name: 'operator activates',
    principal: operator,
    action: 'adapter.activate',
    resource: { adapter: { court: '黑01' } },
    expect: 'allow',
  },
  {
    name: 'operator suspends',
    principal: operator,
    action: 'adapter.suspend',
    resource: { adapter: { court: '黑02' } },
    expect: 'allow',
  },
  {
    name: 'operator activates a missing adapter',
    principal: operator,
    action: 'adapter.activate',
    expect: 'NOT_FOUND',
  },
  {
    name: 'court admin may not activate, even its own adapter',
    principal: harbinAdmin,
    action: 'adapter.activate',
    resource: { adapter: { court: '黑01' } },
    expect: 'FORBIDDEN',
  },
  {
    name: 'operator role at a procuratorate may not suspend',
    principal: operatorInProc,
    action: 'adapter.suspend',
    resource: { adapter: { court: '黑01' } },
    expect: 'FORBIDDEN',
  },

  // audit.query
  {
    name: 'procuratorate auditor queries the log',
    principal: procAuditor,
    action: 'audit.query',
    expect: 'allow',
    scope: {},
  },
  {
    name: 'audit body queries any court',
    principal: auditBody,
    action: 'audit.query',
    resource: { auditCourt: '黑02' },
    expect: 'allow',
    scope: {},
  },
  {
    name: 'court auditor queries its own court',
    principal: courtAuditor,
    action: 'audit.query',
    resource: { auditCourt: '黑01' },
    expect: 'allow',
    scope: { court: '黑01' },
  },
  {
    name: 'court auditor queries without a court filter: the answer is narrowed to its court',
    principal: courtAuditor,
    action: 'audit.query',
    expect: 'allow',
    scope: { court: '黑01' },
  },
  {
    name: 'court auditor may not query another court',
    principal: courtAuditor,
    action: 'audit.query',
    resource: { auditCourt: '黑02' },
    expect: 'FORBIDDEN',
  },
  { name: 'prosecutor may not query the log', principal: creator, action: 'audit.query', expect: 'FORBIDDEN' },
  {
    name: 'auditor role at the operator may not query',
    principal: opsAuditor,
    action: 'audit.query',
    expect: 'FORBIDDEN',
  },
  { name: 'operator may not query the log', principal: operator, action: 'audit.query', expect: 'FORBIDDEN' },
  { name: 'unknown action is refused', principal: creator, action: 'grant.delete' as Action, expect: 'FORBIDDEN' },
  {
    name: 'a renewal that would end the grant sooner is no renewal',
    principal: creator,
    action: 'grant.renew',
    resource: { days: 1 },
    grant: grant(),
    expect: 'VALIDATION_FAILED',
    message: /not later than it ends already/,
  },

  // Listings, one row per role: what each may list, as the filter the store applies.
  {
    name: 'prosecutor lists their own grants',
    principal: creator,
    action: 'grant.list',
    expect: 'allow',
    scope: { org: '230100', person: 'p1' },
  },
  {
    name: "approver lists the org's grants",
    principal: approver,
    action: 'grant.list',
    expect: 'allow',
    scope: { org: '230100' },
  },
  {
    name: "prosecutor who also approves lists the org's grants",
    principal: creatorApprover,
    action: 'grant.list',
    expect: 'allow',
    scope: { org: '230100' },
  },
  { name: 'court admin lists no grants', principal: harbinAdmin, action: 'grant.list', expect: 'FORBIDDEN' },
  { name: 'operator lists no grants', principal: operator, action: 'grant.list', expect: 'FORBIDDEN' },
  { name: 'procuratorate auditor lists no grants', principal: procAuditor, action: 'grant.list', expect: 'FORBIDDEN' },
  { name: 'court auditor lists no grants', principal: courtAuditor, action: 'grant.list', expect: 'FORBIDDEN' },
  { name: 'operator lists every adapter', principal: operator, action: 'adapter.list', expect: 'allow', scope: {} },
  {
    name: "court admin lists its own court's adapters",
    principal: harbinAdmin,
    action: 'adapter.list',
    expect: 'allow',
    scope: { court: '黑01' },
  },
  { name: 'prosecutor lists no adapters', principal: creator, action: 'adapter.list', expect: 'FORBIDDEN' },
  { name: 'approver lists no adapters', principal: approver, action: 'adapter.list', expect: 'FORBIDDEN' },
  { name: 'audit body lists no adapters', principal: auditBody, action: 'adapter.list', expect: 'FORBIDDEN' },
  { name: 'court auditor lists no adapters', principal: courtAuditor, action: 'adapter.list', expect: 'FORBIDDEN' },
  { name: 'approver may not query the log', principal: approver, action: 'audit.query', expect: 'FORBIDDEN' },
  { name: 'court admin may not query the log', principal: harbinAdmin, action: 'audit.query', expect: 'FORBIDDEN' },

  // Visibility of single objects: the same answer for one the caller may not know of as for a missing one.
  {
    name: 'operator views any adapter',
    principal: operator,
    action: 'adapter.view',
    resource: { adapter: { court: '黑02' } },
    expect: 'allow',
  },
  { name: 'operator views a missing adapter', principal: operator, action: 'adapter.view', expect: 'NOT_FOUND' },
  {
    name: "court admin views its own court's adapter",
    principal: harbinAdmin,
    action: 'adapter.view',
    resource: { adapter: { court: '黑01' } },
    expect: 'allow',
  },
  {
    name: "court admin does not know of another court's adapter",
    principal: harbinAdmin,
    action: 'adapter.view',
    resource: { adapter: { court: '黑0103' } },
    expect: 'NOT_FOUND',
  },
  { name: 'court admin views a missing adapter', principal: harbinAdmin, action: 'adapter.view', expect: 'NOT_FOUND' },
  {
    name: 'audit body views an entry about any court',
    principal: auditBody,
    action: 'audit.entry',
    resource: { entry: { court: '黑02' } },
    expect: 'allow',
    scope: {},
  },
  {
    name: 'procuratorate auditor views an entry about no court',
    principal: procAuditor,
    action: 'audit.entry',
    resource: { entry: {} },
    expect: 'allow',
    scope: {},
  },
  { name: 'auditor views a missing entry', principal: procAuditor, action: 'audit.entry', expect: 'NOT_FOUND' },
  {
    name: 'court auditor views an entry about its court',
    principal: courtAuditor,
    action: 'audit.entry',
    resource: { entry: { court: '黑01' } },
    expect: 'allow',
    scope: { court: '黑01' },
  },
  {
    name: "court auditor does not know of another court's entry",
    principal: courtAuditor,
    action: 'audit.entry',
    resource: { entry: { court: '黑0103' } },
    expect: 'NOT_FOUND',
  },
  {
    name: 'court auditor does not know of an entry about no court',
    principal: courtAuditor,
    action: 'audit.entry',
    resource: { entry: {} },
    expect: 'NOT_FOUND',
  },
  { name: 'court auditor views a missing entry', principal: courtAuditor, action: 'audit.entry', expect: 'NOT_FOUND' },

  // Export: the whole log, so only auditors who see all of it.
  { name: 'procuratorate auditor exports', principal: procAuditor, action: 'audit.export', expect: 'allow', scope: {} },
  { name: 'audit body exports', principal: auditBody, action: 'audit.export', expect: 'allow', scope: {} },
  {
    name: 'court auditor may not export',
    principal: courtAuditor,
    action: 'audit.export',
    expect: 'FORBIDDEN',
    message: /court auditor may not export/,
  },
  ...[creator, approver, harbinAdmin, operator, opsAuditor].map(
    (principal): Row => ({
      name: `${principal.roles.join('+')} of ${principal.org.code} may not export`,
      principal,
      action: 'audit.export',
      expect: 'FORBIDDEN',
    }),
  ),
  ...[creator, approver, harbinAdmin, operator, opsAuditor].flatMap((principal) =>
    [{ entry: { court: '黑01' } }, {}].map(
      (resource): Row => ({
        name: `${principal.roles.join('+')} of ${principal.org.code} views no entry, existing or not`,
        principal,
        action: 'audit.entry',
        resource,
        expect: 'FORBIDDEN',
      }),
    ),
  ),

  // Roles that never hold grants are refused by role, whether or not the grant exists: their answer says
  // nothing about the id.
  ...[harbinAdmin, operator, procAuditor, auditBody, courtAuditor].flatMap((principal) =>
    GRANT_ACTIONS.flatMap(([action, resource]) =>
      [grant(), undefined].map(
        (g): Row => ({
          name: `${principal.roles.join('+')} of ${principal.org.code}: ${action} on ${g ? 'an existing' : 'a missing'} grant`,
          principal,
          action,
          resource,
          ...(g ? { grant: g } : {}),
          expect: 'FORBIDDEN',
        }),
      ),
    ),
  ),
  // And roles that never see adapters, whether or not the adapter exists.
  ...[creator, approver, procAuditor, courtAuditor].flatMap((principal) =>
    [{ adapter: { court: '黑01' } }, {}].map(
      (resource): Row => ({
        name: `${principal.roles.join('+')} of ${principal.org.code} views no adapter, existing or not`,
        principal,
        action: 'adapter.view',
        resource,
        expect: 'FORBIDDEN',
      }),
    ),
  ),
]

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

for (const mode of MODES) {
  t.test(`decide, jurisdiction ${mode}`, async (t) => {
    for (const row of ROWS) {
      if (row.modes !== undefined && !row.modes.includes(mode)) continue
      // Frozen inputs: a pure decision never mutates what it was given.
      const resource = deepFreeze(structuredClone(row.resource ?? {}))
      const g = row.grant === undefined ? undefined : deepFreeze(structuredClone(row.grant))
      const decision = decide(row.principal, row.action, resource, g, new Date(row.now ?? NOW), context(mode))
      if (row.expect === 'allow') {
        t.same(decision, row.scope === undefined ? { allow: true } : { allow: true, scope: row.scope }, row.name)
        continue
      }
      t.equal(decision.allow, false, `${row.name}: denied`)
      if (decision.allow) continue
      t.equal(decision.reason, row.expect, `${row.name}: ${decision.message}`)
      t.ok(decision.message.length > 0, `${row.name}: has a message`)
      if (row.message !== undefined) t.match(decision.message, row.message, `${row.name}: message`)
    }
  })
}

t.test('every reason code the module returns appears in the table', async (t) => {
  const source = readFileSync(new URL('../../src/policy/decide.ts', import.meta.url), 'utf8')
  const returned = new Set([...source.matchAll(/deny\(\s*'([A-Z_]+)'/g)].map((m) => m[1]))
  t.ok(returned.size > 5, 'found the deny calls')
  const tabled = new Set(ROWS.map((r) => r.expect))
  for (const code of returned) t.ok(tabled.has(code as ErrorCode), `${code} has a row`)
})

t.test('ACTIONS lists each action once and every action has a row', async (t) => {
  t.equal(ACTIONS.length, 19)
  t.equal(new Set(ACTIONS).size, ACTIONS.length)
  const tabled = new Set(ROWS.map((r) => r.action))
  for (const action of ACTIONS) t.ok(tabled.has(action), `${action} has a row`)
})

// The whole matrix, so a change to the same-level rule shows exactly which pairs it moves.
const SAME_LEVEL: Record<string, string[]> = {
  '230000': ['黑', '黑01', '黑02', '黑0103'],
  '230100': ['黑01', '黑0103'],
  '230200': ['黑02'],
  '230103': ['黑0103'],
  '239100': ['黑71', '黑7101'],
}

t.test('jurisdictionAllows matrix', async (t) => {
  for (const p of PROCURATORATES) {
    for (const c of COURTS) {
      t.equal(jurisdictionAllows(p, c, context('province')), true, `province: ${p.code} → ${c.code}`)
      const expected = SAME_LEVEL[p.code]?.includes(c.code) ?? false
      t.equal(jurisdictionAllows(p, c, context('same-level')), expected, `same-level: ${p.code} → ${c.code}`)
    }
  }
})

t.test('jurisdictionAllows trusts only the directory', async (t) => {
  const stranger: Court = { code: '吉01', name: '长春市中级人民法院', level: 'intermediate', region: '220100' }
  const harbin = PROCURATORATES[1]!
  for (const mode of MODES)
    t.equal(jurisdictionAllows(harbin, stranger, context(mode)), false, `${mode}: court outside`)
  // A forged object claiming a pairing the directory does not give decides nothing.
  const forged: Procuratorate = { ...harbin, pairedCourts: ['黑71'] }
  t.equal(jurisdictionAllows(forged, COURTS[4]!, context('same-level')), false, 'forged pairing')
  const unknown: Procuratorate = { ...harbin, code: '220100' }
  t.equal(jurisdictionAllows(unknown, COURTS[1]!, context('province')), false, 'procuratorate outside')
  const strict = {
    ...context('same-level'),
    policy: { ...context('same-level').policy, jurisdiction: 'national' as Mode },
  }
  t.equal(jurisdictionAllows(PROCURATORATES[2]!, COURTS[1]!, strict), false, 'unknown rule fails closed')
})

t.test('latestRenewalExpiry', async (t) => {
  const g = grant({ createdAt: '2024-01-01T00:00:00.000Z' })
  t.equal(latestRenewalExpiry(g).toISOString(), '2024-06-29T00:00:00.000Z')
  t.equal(MAX_GRANT_LIFETIME_DAYS, 180)
  const broken = grant({ createdAt: 'yesterday' })
  const decision = decide(creator, 'grant.renew', { days: 1 }, broken, new Date(NOW), context('province'))
  t.match(decision, { allow: false, reason: 'VALIDATION_FAILED' }, 'unreadable createdAt refuses a renewal')
})

// ---------------------------------------------------------------------------------------------------------------
// Visibility and listings over every person and object: an object's existence changes the answer only for
// those who may know of it, and a listing shows exactly the objects that a single-object question would.

const EVERYONE: Principal[] = [
  creator,
  member,
  colleague,
  approver,
  creatorApprover,
  memberApprover,
  otherApprover,
  otherOrgMember,
  qiqihar,
  provincial,
  district,
  railway,
  procAuditor,
  auditBody,
  courtAuditor,
  opsAuditor,
  operator,
  operatorInProc,
  harbinAdmin,
  highAdmin,
  courtProsecutor,
  procCourtAdmin,
]

const GRANTS: Grant[] = [
  grant({ id: 'g-active' }),
  grant({ id: 'g-pending', ...SUB_PENDING }),
  grant({ id: 'g-approved', ...SUB_APPROVED }),
  grant({ id: 'g-revoked', status: 'revoked' }),
  grant({ id: 'g-expired', expiresAt: NOW }),
  grant({ id: 'g-colleague', createdBy: 'p3', members: [] }),
  grant({ id: 'g-qiqihar', org: '230200', createdBy: 'q1', members: ['p1'] }),
]
const ADAPTERS = ['黑', '黑01', '黑0103', '黑02'].map((court) => ({ court }))
const ENTRIES = [{ court: '黑01' }, { court: '黑0103' }, {}]

const at = new Date(NOW)
const label = (p: Principal) => `${p.sub}@${p.org.code} (${p.roles.join('+')})`

t.test('an object the caller may not know of is answered exactly like a missing one', async (t) => {
  const leaks: string[] = []
  let compared = 0
  let known = 0
  for (const mode of MODES) {
    const c = context(mode)
    for (const p of EVERYONE) {
      for (const g of GRANTS) {
        const sees = decide(p, 'grant.view', {}, g, at, c).allow
        for (const [action, resource] of GRANT_ACTIONS) {
          const existing = decide(p, action, resource, g, at, c)
          const missing = decide(p, action, resource, undefined, at, c)
          if (sees) {
            if (JSON.stringify(existing) !== JSON.stringify(missing)) known++
            continue
          }
          compared++
          if (JSON.stringify(existing) !== JSON.stringify(missing)) leaks.push(`${mode} ${label(p)} ${action} ${g.id}`)
        }
      }
      for (const adapter of ADAPTERS) {
        if (decide(p, 'adapter.view', { adapter }, undefined, at, c).allow) continue
        for (const action of ['adapter.view', 'adapter.update', 'adapter.activate', 'adapter.suspend'] as const) {
          compared++
          const existing = decide(p, action, { adapter, covers: [] }, undefined, at, c)
          const missing = decide(p, action, { covers: [] }, undefined, at, c)
          if (JSON.stringify(existing) !== JSON.stringify(missing)) leaks.push(`${label(p)} ${action} ${adapter.court}`)
        }
      }
      for (const entry of ENTRIES) {
        if (decide(p, 'audit.entry', { entry }, undefined, at, c).allow) continue
        compared++
        const existing = decide(p, 'audit.entry', { entry }, undefined, at, c)
        const missing = decide(p, 'audit.entry', {}, undefined, at, c)
        if (JSON.stringify(existing) !== JSON.stringify(missing)) leaks.push(`${label(p)} entry ${entry.court}`)
      }
    }
  }
  t.same(leaks, [], 'no answer tells an unknown id from one the caller may not know of')
  t.ok(compared > 1000, `compared ${compared} answers`)
  // Not vacuous: for those who may know of a grant, its existence does change the answer.
  t.ok(known > 50, `${known} answers differ for callers who see the grant`)
})

t.test('a listing shows exactly what the single-object question allows', async (t) => {
  // The real grant store applies the filter, so what decide() means by a scope is what the store does.
  const db = openSqlite(':memory:')
  t.teardown(() => db.close())
  const store = new SqliteGrantStore(db)
  seedGrants(db, GRANTS)
  for (const p of EVERYONE) {
    const c = context('province')
    const grants = decide(p, 'grant.list', {}, undefined, at, c)
    const viewable = GRANTS.filter((g) => decide(p, 'grant.view', {}, g, at, c).allow).map((g) => g.id)
    if (!grants.allow) {
      t.same(viewable, [], `${label(p)} lists no grants and sees none`)
      t.equal(grants.reason, 'FORBIDDEN', `${label(p)}: refused by role`)
    } else {
      const listed = (await store.list(grants.scope, 1000)).map((g) => g.id)
      t.same(listed.sort(), viewable.sort(), `${label(p)}: grants listed = grants viewable`)
    }

    const adapters = decide(p, 'adapter.list', {}, undefined, at, c)
    const viewableAdapters = ADAPTERS.filter(
      (adapter) => decide(p, 'adapter.view', { adapter }, undefined, at, c).allow,
    )
    if (!adapters.allow) t.same(viewableAdapters, [], `${label(p)} lists no adapters and sees none`)
    else {
      const listed = ADAPTERS.filter((adapter) => inCourtScope(adapters.scope, adapter.court))
      t.same(listed, viewableAdapters, `${label(p)}: adapters listed = adapters viewable`)
    }

    const entries = decide(p, 'audit.query', {}, undefined, at, c)
    const viewableEntries = ENTRIES.filter((entry) => decide(p, 'audit.entry', { entry }, undefined, at, c).allow)
    if (!entries.allow) t.same(viewableEntries, [], `${label(p)} lists no entries and sees none`)
    else {
      const listed = ENTRIES.filter((entry) => inCourtScope(entries.scope, entry.court))
      t.same(listed, viewableEntries, `${label(p)}: entries listed = entries viewable`)
    }
  }
})
