// The API as clients and operators meet it, on a gateway in this process: the API docs, health checks, operations,
// limits, bad input, quotas, the configuration files and their loading; and the links of the documentation.
// One test process for these tests of an in-process gateway (issue 9): each test file costs about half a CPU-second of
// process start and tap bookkeeping in the suite. Each module in test/gateway/ registers its own top-level tests on
// tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/gateway-api.test.ts`.
import './gateway/api-docs.js'
import './gateway/healthcheck.js'
import './gateway/operations.js'
import './gateway/limits.js'
import './gateway/bad-input.js'
import './gateway/quota.js'
import './gateway/config.js'
import './gateway/docs.js'
