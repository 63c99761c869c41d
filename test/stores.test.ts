// The storage back ends: the store contract on SQLite and on PostgreSQL, the PostgreSQL stores, their sequencer and
// quota, and a gateway on PostgreSQL. Each PostgreSQL module creates a database of its own (dropped at the end).
// One test process for these tests (issue 9): each test file costs about half a CPU-second of process start and tap
// bookkeeping in the suite. Each module in test/stores/ registers its own top-level tests on tap's root test, as it
// did as a file of its own; run them with `TAP_TYPE_STRIP_ONLY=1 npx tap test/stores.test.ts`.
import './stores/store-contract-sqlite.js'
import './stores/store-contract-postgres.js'
import './stores/postgres.js'
import './stores/sequencer.js'
import './stores/postgres-quota.js'
import './stores/postgres-gateway.js'
