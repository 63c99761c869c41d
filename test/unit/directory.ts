import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { isCourtCode, parseCaseNumber, storeForTypeCode } from '../../src/directory/case-number.js'
import { DIRECTORY_SCHEMA, Directory, loadDirectory } from '../../src/directory/directory.js'
import type { Court, DirectoryFile } from '../../src/directory/types.js'
import type { Config } from '../../src/config/types.js'
import { jurisdictionAllows } from '../../src/policy/decide.js'
import { createGateway, serve } from '../../src/server.js'
import { testConfig } from '../helpers/harness.js'

const FILE = 'config/directory/heilongjiang.json'
const directory = loadDirectory(FILE)

const PREFECTURES: [string, string, string][] = [
  ['黑01', '230100', '哈尔滨市'],
  ['黑02', '230200', '齐齐哈尔市'],
  ['黑03', '230300', '鸡西市'],
  ['黑04', '230400', '鹤岗市'],
  ['黑05', '230500', '双鸭山市'],
  ['黑06', '230600', '大庆市'],
  ['黑07', '230700', '伊春市'],
  ['黑08', '230800', '佳木斯市'],
  ['黑09', '230900', '七台河市'],
  ['黑10', '231000', '牡丹江市'],
  ['黑11', '231100', '黑河市'],
  ['黑12', '231200', '绥化市'],
  ['黑27', '232700', '大兴安岭地区'],
]
const SPECIAL: [string, string][] = [
  ['黑71', '哈尔滨铁路运输中级法院'],
  ['黑75', '黑龙江省林区中级人民法院'],
  ['黑81', '黑龙江省农垦中级法院'],
]
const HARBIN_BASIC: [string, string][] = [
  ['0102', '道里区'],
  ['0103', '南岗区'],
  ['0104', '道外区'],
  ['0108', '平房区'],
  ['0109', '松北区'],
  ['0110', '香坊区'],
  ['0111', '呼兰区'],
  ['0112', '阿城区'],
  ['0113', '双城区'],
  ['0123', '依兰县'],
  ['0124', '方正县'],
  ['0125', '宾县'],
  ['0126', '巴彦县'],
  ['0127', '木兰县'],
  ['0128', '通河县'],
  ['0129', '延寿县'],
  ['0183', '尚志市'],
  ['0184', '五常市'],
]

t.test('the shipped file: courts', async (t) => {
  const high = directory.court('黑')
  t.match(high, { name: '黑龙江省高级人民法院', level: 'high', region: '230000' })
  t.equal(high?.parent, undefined)
  for (const court of directory.courts()) {
    t.ok(isCourtCode(court.code), `${court.code} is a court code`)
    if (court.parent !== undefined) t.ok(directory.court(court.parent), `${court.code}: parent ${court.parent} exists`)
    else t.equal(court.level, 'high', `${court.code}: only the high court has no parent`)
    t.ok(directory.isWithin(court.code, '黑'), `${court.code} is within the high court`)
  }
  for (const [code, region, area] of PREFECTURES) {
    t.match(
      directory.court(code),
      { name: `黑龙江省${area}中级人民法院`, level: 'intermediate', region, parent: '黑' },
      `${area} intermediate court`,
    )
    t.notOk(directory.court(code)?.special, `${code} is not special`)
  }
  for (const [code, name] of SPECIAL) {
    t.match(directory.court(code), { name, level: 'intermediate', parent: '黑', special: true }, name)
  }
  for (const [digits, area] of HARBIN_BASIC) {
    const court = directory.court(`黑${digits}`)
    t.match(court, { level: 'basic', region: `23${digits}`, parent: '黑01' }, area)
    t.ok(court?.name.startsWith('黑龙江省') && court.name.endsWith(`${area}人民法院`), `${area}: full name`)
  }
  t.match(directory.court('黑7101'), { name: '哈尔滨铁路运输法院', level: 'basic', parent: '黑71', special: true })
  t.match(directory.court('黑0202'), { parent: '黑02', region: '230202' })
  t.match(directory.court('黑0602'), { parent: '黑06', region: '230602' })
})

