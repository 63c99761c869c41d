// The HTTP layer (src/http: errors, OpenAPI, loggable input) and the court adapters' client side (src/adapters:
// addresses, routing, signing) with the state cache, and the reclaiming of court socket buffers and the digest
// threads (src/files).
// One test process for these pure unit tests (issue 9): each test file costs about half a CPU-second of process start
// and tap bookkeeping in the suite, more than most of them take to run. Each module in test/unit/ registers its own
// top-level tests on tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/unit-http-adapters.test.ts`.
import './unit/errors.js'
import './unit/openapi.js'
import './unit/loggable-input.js'
import './unit/addresses.js'
import './unit/routing.js'
import './unit/signing.js'
import './unit/state-cache.js'
import './unit/socket-buffers.js'
import './unit/digests.js'
import './unit/digest-guard.js'
