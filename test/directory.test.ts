import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { isCourtCode } from '../src/directory/case-number.js'
import { Directory, loadDirectory } from '../src/directory/directory.js'
import type { DirectoryFile } from '../src/directory/types.js'

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
    ['黑7101'],
  )
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
      { code: '黑', name: '高院', level: 'high', region: '230000' },
      { code: '黑01', name: '中院', level: 'intermediate', region: '230100', parent: '黑' },
      { code: '黑0103', name: '基层', level: 'basic', region: '230103', parent: '黑01' },
    ],
    procuratorates: [
      { code: '230000', name: '省院', level: 'provincial', region: '230000', pairedCourts: ['黑'] },
      { code: '230100', name: '市院', level: 'city', region: '230100', parent: '230000', pairedCourts: ['黑01'] },
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
    (f) => f.courts.push({ code: '黑01', name: '又一中院', level: 'intermediate', region: '230100', parent: '黑' }),
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
    /courts\[0\] "黑": key "region" must be a 6-digit GB\/T 2260 code/,
  )
  reject(
    'bad procuratorate code',
    (f) => {
      f.procuratorates[1]!.code = '黑01'
    },
    /procuratorates\[1\] "黑01": key "code" must be 6 digits/,
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
    /courts\[1\] "黑01": key "special" must be true or false/,
  )
  reject(
    'entry not an object',
    (f) => {
      ;(f.courts as unknown[]).push('黑02')
    },
    /courts\[3\] must be an object/,
  )

  const notJson = join(dir, 'not-json.json')
  writeFileSync(notJson, '{"courts": [')
  t.throws(() => loadDirectory(notJson), { message: /is not valid JSON/ })
  t.throws(() => loadDirectory(join(dir, 'missing.json')), { message: /cannot read directory file .*missing\.json/ })
  t.throws(() => new Directory([]), { message: /the directory must be an object/ })
})
