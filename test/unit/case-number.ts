import t from 'tap'
import {
  CIVIL_TYPE_CODES,
  type CaseNumber,
  ENFORCEMENT_TYPE_CODES,
  isCourtCode,
  normaliseCaseNumber,
  parseCaseNumber,
  storeForTypeCode,
} from '../../src/directory/case-number.js'
import { GatewayError } from '../../src/http/errors.js'

// A fixed clock, so the year bound (current year + 1 = 2026) does not drift with the calendar.
const now = new Date('2025-06-01T00:00:00Z')

type Expected = Omit<CaseNumber, 'specialisedCode'> & { specialisedCode?: string }

const valid: [string, Expected][] = [
  [
    '（2023）黑0103民初45号',
    {
      text: '（2023）黑0103民初45号',
      year: 2023,
      courtCode: '黑0103',
      typeCode: '民初',
      serial: 45,
      category: 'civil',
    },
  ],
  [
    '(2024)黑01执恢7号',
    {
      text: '（2024）黑01执恢7号',
      year: 2024,
      courtCode: '黑01',
      typeCode: '执恢',
      serial: 7,
      category: 'enforcement',
    },
  ],
  [
    '（2022）黑民再12号',
    { text: '（2022）黑民再12号', year: 2022, courtCode: '黑', typeCode: '民再', serial: 12, category: 'civil' },
  ],
  [
    '（2023）黑01民初123号',
    { text: '（2023）黑01民初123号', year: 2023, courtCode: '黑01', typeCode: '民初', serial: 123, category: 'civil' },
  ],
  [
    '  (2021)黑0184民终1号\n',
    { text: '（2021）黑0184民终1号', year: 2021, courtCode: '黑0184', typeCode: '民终', serial: 1, category: 'civil' },
  ],
  [
    '\u3000（2020）黑27执1号\u3000',
    { text: '（2020）黑27执1号', year: 2020, courtCode: '黑27', typeCode: '执', serial: 1, category: 'enforcement' },
  ],
  [
    '（2019）黑71民终88号',
    { text: '（2019）黑71民终88号', year: 2019, courtCode: '黑71', typeCode: '民终', serial: 88, category: 'civil' },
  ],
  [
    '（2018）黑7101民初3号',
    { text: '（2018）黑7101民初3号', year: 2018, courtCode: '黑7101', typeCode: '民初', serial: 3, category: 'civil' },
  ],
  [
    '（2020）黑81执异15号',
    {
      text: '（2020）黑81执异15号',
      year: 2020,
      courtCode: '黑81',
      typeCode: '执异',
      serial: 15,
      category: 'enforcement',
    },
  ],
  [
    '（2023）黑民申1234号',
    { text: '（2023）黑民申1234号', year: 2023, courtCode: '黑', typeCode: '民申', serial: 1234, category: 'civil' },
  ],
  [
    '（2023）黑01民辖终9号',
    { text: '（2023）黑01民辖终9号', year: 2023, courtCode: '黑01', typeCode: '民辖终', serial: 9, category: 'civil' },
  ],
  [
    '（2023）黑0102执保100号',
    {
      text: '（2023）黑0102执保100号',
      year: 2023,
      courtCode: '黑0102',
      typeCode: '执保',
      serial: 100,
      category: 'enforcement',
    },
  ],
  [
    '（2023）黑执复5号',
    { text: '（2023）黑执复5号', year: 2023, courtCode: '黑', typeCode: '执复', serial: 5, category: 'enforcement' },
  ],
  [
    '（2023）黑执监5号',
    { text: '（2023）黑执监5号', year: 2023, courtCode: '黑', typeCode: '执监', serial: 5, category: 'enforcement' },
  ],
  [
    '(2023）黑01民抗2号',
    { text: '（2023）黑01民抗2号', year: 2023, courtCode: '黑01', typeCode: '民抗', serial: 2, category: 'civil' },
  ],
  [
    '（2023)黑0103民特6号',
    { text: '（2023）黑0103民特6号', year: 2023, courtCode: '黑0103', typeCode: '民特', serial: 6, category: 'civil' },
  ],
  [
    '（2021）黑01知民初8号',
    {
      text: '（2021）黑01知民初8号',
      year: 2021,
      courtCode: '黑01',
      specialisedCode: '知',
      typeCode: '民初',
      serial: 8,
      category: 'civil',
    },
  ],
  [
    '（2021）黑知民终3号',
    {
      text: '（2021）黑知民终3号',
      year: 2021,
      courtCode: '黑',
      specialisedCode: '知',
      typeCode: '民终',
      serial: 3,
      category: 'civil',
    },
  ],
  [
    '（2021）黑01知民辖终3号',
    {
      text: '（2021）黑01知民辖终3号',
      year: 2021,
      courtCode: '黑01',
      specialisedCode: '知',
      typeCode: '民辖终',
      serial: 3,
      category: 'civil',
    },
  ],
  [
    '（2023）黑0103刑初45号',
    {
      text: '（2023）黑0103刑初45号',
      year: 2023,
      courtCode: '黑0103',
      typeCode: '刑初',
      serial: 45,
      category: 'other',
    },
  ],
  [
    '（2023）黑01破申3号',
    { text: '（2023）黑01破申3号', year: 2023, courtCode: '黑01', typeCode: '破申', serial: 3, category: 'civil' },
  ],
  [
    '（2023）黑01行终3号',
    { text: '（2023）黑01行终3号', year: 2023, courtCode: '黑01', typeCode: '行终', serial: 3, category: 'other' },
  ],
  [
    '（2023）京73民初1号',
    { text: '（2023）京73民初1号', year: 2023, courtCode: '京73', typeCode: '民初', serial: 1, category: 'civil' },
  ],
  [
    '（1949）黑民初1号',
    { text: '（1949）黑民初1号', year: 1949, courtCode: '黑', typeCode: '民初', serial: 1, category: 'civil' },
  ],
  [
    '（2026）黑01民初1号',
    { text: '（2026）黑01民初1号', year: 2026, courtCode: '黑01', typeCode: '民初', serial: 1, category: 'civil' },
  ],
  [
    '（2023）黑01民初987654321号',
    {
      text: '（2023）黑01民初987654321号',
      year: 2023,
      courtCode: '黑01',
      typeCode: '民初',
      serial: 987654321,
      category: 'civil',
    },
  ],
  [
    '（2023）黑01破1号',
    { text: '（2023）黑01破1号', year: 2023, courtCode: '黑01', typeCode: '破', serial: 1, category: 'civil' },
  ],
  [
    '（2022）黑破终4号',
    { text: '（2022）黑破终4号', year: 2022, courtCode: '黑', typeCode: '破终', serial: 4, category: 'civil' },
  ],
  [
    '（2021）黑01强清2号',
    { text: '（2021）黑01强清2号', year: 2021, courtCode: '黑01', typeCode: '强清', serial: 2, category: 'civil' },
  ],
  [
    '（2021）黑01强清申11号',
    {
      text: '（2021）黑01强清申11号',
      year: 2021,
      courtCode: '黑01',
      typeCode: '强清申',
      serial: 11,
      category: 'civil',
    },
  ],
  [
    '（2023）黑0103财保15号',
    {
      text: '（2023）黑0103财保15号',
      year: 2023,
      courtCode: '黑0103',
      typeCode: '财保',
      serial: 15,
      category: 'civil',
    },
  ],
  [
    '（2022）黑0102证保3号',
    { text: '（2022）黑0102证保3号', year: 2022, courtCode: '黑0102', typeCode: '证保', serial: 3, category: 'civil' },
  ],
  [
    '（２０２３）黑０１民终１２３４号',
    {
      text: '（2023）黑01民终1234号',
      year: 2023,
      courtCode: '黑01',
      typeCode: '民终',
      serial: 1234,
      category: 'civil',
    },
  ],
  [
    '( 2023 )黑01民终1234号',
    {
      text: '（2023）黑01民终1234号',
      year: 2023,
      courtCode: '黑01',
      typeCode: '民终',
      serial: 1234,
      category: 'civil',
    },
  ],
  [
    '（2023） 黑 0103 民初 45 号',
    {
      text: '（2023）黑0103民初45号',
      year: 2023,
      courtCode: '黑0103',
      typeCode: '民初',
      serial: 45,
      category: 'civil',
    },
  ],
  [
    '（2023）黑01执恢\u30007号',
    {
      text: '（2023）黑01执恢7号',
      year: 2023,
      courtCode: '黑01',
      typeCode: '执恢',
      serial: 7,
      category: 'enforcement',
    },
  ],
  [
    '（2023）黑01民初１２３号',
    { text: '（2023）黑01民初123号', year: 2023, courtCode: '黑01', typeCode: '民初', serial: 123, category: 'civil' },
  ],
]