t.test('the shipped file: procuratorates and organisations', async (t) => {
  t.match(directory.procuratorate('230000'), { name: '黑龙江省人民检察院', level: 'provincial' })
  for (const p of directory.procuratorates()) {
    t.match(p.code, /^[0-9]{6}$/, `${p.code}: 6-digit code`)
    if (p.parent !== undefined) t.ok(directory.procuratorate(p.parent), `${p.code}: parent exists`)
    t.ok(p.pairedCourts?.length, `${p.code} is paired with a court`)
    for (const court of p.pairedCourts ?? []) t.ok(directory.court(court), `${p.code}: paired court ${court} exists`)
    t.ok(directory.isProcuratorateWithin(p.code, '230000'), `${p.code} is within the provincial procuratorate`)
  }
  for (const [court, region, area] of PREFECTURES) {
    t.match(
      directory.procuratorate(region),
      { name: `黑龙江省${area}人民检察院`, level: 'city', parent: '230000', pairedCourts: [court] },
      `${area} procuratorate`,
    )
  }
  for (const [court] of SPECIAL) {
    const branches = directory.pairedProcuratorates(court)
    t.equal(branches.length, 1, `${court} has one branch`)
    t.match(branches[0], { level: 'city', parent: '230000', special: true })
    t.notOk(/^23(0[1-9]|1[0-2]|27)/.test(branches[0]!.code), `${branches[0]!.code} cannot be a GB/T 2260 prefecture`)
  }
  for (const [digits, area] of HARBIN_BASIC) {
    t.match(
      directory.procuratorate(`23${digits}`),
      { level: 'district', parent: '230100', pairedCourts: [`黑${digits}`] },
      `${area} procuratorate`,
    )
  }
  t.same(directory.org('HLJ-OPS'), { kind: 'operator', code: 'HLJ-OPS', name: '黑龙江省法检信息共享平台运维中心' })
  t.match(directory.org('HLJ-AUDIT'), { kind: 'audit' })
  t.match(directory.org('黑0103'), { kind: 'court', code: '黑0103', court: { level: 'basic' } })
  t.match(directory.org('230103'), { kind: 'procuratorate', code: '230103', procuratorate: { level: 'district' } })
  t.equal(directory.org('nobody'), undefined)
  t.equal(directory.organisations().length, 2)
})

t.test('isWithin and lowerCourts', async (t) => {
  t.ok(directory.isWithin('黑0103', '黑0103'), 'a court is within itself')
  t.ok(directory.isWithin('黑0103', '黑01'))
  t.ok(directory.isWithin('黑0103', '黑'))
  t.ok(directory.isWithin('黑7101', '黑71'))
  t.notOk(directory.isWithin('黑01', '黑0103'), 'not upwards')
  t.notOk(directory.isWithin('黑0103', '黑02'), 'not sideways')
  t.notOk(directory.isWithin('黑7101', '黑01'), 'the railway court is not under Harbin intermediate')
  t.notOk(directory.isWithin('黑0103', '黑99'), 'unknown ancestor')
  t.notOk(directory.isWithin('黑99', '黑99'), 'unknown court is not within itself')

  const harbin = directory.lowerCourts('黑01').map((c) => c.code)
  t.same(harbin.sort(), HARBIN_BASIC.map(([d]) => `黑${d}`).sort())
  t.same(
    directory.lowerCourts('黑71').map((c) => c.code),
    ['黑7101', '黑7102', '黑7103', '黑7104'],
  )
  t.same(directory.lowerCourts('黑72'), [], 'the maritime court has no basic courts')
  t.same(directory.lowerCourts('黑0103'), [])
  t.same(directory.lowerCourts('黑99'), [])
  const all = directory.lowerCourts('黑')
  t.equal(all.length, directory.courts().length - 1, 'every court but the high court is below it')
  t.equal(new Set(all.map((c) => c.code)).size, all.length, 'no court twice')
  t.ok(all.findIndex((c) => c.code === '黑01') < all.findIndex((c) => c.code === '黑0103'), 'nearest first')

  t.ok(directory.isProcuratorateWithin('230103', '230100'))
  t.ok(directory.isProcuratorateWithin('230103', '230103'))
  t.notOk(directory.isProcuratorateWithin('230100', '230103'))
  t.notOk(directory.isProcuratorateWithin('230202', '230100'))
  t.notOk(directory.isProcuratorateWithin('230103', '999999'))
})

