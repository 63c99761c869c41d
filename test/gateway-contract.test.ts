// The contracts with clients and courts: conformance to the OpenAPI specs (with generated requests), the court
// adapters' conformance kit, routing between adapters, the catalogue cache.
// One test process for these tests of an in-process gateway (issue 9): each test file costs about half a CPU-second of
// process start and tap bookkeeping in the suite. Each module in test/gateway/ registers its own top-level tests on
// tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/gateway-contract.test.ts`.
import './gateway/spec-conformance.js'
import './gateway/spec-bad-input.js'
import './gateway/property-log-promise.js'
import './gateway/conformance-kit.js'
import './gateway/adapter-routing.js'
import './gateway/catalogue-cache.js'