t.test('valid case numbers parse and normalise', async (t) => {
  for (const [input, expected] of valid) {
    t.same(parseCaseNumber(input, { now }), expected, input)
    t.equal(normaliseCaseNumber(input, { now }), expected.text, `${input} normalises`)
    // The normal form is a fixed point.
    t.same(parseCaseNumber(expected.text, { now }), expected, `${expected.text} round-trips`)
  }
})

t.test('no specialisedCode key when there is none', async (t) => {
  t.notOk('specialisedCode' in parseCaseNumber('（2023）黑01民初1号', { now }))
})

const invalid: [string, string, RegExp][] = [
  ['empty', '', /empty/],
  ['only whitespace', '   \t ', /empty/],
  ['over-long', `（2023）黑01民初${'1'.repeat(60)}号`, /longer than 64/],
  ['over-long with padding', `${' '.repeat(60)}（2023）黑01民初1号`, /longer than 64/],
  ['no parentheses', '2023黑01民初1号', /start with the year in parentheses/],
  ['square brackets', '[2023]黑01民初1号', /start with the year in parentheses/],
  ['old-style brackets', '〔2023〕黑01民初1号', /start with the year in parentheses/],
  ['no closing parenthesis', '（2023黑01民初1号', /closing parenthesis/],
  ['2-digit year', '（23）黑01民初1号', /year "23" must be 4 digits/],
  ['5-digit year', '（20233）黑01民初1号', /must be 4 digits/],
  ['year with letters', '（2O23）黑01民初1号', /year "2O23" must be 4 digits/],
  ['space inside the year', '（20 23）黑01民初1号', /space inside the number "（20…"/],
  ['space inside the serial', '（2023）黑01民终12 34号', /space inside the number/],
  ['full-width space inside the court code', '（2023）黑01\u300003民初1号', /space inside the number/],
  ['year before 1949', '（1948）黑01民初1号', /year 1948 is outside 1949–2026/],
  ['year too far ahead', '（2027）黑01民初1号', /year 2027 is outside/],
  ['missing 号', '（2023）黑01民初123', /must end with 号/],
  ['missing 号, trailing text', '（2023）黑01民初123号了', /must end with 号/],
  ['nothing after the year', '（2023）', /missing court code/],
  ['only 号 after the year', '（2023）号', /province abbreviation/],
  ['unknown province', '（2023）哈01民初1号', /province abbreviation such as 黑, not "哈"/],
  ['Latin court code', '（2023）H01民初1号', /province abbreviation/],
  ['Supreme Court code', '（2023）最高法民终1号', /province abbreviation/],
  ['1 court digit', '（2023）黑1民初1号', /court code "黑1" must be/],
  ['3 court digits', '（2023）黑010民初1号', /court code "黑010" must be/],
  ['5 court digits', '（2023）黑01031民初1号', /court code "黑01031" must be/],
  ['6 court digits', '（2023）黑230103民初1号', /court code "黑230103" must be/],
  ['no type code', '（2023）黑0103123号', /missing case-type code/],
  ['no type code, no serial', '（2023）黑01号', /missing case-type code/],
  ['type code too long', '（2023）黑01民初再审1号', /"民初再审" is longer than 3/],
  ['specialised + type too long', '（2023）黑01知民初再审1号', /"民初再审" is longer than 3/],
  ['no serial', '（2023）黑01民初号', /missing serial number/],
  ['serial 0', '（2023）黑01民初0号', /positive integer/],
  ['serial 000', '（2023）黑01民初000号', /positive integer/],
  ['leading zero', '（2023）黑01民初045号', /leading zeros/],
  ['serial too long', '（2023）黑01民初1234567890号', /longer than 9 digits/],
  ['negative serial', '（2023）黑01民初-1号', /unexpected character "-"/],
  ['Latin letters in type', '（2023）黑01ab1号', /unexpected character "a"/],
  ['two case numbers', '（2023）黑01民初1号（2023）黑01民初2号', /unexpected character "号"/],
  ['double 号', '（2023）黑01民初1号号', /unexpected character "号"/],
  ['text after serial', '（2023）黑01民初1之一号', /unexpected character "之"/],
  [
    'pre-2016 form without the directory mapping',
    '（2015）黑高民终字第1号',
    /"黑高民终" does not start with the abbreviation of a court/,
  ],
  [
    'pre-2016 form with a 2016 court code',
    '（2015）黑01民一终字第123号',
    /unexpected character "0" in a number of the pre-2016 form/,
  ],
  ['second pair of parentheses', '（2023）（黑01）民初1号', /unexpected character "（"|province abbreviation/],
]