t.test('entries handed out cannot be changed', async (t) => {
  const court = directory.court('黑0103')!
  t.throws(() => {
    ;(court as { parent?: string }).parent = '黑'
  })
  t.equal(directory.court('黑0103')?.parent, '黑01')
  const harbin = directory.procuratorate('230100')!
  t.throws(() => harbin.pairedCourts?.push('黑'))
  directory.courts().pop()
  t.ok(directory.court('黑7101'), 'courts() returns a copy')
})

function minimal(): DirectoryFile {
  return {
    courts: [
      { code: '黑', name: '高院', level: 'high', region: '230000', codeConfirmed: true },
      {
        code: '黑01',
        name: '中院',
        level: 'intermediate',
        region: '230100',
        parent: '黑',
        codeConfirmed: true,
        abbreviations: ['哈'],
      },
      { code: '黑0103', name: '基层', level: 'basic', region: '230103', parent: '黑01', codeConfirmed: true },
    ],
    procuratorates: [
      {
        code: '230000',
        name: '省院',
        level: 'provincial',
        region: '230000',
        pairedCourts: ['黑'],
        codeConfirmed: true,
      },
      {
        code: '230100',
        name: '市院',
        level: 'city',
        region: '230100',
        parent: '230000',
        pairedCourts: ['黑01'],
        codeConfirmed: true,
      },
    ],
    organisations: [{ code: 'OPS', name: '运维', kind: 'operator' }],
  }
}

