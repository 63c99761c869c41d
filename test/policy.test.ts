import { readFileSync } from 'node:fs'
import t from 'tap'
import type { Config } from '../src/config/types.js'
import type { Court, Organisation, Procuratorate } from '../src/directory/types.js'
import type { Grant } from '../src/grants/types.js'
import type { ErrorCode } from '../src/http/errors.js'
import type { Principal, Role } from '../src/identity/principal.js'
import {
  ACTIONS,
  type Action,
  auditScope,
  type DirectoryView,
  decide,
  jurisdictionAllows,
  latestRenewalExpiry,
  MAX_GRANT_LIFETIME_DAYS,
  type PolicyContext,
  type Resource,
} from '../src/policy/decide.js'

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
    name: "colleague who is not a member may not view the org's grant",
    principal: colleague,
    action: 'grant.view',
    grant: grant(),
    expect: 'FORBIDDEN',
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
    resource: { days: 30 },
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
  { name: 'read without a grant', principal: creator, action: 'case.read', expect: 'NO_GRANT' },
  {
    name: 'member sub of another org reads nothing through the grant',
    principal: otherOrgMember,
    action: 'document.read',
    resource: { volume: 'main' },
    grant: grant(),
    expect: 'NO_GRANT',
  },
  {
    name: 'colleague who is not a member reads nothing',
    principal: colleague,
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
    name: 'court admin of another court may not update',
    principal: harbinAdmin,
    action: 'adapter.update',
    resource: { adapterCourt: '黑' },
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
    resource: { adapterCourt: '黑01', covers: ['黑0103', '黑02'] },
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
  { name: 'operator activates', principal: operator, action: 'adapter.activate', expect: 'allow' },
  { name: 'operator suspends', principal: operator, action: 'adapter.suspend', expect: 'allow' },
  { name: 'court admin may not activate', principal: harbinAdmin, action: 'adapter.activate', expect: 'FORBIDDEN' },
  {
    name: 'operator role at a procuratorate may not suspend',
    principal: operatorInProc,
    action: 'adapter.suspend',
    expect: 'FORBIDDEN',
  },
  { name: 'prosecutor views adapters', principal: creator, action: 'adapter.view', expect: 'allow' },
  { name: 'operator views adapters', principal: operator, action: 'adapter.view', expect: 'allow' },
  { name: 'court auditor views adapters', principal: courtAuditor, action: 'adapter.view', expect: 'allow' },

  // audit.query
  { name: 'procuratorate auditor queries the log', principal: procAuditor, action: 'audit.query', expect: 'allow' },
  {
    name: 'audit body queries any court',
    principal: auditBody,
    action: 'audit.query',
    resource: { auditCourt: '黑02' },
    expect: 'allow',
  },
  {
    name: 'court auditor queries its own court',
    principal: courtAuditor,
    action: 'audit.query',
    resource: { auditCourt: '黑01' },
    expect: 'allow',
  },
  {
    name: 'court auditor queries without a court filter (caller narrows by auditScope)',
    principal: courtAuditor,
    action: 'audit.query',
    expect: 'allow',
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
        t.same(decision, { allow: true }, row.name)
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
  const source = readFileSync(new URL('../src/policy/decide.ts', import.meta.url), 'utf8')
  const returned = new Set([...source.matchAll(/deny\(\s*'([A-Z_]+)'/g)].map((m) => m[1]))
  t.ok(returned.size > 5, 'found the deny calls')
  const tabled = new Set(ROWS.map((r) => r.expect))
  for (const code of returned) t.ok(tabled.has(code as ErrorCode), `${code} has a row`)
})

t.test('ACTIONS lists each action once and every action has a row', async (t) => {
  t.equal(ACTIONS.length, 15)
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

t.test('auditScope', async (t) => {
  t.same(auditScope(procAuditor), { all: true })
  t.same(auditScope(auditBody), { all: true })
  t.same(auditScope(courtAuditor), { court: '黑01' })
  t.equal(auditScope(opsAuditor), undefined)
  t.equal(auditScope(creator), undefined)
})

t.test('latestRenewalExpiry', async (t) => {
  const g = grant({ createdAt: '2024-01-01T00:00:00.000Z' })
  t.equal(latestRenewalExpiry(g).toISOString(), '2024-06-29T00:00:00.000Z')
  t.equal(MAX_GRANT_LIFETIME_DAYS, 180)
  const broken = grant({ createdAt: 'yesterday' })
  const decision = decide(creator, 'grant.renew', { days: 1 }, broken, new Date(NOW), context('province'))
  t.match(decision, { allow: false, reason: 'VALIDATION_FAILED' }, 'unreadable createdAt refuses a renewal')
})