t.test('invalid case numbers are rejected with the reason', async (t) => {
  for (const [why, input, message] of invalid) {
    let caught: unknown
    try {
      parseCaseNumber(input, { now })
    } catch (error) {
      caught = error
    }
    t.ok(caught instanceof GatewayError, `${why}: throws a GatewayError`)
    t.match(caught, { code: 'INVALID_CASE_NUMBER', status: 400, message }, why)
  }
})

t.test('non-string input is a 400, not a crash', async (t) => {
  for (const input of [undefined, null, 42, {}] as unknown[]) {
    t.throws(() => parseCaseNumber(input as string), { code: 'INVALID_CASE_NUMBER', status: 400 })
  }
})

t.test('the year bound follows China Standard Time and the real clock by default', async (t) => {
  // 2025-12-31 17:00 UTC is already 2026-01-01 in China, so 2027 is "next year" there.
  const newYearInChina = new Date('2025-12-31T17:00:00Z')
  t.equal(parseCaseNumber('（2027）黑01民初1号', { now: newYearInChina }).year, 2027)
  t.throws(() => parseCaseNumber('（2027）黑01民初1号', { now: new Date('2025-12-31T15:00:00Z') }))
  const next = new Date().getUTCFullYear() + 1
  t.equal(parseCaseNumber(`（${next}）黑01民初1号`).year, next)
  t.throws(() => parseCaseNumber(`（${next + 2}）黑01民初1号`), { code: 'INVALID_CASE_NUMBER' })
})

