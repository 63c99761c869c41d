import t from 'tap'
import { type CourtTree, claims, conflicts, servingAdapter, specificity } from '../../src/adapters/routing.js'
import type { Adapter, AdapterStatus, Store } from '../../src/adapters/types.js'

// A slice of the province: the high court, two intermediate courts, two basic courts under 黑01.
const PARENTS: Record<string, string | undefined> = {
  黑: undefined,
  黑01: '黑',
  黑02: '黑',
  黑0102: '黑01',
  黑0103: '黑01',
}
const tree: CourtTree = {
  court: (code) => (code in PARENTS ? { code, ...(PARENTS[code] ? { parent: PARENTS[code] } : {}) } : undefined),
}

function adapter(
  id: string,
  court: string,
  options: { covers?: string[]; stores?: Store[]; status?: AdapterStatus; activatedAt?: string } = {},
): Adapter {
  return {
    id,
    court,
    baseUrl: `https://${id}.example`,
    covers: options.covers ?? [],
    stores: options.stores ?? ['trial', 'execution'],
    status: options.status ?? 'active',
    createdBy: 'admin',
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    ...(options.activatedAt ? { activatedAt: options.activatedAt } : {}),
  }
}

t.test('specificity: own court 0, covering adapters by parent steps, otherwise none', async (t) => {
  const cases: Array<[string, Adapter, string, Store, number | undefined]> = [
    ['own court', adapter('a', '黑0103'), '黑0103', 'trial', 0],
    ['intermediate covering a basic court', adapter('a', '黑01', { covers: ['黑0103'] }), '黑0103', 'trial', 1],
    ['high court covering a basic court', adapter('a', '黑', { covers: ['黑0103'] }), '黑0103', 'execution', 2],
    ['a court it does not list', adapter('a', '黑01', { covers: ['黑0102'] }), '黑0103', 'trial', undefined],
    [
      'a store it does not serve',
      adapter('a', '黑01', { covers: ['黑0103'], stores: ['trial'] }),
      '黑0103',
      'execution',
      undefined,
    ],
    ['its own court, wrong store', adapter('a', '黑01', { stores: ['execution'] }), '黑01', 'trial', undefined],
    // The directory is the authority: a listed court that is not below the registrant is not served.
    ['a listed court outside its jurisdiction', adapter('a', '黑01', { covers: ['黑02'] }), '黑02', 'trial', undefined],
    [
      'a listed court unknown to the directory',
      adapter('a', '黑01', { covers: ['黑9999'] }),
      '黑9999',
      'trial',
      undefined,
    ],
  ]
  for (const [name, a, court, store, expected] of cases) t.equal(specificity(a, court, store, tree), expected, name)
})

t.test('specificity terminates on a parent cycle in a bad directory', async (t) => {
  const cyclic: CourtTree = { court: (code) => ({ code, parent: code === 'A' ? 'B' : 'A' }) }
  t.equal(specificity(adapter('x', 'C', { covers: ['A'] }), 'A', 'trial', cyclic), undefined)
})

t.test('servingAdapter: the most specific active adapter of the store', async (t) => {
  const own = adapter('own', '黑0103', { stores: ['trial'] })
  const city = adapter('city', '黑01', { covers: ['黑0102', '黑0103'] })
  const cityTrial = adapter('city-trial', '黑01', { covers: ['黑0103'], stores: ['trial'] })
  const cityExecution = adapter('city-execution', '黑01', { covers: ['黑0103'], stores: ['execution'] })
  const province = adapter('province', '黑', { covers: ['黑01', '黑0103'] })
  const cases: Array<[string, Adapter[], string, Store, string | undefined]> = [
    ['own court beats a covering adapter', [city, own], '黑0103', 'trial', 'own'],
    ['own court beats a covering adapter, whatever the order', [own, city], '黑0103', 'trial', 'own'],
    ['a covering adapter serves the store the own one does not', [own, city], '黑0103', 'execution', 'city'],
    ['a nearer covering adapter beats a farther one', [province, city], '黑0103', 'trial', 'city'],
    ['a nearer covering adapter beats a farther one, whatever the order', [city, province], '黑0103', 'trial', 'city'],
    ['the farther one serves what the nearer does not cover', [province, city], '黑01', 'trial', 'city'],
    ['the high court serves the intermediate court it covers', [province], '黑01', 'execution', 'province'],
    ['trial reads go to the trial adapter', [cityTrial, cityExecution], '黑0103', 'trial', 'city-trial'],
    [
      'enforcement reads go to the execution adapter',
      [cityTrial, cityExecution],
      '黑0103',
      'execution',
      'city-execution',
    ],
    ['nobody covers 黑0102 trial here', [cityTrial, cityExecution, own], '黑0102', 'trial', undefined],
    ['no adapter at all', [], '黑0103', 'trial', undefined],
    ['a sibling court is never served', [city], '黑02', 'trial', undefined],
  ]
  for (const [name, adapters, court, store, expected] of cases) {
    t.equal(servingAdapter(adapters, court, store, tree)?.id, expected, name)
  }
})

