// Reading a document through a gateway in this process, and the court behind it: the read flow and path, edge cases,
// unloggable input, legacy case numbers, an unavailable log, upstream faults, adapters out of service and their
// health, court tokens.
// One test process for these tests of an in-process gateway (issue 9): each test file costs about half a CPU-second of
// process start and tap bookkeeping in the suite. Each module in test/gateway/ registers its own top-level tests on
// tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/gateway-reads.test.ts`.
import './gateway/read-flow.js'
import './gateway/read-path.js'
import './gateway/read-edges.js'
import './gateway/unloggable-input.js'
import './gateway/legacy-case-numbers.js'
import './gateway/log-unavailable.js'
import './gateway/upstream-faults.js'
import './gateway/adapter-out-of-service.js'
import './gateway/adapter-health.js'
import './gateway/court-tokens.js'