t.test('type codes and stores', async (t) => {
  for (const code of ['民初', '民终', '民再', '民申', '民抗', '民监', '民辖', '民特', '民督', '民催', '民撤']) {
    t.ok((CIVIL_TYPE_CODES as readonly string[]).includes(code), `civil ${code}`)
    t.equal(storeForTypeCode(code), 'trial', `${code} → trial`)
  }
  for (const code of ['执', '执恢', '执保', '执异', '执复', '执监', '执协']) {
    t.ok((ENFORCEMENT_TYPE_CODES as readonly string[]).includes(code), `enforcement ${code}`)
    t.equal(storeForTypeCode(code), 'execution', `${code} → execution`)
  }
  // Bankruptcy, compulsory liquidation and preservation reviewed outside a lawsuit are decided on the trial side.
  for (const code of ['破', '破申', '破终', '破监', '强清', '强清申', '强清终', '财保', '行保', '证保']) {
    t.ok((CIVIL_TYPE_CODES as readonly string[]).includes(code), `civil ${code}`)
    t.equal(storeForTypeCode(code), 'trial', `${code} → trial`)
  }
  // An unknown or non-civil type parses (category 'other') but has no store, so no grant can name it.
  for (const code of ['刑初', '行终', '行初', '', '知', '民初 ', '啊啊'])
    t.equal(storeForTypeCode(code), undefined, `"${code}"`)
  t.equal(parseCaseNumber('（2023）黑01啊啊1号', { now }).category, 'other')
  const all = [...CIVIL_TYPE_CODES, ...ENFORCEMENT_TYPE_CODES]
  t.equal(new Set(all).size, all.length, 'no code is in both lists or twice')
  for (const code of all) {
    t.ok(code.length >= 1 && code.length <= 3, `${code} is 1–3 characters (the config schema's bound)`)
    t.equal(parseCaseNumber(`（2023）黑01${code}1号`, { now }).typeCode, code, `${code} is never split apart`)
  }
})