t.test('bad files are rejected with a message naming the entry or key', async (t) => {
  const dir = t.testdir({})
  const reject = (name: string, edit: (f: DirectoryFile & Record<string, unknown>) => void, message: RegExp) => {
    const file = minimal() as DirectoryFile & Record<string, unknown>
    edit(file)
    const path = join(dir, `${name.replaceAll(' ', '-')}.json`)
    writeFileSync(path, JSON.stringify(file))
    t.throws(() => loadDirectory(path), { message }, name)
    t.match(
      (() => {
        try {
          loadDirectory(path)
        } catch (error) {
          return (error as Error).message
        }
      })(),
      path,
      `${name}: names the file`,
    )
  }

  const ok = join(dir, 'ok.json')
  writeFileSync(ok, JSON.stringify(minimal()))
  t.equal(loadDirectory(ok).courts().length, 3, 'the minimal file loads')

  reject(
    'duplicate court code',
    (f) =>
      f.courts.push({
        code: '黑01',
        name: '又一中院',
        level: 'intermediate',
        region: '230100',
        parent: '黑',
        codeConfirmed: true,
      }),
    /courts\[3\]: duplicate code "黑01" \(also courts\[1\]\)/,
  )
  reject(
    'duplicate across lists',
    (f) => f.organisations.push({ code: '230100', name: 'x', kind: 'audit' }),
    /organisations\[1\]: duplicate code "230100" \(also procuratorates\[1\]\)/,
  )
  reject(
    'unknown parent',
    (f) => {
      f.courts[2]!.parent = '黑09'
    },
    /courts\[2\] "黑0103": parent "黑09" is not in courts/,
  )
  reject(
    'unknown procuratorate parent',
    (f) => {
      f.procuratorates[1]!.parent = '239900'
    },
    /procuratorates\[1\] "230100": parent "239900" is not in procuratorates/,
  )
  reject(
    'cycle',
    (f) => {
      f.courts[1]!.parent = '黑0103'
    },
    /courts\[1\] "黑01": parent cycle 黑01 → 黑0103 → 黑01/,
  )
  reject(
    'self parent',
    (f) => {
      f.procuratorates[0]!.parent = '230000'
    },
    /procuratorates\[0\] "230000": parent cycle 230000 → 230000/,
  )
  reject(
    'missing key',
    (f) => {
      delete (f.courts[1] as unknown as Record<string, unknown>).region
    },
    /courts\[1\] "黑01": missing key "region"/,
  )
  reject(
    'missing code',
    (f) => {
      delete (f.courts[0] as unknown as Record<string, unknown>).code
    },
    /courts\[0\]: missing key "code"/,
  )
  reject(
    'missing list',
    (f) => {
      delete (f as Record<string, unknown>).organisations
    },
    /missing key "organisations"/,
  )
  reject(
    'unknown key',
    (f) => {
      ;(f.courts[2] as unknown as Record<string, unknown>).parnet = '黑01'
    },
    /courts\[2\] "黑0103": unknown key "parnet"/,
  )
  reject(
    'unknown top-level key',
    (f) => {
      f.judges = []
    },
    /unknown key "judges"/,
  )
  reject(
    'bad level',
    (f) => {
      ;(f.courts[1] as unknown as Record<string, unknown>).level = 'middle'
    },
    /courts\[1\] "黑01": key "level" must be one of high, intermediate, basic/,
  )
  reject(
    'code does not match level',
    (f) => {
      f.courts[2]!.level = 'intermediate'
    },
    /courts\[2\] "黑0103": key "code" must be a province abbreviation followed by 2 digits/,
  )
  reject(
    'parent skips a level',
    (f) => {
      f.courts[2]!.parent = '黑'
    },
    /courts\[2\] "黑0103": a basic entry cannot have the high "黑" as parent/,
  )
  reject(
    'root that is not the top level',
    (f) => {
      delete f.procuratorates[1]!.parent
    },
    /procuratorates\[1\] "230100": a city entry needs a parent/,
  )
  reject(
    'unknown paired court',
    (f) => {
      f.procuratorates[1]!.pairedCourts = ['黑02']
    },
    /procuratorates\[1\] "230100": pairedCourts names "黑02", which is not a court/,
  )
  reject(
    'bad region',
    (f) => {
      f.courts[0]!.region = '23'
    },
    /courts\[0\] "黑": key "region" must match pattern "\^\[0-9\]\{6\}\$"/,
  )
  reject(
    'bad procuratorate code',
    (f) => {
      f.procuratorates[1]!.code = '黑01'
    },
    /procuratorates\[1\] "黑01": key "code" must match pattern/,
  )
  reject(
    'bad org kind',
    (f) => {
      ;(f.organisations[0] as unknown as Record<string, unknown>).kind = 'court'
    },
    /organisations\[0\] "OPS": key "kind" must be one of operator, audit/,
  )
  reject(
    'non-boolean special',
    (f) => {
      ;(f.courts[1] as unknown as Record<string, unknown>).special = 'yes'
    },
    /courts\[1\] "黑01": key "special" must be boolean/,
  )
  reject(
    'entry not an object',
    (f) => {
      ;(f.courts as unknown[]).push('黑02')
    },
    /courts\[3\] must be object/,
  )

  reject(
    'unconfirmed code without a source',
    (f) => {
      f.courts[2]!.codeConfirmed = false
    },
    /courts\[2\] "黑0103": missing key "codeSource"/,
  )
  reject(
    'no word on the code',
    (f) => {
      delete f.procuratorates[1]!.codeConfirmed
    },
    /procuratorates\[1\] "230100": missing key "codeConfirmed"/,
  )
  reject(
    'one abbreviation for two courts',
    (f) => {
      f.courts[2]!.abbreviations = ['南', '哈']
    },
    /courts\[2\] "黑0103": abbreviation "哈" is also court "黑01"'s/,
  )
  reject(
    'abbreviation that is not Chinese',
    (f) => {
      f.courts[2]!.abbreviations = ['NG']
    },
    /courts\[2\] "黑0103": key "abbreviations.0" must match pattern/,
  )
  reject(
    'court paired twice',
    (f) => {
      f.procuratorates[1]!.pairedCourts = ['黑01', '黑01']
    },
    /procuratorates\[1\] "230100": key "pairedCourts" must NOT have duplicate items/,
  )
  reject(
    'blank name',
    (f) => {
      f.courts[1]!.name = '  '
    },
    /courts\[1\] "黑01": key "name" must match pattern/,
  )

  const notJson = join(dir, 'not-json.json')
  writeFileSync(notJson, '{"courts": [')
  t.throws(() => loadDirectory(notJson), { message: /is not valid JSON/ })
  t.throws(() => loadDirectory(join(dir, 'missing.json')), { message: /cannot read directory file .*missing\.json/ })
  t.throws(() => new Directory([]), { message: /the directory must be object/ })
  t.throws(() => new Directory({ courts: {}, procuratorates: [], organisations: [] }), {
    message: /the directory: key "courts" must be array/,
  })
})

