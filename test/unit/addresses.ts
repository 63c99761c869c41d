import t from 'tap'
import { AddressPolicy, canonicalAddress, urlHost } from '../../src/adapters/addresses.js'

t.test('canonical addresses: IPv4-mapped IPv6 is the IPv4 address it reaches; names are not addresses', async (t) => {
  t.same(canonicalAddress('127.0.0.1'), { address: '127.0.0.1', family: 4 })
  t.same(canonicalAddress('::ffff:127.0.0.1'), { address: '127.0.0.1', family: 4 })
  t.same(canonicalAddress('::FFFF:7f00:1'), { address: '127.0.0.1', family: 4 })
  t.same(canonicalAddress('0:0:0:0:0:ffff:a17:102'), { address: '10.23.1.2', family: 4 })
  t.same(canonicalAddress('0:0:0:0:0:0:0:1'), { address: '::1', family: 6 })
  t.same(canonicalAddress('FD00::2'), { address: 'fd00::2', family: 6 })
  for (const text of ['localhost', '127.1', '', 'fe80::1%eth0', '1.2.3.4.5', '::ffff:zz']) {
    t.equal(canonicalAddress(text), undefined, JSON.stringify(text))
  }
})

t.test('every spelling of a loopback address in a URL is the same address', async (t) => {
  const spellings = [
    'http://127.0.0.1',
    'http://2130706433',
    'http://0177.0.0.1',
    'http://0x7f.1',
    'http://0x7f000001',
    'http://127.1',
    'http://127.0.1',
    'http://[::ffff:127.0.0.1]',
    'http://[::ffff:7f00:1]',
    'http://[0:0:0:0:0:ffff:7f00:1]',
    'http://localhost',
    'http://LOCALHOST.',
    'http://court.localhost',
  ]
  for (const spelling of spellings) {
    t.same(urlHost(new URL(spelling)), { address: { address: '127.0.0.1', family: 4 } }, spelling)
  }
  t.same(urlHost(new URL('http://[::1]:8080')), { address: { address: '::1', family: 6 } })
  t.same(urlHost(new URL('https://court.example.:443')), { name: 'court.example.' })
  t.same(urlHost(new URL('https://localhost.example')), { name: 'localhost.example' })
})

t.test('an allow-list admits exactly its networks, never unspecified, multicast or broadcast', async (t) => {
  const policy = new AddressPolicy(['10.23.0.0/16', 'fd00::/64', '127.0.0.1/32'])
  const cases: Array<[string, boolean]> = [
    ['10.23.0.1', true],
    ['10.23.255.254', true],
    ['10.24.0.1', false],
    ['::ffff:10.23.0.1', true],
    ['::ffff:a18:1', false],
    ['127.0.0.1', true],
    ['127.0.0.2', false],
    ['::ffff:127.0.0.2', false],
    ['::1', false],
    ['fd00::2', true],
    ['fd00:0:0:1::2', false],
    ['169.254.169.254', false],
    ['not an address', false],
  ]
  for (const [address, allowed] of cases) t.equal(policy.allows(address), allowed, address)

  const everything = new AddressPolicy(['0.0.0.0/0', '::/0'])
  for (const address of ['0.0.0.0', '0.1.2.3', '::', '::ffff:0.0.0.0', '224.0.0.1', 'ff02::1', '255.255.255.255']) {
    t.notOk(everything.allows(address), `${address}: never, even with 0.0.0.0/0 and ::/0`)
  }
  t.ok(everything.allows('127.0.0.1'), 'an allow-list that covers loopback admits it')
})

t.test('without an allow-list: any address but this host and link-local ones', async (t) => {
  const policy = new AddressPolicy([])
  for (const address of ['10.1.2.3', '192.0.2.7', '2001:db8::1', '8.8.8.8']) t.ok(policy.allows(address), address)
  for (const address of [
    '127.0.0.1',
    '127.255.0.9',
    '::ffff:127.0.0.1',
    '::1',
    '169.254.169.254',
    'fe80::1',
    '0.0.0.0',
    '::',
  ]) {
    t.notOk(policy.allows(address), address)
  }
})

t.test('a resolved name passes only when every one of its addresses does', async (t) => {
  const policy = new AddressPolicy(['10.23.0.0/16'])
  t.same(
    policy.vet([
      { address: '10.23.0.5', family: 4 },
      { address: '::ffff:10.23.0.6', family: 6 },
    ]),
    [
      { address: '10.23.0.5', family: 4 },
      { address: '10.23.0.6', family: 4 },
    ],
    'the vetted list is canonical, in resolver order',
  )
  t.equal(
    policy.vet([
      { address: '10.23.0.5', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]),
    undefined,
    'one forbidden address refuses the name',
  )
  t.equal(policy.vet([]), undefined, 'no address is no connection')
  t.equal(policy.vet([{ address: 'garbage', family: 4 }]), undefined)
})