t.test('isCourtCode', async (t) => {
  for (const code of ['黑', '黑01', '黑0103', '黑71', '黑7101', '京73', '兵01']) t.ok(isCourtCode(code), code)
  for (const code of ['', '哈', '黑1', '黑010', '黑01031', 'H01', '黑01 ', '最高法', '01'])
    t.notOk(isCourtCode(code), `"${code}"`)
})

// A mapping like the one the directory builds from its `abbreviations`; the parser only reads it.
const legacyCourts = new Map([
  ['黑高法', '黑'],
  ['黑高', '黑'],
  ['黑', '黑'],
  ['哈', '黑01'],
  ['南', '黑0103'],
  ['龙', '黑0202'],
  ['建', '黑8103'],
])

const legacy: [string, Expected & { legacy: { abbreviation: string; typeText: string } }][] = [
  [
    '（2014）哈民一终字第123号',
    {
      text: '（2014）哈民一终字第123号',
      year: 2014,
      courtCode: '黑01',
      typeCode: '民终',
      serial: 123,
      category: 'civil',
      legacy: { abbreviation: '哈', typeText: '民一终' },
    },
  ],
  [
    '（2013）南民初字第456号',
    {
      text: '（2013）南民初字第456号',
      year: 2013,
      courtCode: '黑0103',
      typeCode: '民初',
      serial: 456,
      category: 'civil',
      legacy: { abbreviation: '南', typeText: '民初' },
    },
  ],
  [
    '（2012）黑高商终字第12号',
    {
      text: '（2012）黑高商终字第12号',
      year: 2012,
      courtCode: '黑',
      typeCode: '民终',
      serial: 12,
      category: 'civil',
      legacy: { abbreviation: '黑高', typeText: '商终' },
    },
  ],
  [
    '（2011）黑高法民提字第3号',
    {
      text: '（2011）黑高法民提字第3号',
      year: 2011,
      courtCode: '黑',
      typeCode: '民再',
      serial: 3,
      category: 'civil',
      legacy: { abbreviation: '黑高法', typeText: '民提' },
    },
  ],
  [
    '（2014）黑民申字第9号',
    {
      text: '（2014）黑民申字第9号',
      year: 2014,
      courtCode: '黑',
      typeCode: '民申',
      serial: 9,
      category: 'civil',
      legacy: { abbreviation: '黑', typeText: '民申' },
    },
  ],
  [
    '（2015）哈执字第100号',
    {
      text: '（2015）哈执字第100号',
      year: 2015,
      courtCode: '黑01',
      typeCode: '执',
      serial: 100,
      category: 'enforcement',
      legacy: { abbreviation: '哈', typeText: '执' },
    },
  ],
  [
    '(2015)哈执异字第3号',
    {
      text: '（2015）哈执异字第3号',
      year: 2015,
      courtCode: '黑01',
      typeCode: '执异',
      serial: 3,
      category: 'enforcement',
      legacy: { abbreviation: '哈', typeText: '执异' },
    },
  ],
  [
    '（2016）建执字第00047号',
    {
      text: '（2016）建执字第47号',
      year: 2016,
      courtCode: '黑8103',
      typeCode: '执',
      serial: 47,
      category: 'enforcement',
      legacy: { abbreviation: '建', typeText: '执' },
    },
  ],
  [
    '（2013）哈民破字第1号',
    {
      text: '（2013）哈民破字第1号',
      year: 2013,
      courtCode: '黑01',
      typeCode: '破',
      serial: 1,
      category: 'civil',
      legacy: { abbreviation: '哈', typeText: '民破' },
    },
  ],
  [
    '（2015）龙刑初字第351号',
    {
      text: '（2015）龙刑初字第351号',
      year: 2015,
      courtCode: '黑0202',
      typeCode: '刑初',
      serial: 351,
      category: 'other',
      legacy: { abbreviation: '龙', typeText: '刑初' },
    },
  ],
  [
    '（２０１４） 哈民一终字第 １２３ 号',
    {
      text: '（2014）哈民一终字第123号',
      year: 2014,
      courtCode: '黑01',
      typeCode: '民终',
      serial: 123,
      category: 'civil',
      legacy: { abbreviation: '哈', typeText: '民一终' },
    },
  ],
]