/** The prefecture-level divisions, their number of basic courts of general jurisdiction, and one of them each. */
const PROVINCE: [string, number, string, string][] = [
  ['黑01', 18, '黑0184', '黑龙江省五常市人民法院'],
  ['黑02', 16, '黑0281', '黑龙江省讷河市人民法院'],
  ['黑03', 9, '黑0382', '黑龙江省密山市人民法院'],
  ['黑04', 8, '黑0422', '黑龙江省绥滨县人民法院'],
  ['黑05', 8, '黑0523', '黑龙江省宝清县人民法院'],
  ['黑06', 10, '黑0624', '黑龙江省杜尔伯特蒙古族自治县人民法院'],
  ['黑07', 10, '黑0751', '黑龙江省伊春市金林区人民法院'],
  ['黑08', 10, '黑0882', '黑龙江省富锦市人民法院'],
  ['黑09', 4, '黑0921', '黑龙江省勃利县人民法院'],
  ['黑10', 10, '黑1081', '黑龙江省绥芬河市人民法院'],
  ['黑11', 6, '黑1182', '黑龙江省五大连池市人民法院'],
  ['黑12', 10, '黑1283', '黑龙江省海伦市人民法院'],
  ['黑27', 7, '黑2761', '黑龙江省大兴安岭地区加格达奇区人民法院'],
]
const SPECIAL_BASIC: [string, number, string, string][] = [
  ['黑71', 4, '黑7104', '佳木斯铁路运输法院'],
  ['黑75', 24, '黑7530', '黑龙江省诺敏河人民法院'],
  ['黑81', 8, '黑8103', '黑龙江省建三江农垦法院'],
]
const SAME_LEVEL: Config['policy'] = {
  jurisdiction: 'same-level',
  caseTypes: ['民初'],
  grantDays: 90,
  maxGrantDays: 180,
}

t.test('the shipped file covers the whole province', async (t) => {
  const basic = (parent: string, special: boolean) =>
    directory.lowerCourts(parent).filter((c) => c.level === 'basic' && (c.special === true) === special)
  t.equal(directory.courts().filter((c) => c.level === 'intermediate').length, PROVINCE.length + 4)
  for (const [intermediate, count, code, name] of PROVINCE) {
    t.equal(basic(intermediate, false).length, count, `${intermediate}: ${count} basic courts`)
    t.match(directory.court(code), { name, level: 'basic', parent: intermediate }, name)
  }
  for (const [intermediate, count, code, name] of SPECIAL_BASIC) {
    t.equal(basic(intermediate, true).length, count, `${intermediate}: ${count} special basic courts`)
    t.equal(basic(intermediate, false).length, 0, `${intermediate}: no ordinary court below it`)
    t.match(directory.court(code), { name, level: 'basic', parent: intermediate, special: true }, name)
  }
  t.match(directory.court('黑72'), { name: '哈尔滨海事法院', level: 'intermediate', special: true })

  for (const court of directory.courts()) {
    // The file itself says which codes are not confirmed, and where they come from.
    t.equal(typeof court.codeConfirmed, 'boolean', `${court.code}: says whether its code is confirmed`)
    if (court.codeConfirmed === false) t.ok(court.codeSource, `${court.code}: unconfirmed code has a source`)
    // Ordinary basic courts with confirmed codes follow the 2016 rule: 黑 + the region's last 4 digits.
    if (court.level === 'basic' && !court.special && court.codeConfirmed) {
      t.equal(court.code, `黑${court.region.slice(2)}`, `${court.code}: code from region ${court.region}`)
    }
  }
  for (const p of directory.procuratorates()) {
    t.equal(typeof p.codeConfirmed, 'boolean', `${p.code}: says whether its code is confirmed`)
    if (p.special) t.equal(p.codeConfirmed, false, `${p.code}: a gateway-assigned code is not a GB/T 2260 code`)
  }
})

