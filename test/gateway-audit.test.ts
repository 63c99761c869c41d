// Grants and the access log through the API: authorisation, the grants' lifecycle, the audit API, tampering found by
// verify, faults of the change log.
// One test process for these tests of an in-process gateway (issue 9): each test file costs about half a CPU-second of
// process start and tap bookkeeping in the suite. Each module in test/gateway/ registers its own top-level tests on
// tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/gateway-audit.test.ts`.
import './gateway/authorisation.js'
import './gateway/grants-lifecycle.js'
import './gateway/audit-api.js'
import './gateway/tamper.js'
import './gateway/change-log-faults.js'