t.test('pre-2016 numbers resolve through the directory mapping to the same court, type and store', async (t) => {
  for (const [input, expected] of legacy) {
    const parsed = parseCaseNumber(input, { now, legacyCourts })
    t.same(parsed, expected, input)
    t.same(parseCaseNumber(expected.text, { now, legacyCourts }), expected, `${expected.text} round-trips`)
  }
  // The same case in either form reaches the same store of the same court.
  const old = parseCaseNumber('（2015）哈执字第100号', { now, legacyCourts })
  const current = parseCaseNumber('（2023）黑01执100号', { now, legacyCourts })
  t.equal(old.courtCode, current.courtCode)
  t.equal(storeForTypeCode(old.typeCode), 'execution')
  t.equal(storeForTypeCode(parseCaseNumber('（2014）哈民一终字第123号', { now, legacyCourts }).typeCode), 'trial')
})

const legacyInvalid: [string, string, RegExp][] = [
  ['unknown court', '（2014）沪民一终字第1号', /"沪民一终" does not start with the abbreviation of a court/],
  ['court only, no type', '（2014）哈字第1号', /missing case type after the court abbreviation "哈"/],
  ['nothing before 字第', '（2014）字第1号', /"" does not start with the abbreviation/],
  ['unknown type', '（2014）哈知字第1号', /unknown case type "知" after the court abbreviation "哈"/],
  ['unknown procedure', '（2014）哈民一审字第1号', /unknown case type "民一审"/],
  ['numbered enforcement tribunal', '（2014）哈执一字第1号', /unknown case type "执一"/],
  ['malformed year', '（14）哈民一终字第1号', /year "14" must be 4 digits/],
  ['year too far ahead', '（2030）哈民一终字第1号', /year 2030 is outside/],
  ['zero case number', '（2014）哈民一终字第0号', /positive integer/],
  ['zero-padded zero', '（2014）哈民一终字第0000号', /positive integer/],
  ['no serial', '（2014）哈民一终字第号', /missing serial number/],
  ['serial too long', '（2014）哈民一终字第1234567890号', /longer than 9 digits/],
  ['trailing junk', '（2014）哈民一终字第123号之一', /must end with 号/],
  ['junk in the serial', '（2014）哈民一终字第12a3号', /serial number "12a3" after 字第 must be digits/],
  ['digits before 字第', '（2014）哈1民终字第1号', /unexpected character "1" in a number of the pre-2016 form/],
  ['space inside the serial', '（2014）哈民一终字第12 3号', /space inside the number/],
]

t.test('pre-2016 numbers are refused with the reason', async (t) => {
  for (const [why, input, message] of legacyInvalid) {
    t.throws(() => parseCaseNumber(input, { now, legacyCourts }), { code: 'INVALID_CASE_NUMBER', message }, why)
  }
  t.throws(
    () => parseCaseNumber('（2014）哈民一终字第123号', { now }),
    { code: 'INVALID_CASE_NUMBER', message: /does not start with the abbreviation of a court/ },
    'without the mapping no pre-2016 number resolves',
  )
})