t.test('every court of the province can be supervised under the same-level rule', async (t) => {
  const context = { policy: SAME_LEVEL, directory }
  const procuratorates = directory.procuratorates().filter((p) => p.level !== 'provincial')
  const reachable = (court: Court) => procuratorates.filter((p) => jurisdictionAllows(p, court, context))
  for (const court of directory.courts()) {
    if (court.code === '黑' || court.code === '黑72') continue
    t.ok(reachable(court).length > 0, `${court.code} ${court.name}`)
  }
  // The maritime court is reached only by the provincial procuratorate, as its note says.
  t.same(reachable(directory.court('黑72')!), [])
  t.ok(jurisdictionAllows(directory.procuratorate('230000')!, directory.court('黑72')!, context))
  t.match(directory.court('黑72')?.note, /provincial procuratorate/)
  // Each ordinary basic court pairs with the district procuratorate of its own region, below its city's.
  for (const court of directory.courts().filter((c) => c.level === 'basic' && !c.special && c.code !== '黑0691')) {
    const paired = directory.pairedProcuratorates(court.code)
    t.equal(paired.length, 1, `${court.code}: one paired procuratorate`)
    t.match(paired[0], { level: 'district', region: court.region, parent: `23${court.parent!.slice(1)}00` })
  }
  // A railway procuratorate reaches railway courts only; a district procuratorate never reaches them.
  t.ok(jurisdictionAllows(directory.procuratorate('237102')!, directory.court('黑7102')!, context))
  t.notOk(jurisdictionAllows(directory.procuratorate('237102')!, directory.court('黑7101')!, context))
  t.notOk(jurisdictionAllows(directory.procuratorate('230202')!, directory.court('黑7102')!, context))
})

t.test('the shipped abbreviations resolve pre-2016 numbers to the same court and store', async (t) => {
  const legacyCourts = directory.legacyCourts()
  t.equal(legacyCourts.get('哈'), '黑01')
  t.equal(legacyCourts.get('南'), '黑0103')
  t.equal(legacyCourts.get('黑高法'), '黑')
  for (const [abbreviation, code] of legacyCourts) {
    t.ok(directory.court(code)?.abbreviations?.includes(abbreviation), `${abbreviation} → ${code}`)
  }
  const old = parseCaseNumber('（2014）哈民一终字第123号', { legacyCourts })
  t.match(old, { courtCode: '黑01', typeCode: '民终' })
  t.equal(storeForTypeCode(old.typeCode), 'trial')
  t.match(parseCaseNumber('（2013）南民初字第456号', { legacyCourts }), { courtCode: '黑0103' })
  // The map handed out is a copy.
  ;(legacyCourts as Map<string, string>).set('沪', '黑01')
  t.equal(directory.legacyCourts().get('沪'), undefined)
})

t.test('the shipped file names its schema', async (t) => {
  const file = JSON.parse(readFileSync(FILE, 'utf8')) as { $schema: string }
  t.equal(join('config/directory', file.$schema), join('config/directory', 'directory.schema.json'))
  t.ok(existsSync(DIRECTORY_SCHEMA))
})

t.test('a bad directory stops the gateway at start, naming the entry', async (t) => {
  const cases: [string, (f: DirectoryFile) => void, RegExp][] = [
    [
      'duplicate code',
      (f) => f.courts.push({ ...f.courts[2]!, name: '又一基层' }),
      /courts\[3\]: duplicate code "黑0103" \(also courts\[2\]\)/,
    ],
    [
      'dangling parent',
      (f) => {
        f.courts[2]!.parent = '黑09'
      },
      /courts\[2\] "黑0103": parent "黑09" is not in courts/,
    ],
    [
      'pairing to a missing court',
      (f) => {
        f.procuratorates[1]!.pairedCourts = ['黑0199']
      },
      /procuratorates\[1\] "230100": pairedCourts names "黑0199", which is not a court/,
    ],
  ]
  for (const [name, edit, message] of cases) {
    const dir = t.testdir({})
    const file = minimal()
    edit(file)
    const path = join(dir, 'directory.json')
    writeFileSync(path, JSON.stringify(file))
    const config = testConfig(dir, { directory: path })
    t.throws(() => loadDirectory(path), { message }, `${name}: loadDirectory`)
    await t.rejects(createGateway(config), { message }, `${name}: createGateway`)
    await t.rejects(serve(config), { message }, `${name}: serve`)
    // The directory is read first: nothing was opened or created before the refusal.
    t.notOk(existsSync(join(dir, 'gateway.db')), `${name}: no database was created`)
  }
})