t.test('servingAdapter: pending and suspended adapters never serve', async (t) => {
  for (const status of ['pending', 'suspended'] as const) {
    const own = adapter('own', '黑0103', { status })
    const city = adapter('city', '黑01', { covers: ['黑0103'] })
    t.equal(servingAdapter([own, city], '黑0103', 'trial', tree)?.id, 'city', `a ${status} own adapter hands over`)
    t.equal(servingAdapter([own], '黑0103', 'trial', tree), undefined, `a ${status} adapter alone serves nothing`)
    const cityInactive = adapter('city', '黑01', { covers: ['黑0103'], status })
    t.equal(
      servingAdapter([cityInactive], '黑0103', 'trial', tree),
      undefined,
      `a ${status} covering adapter serves nothing`,
    )
  }
})

t.test('servingAdapter: a tie (which activation refuses) goes to the adapter active longest', async (t) => {
  const older = adapter('b-older', '黑01', { activatedAt: '2024-01-01T00:00:00.000Z' })
  const newer = adapter('a-newer', '黑01', { activatedAt: '2024-02-01T00:00:00.000Z' })
  t.equal(servingAdapter([newer, older], '黑01', 'trial', tree)?.id, 'b-older')
  t.equal(servingAdapter([older, newer], '黑01', 'trial', tree)?.id, 'b-older')
})

t.test('claims: every (court, store) pair, the own court once', async (t) => {
  t.same(claims(adapter('a', '黑01', { covers: ['黑0103'], stores: ['trial'] })), [
    { court: '黑01', store: 'trial' },
    { court: '黑0103', store: 'trial' },
  ])
  t.same(claims(adapter('a', '黑01', { covers: ['黑01'], stores: ['execution'] })), [
    { court: '黑01', store: 'execution' },
  ])
})

t.test('conflicts: same court, same store, same specificity, active only', async (t) => {
  const candidate = adapter('new', '黑01', { covers: ['黑0103'], stores: ['trial'], status: 'pending' })
  const cases: Array<[string, Adapter[], Array<{ id: string; court: string; store: Store }>]> = [
    [
      'an active adapter of the same court and store',
      [adapter('old', '黑01', { stores: ['trial'] })],
      [{ id: 'old', court: '黑01', store: 'trial' }],
    ],
    [
      'both covering the same court too',
      [adapter('old', '黑01', { covers: ['黑0103'], stores: ['trial'] })],
      [
        { id: 'old', court: '黑01', store: 'trial' },
        { id: 'old', court: '黑0103', store: 'trial' },
      ],
    ],
    ['the same court, another store', [adapter('old', '黑01', { covers: ['黑0103'], stores: ['execution'] })], []],
    ['a pending one', [adapter('old', '黑01', { stores: ['trial'], status: 'pending' })], []],
    ['a suspended one', [adapter('old', '黑01', { stores: ['trial'], status: 'suspended' })], []],
    ["the covered court's own adapter (more specific)", [adapter('own', '黑0103', { stores: ['trial'] })], []],
    ['a farther covering adapter (less specific)', [adapter('province', '黑', { covers: ['黑01', '黑0103'] })], []],
    ['another court altogether', [adapter('other', '黑02')], []],
  ]
  for (const [name, others, expected] of cases) {
    const found = conflicts(candidate, others, tree).map(({ adapter, court, store }) => ({
      id: adapter.id,
      court,
      store,
    }))
    t.same(found, expected, name)
  }
  t.same(
    conflicts(adapter('old', '黑01', { stores: ['trial'] }), [adapter('old', '黑01', { stores: ['trial'] })], tree),
    [],
    'never with itself',
  )
})

t.test('conflicts: a claim the directory does not back clashes with nothing', async (t) => {
  // Both list 黑02, which is not below 黑01: neither serves it, so they must not "tie" on it.
  const a = adapter('a', '黑01', { covers: ['黑02'], stores: ['trial'], status: 'pending' })
  const b = adapter('b', '黑0103', { covers: ['黑02'], stores: ['trial'] })
  t.same(conflicts(a, [b], tree), [])
})
