// The access log's own code (src/accesslog): canonical JSON, Merkle tree, notes, receipts, offline verification, the
// writer and its stores.
// One test process for these pure unit tests (issue 9): each test file costs about half a CPU-second of process start
// and tap bookkeeping in the suite, more than most of them take to run. Each module in test/unit/ registers its own
// top-level tests on tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/unit-accesslog.test.ts`.
import './unit/canonical-json.js'
import './unit/merkle.js'
import './unit/note.js'
import './unit/receipt.js'
import './unit/verify.js'
import './unit/log-writer.js'
import './unit/log-changes.js'
import './unit/in-doubt-intents.js'
import './unit/log-filters.js'
import './unit/log-nodes.js'
