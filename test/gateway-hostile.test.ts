// Courts and clients that misbehave, and documents too large to buffer, against a gateway in this process: each test
// records what escapes to the process (uncaughtException, unhandledRejection, warnings) only while it runs, and tap
// runs them one after another.
// One test process for these tests of an in-process gateway (issue 9): each test file costs about half a CPU-second of
// process start and tap bookkeeping in the suite. Each module in test/gateway/ registers its own top-level tests on
// tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/gateway-hostile.test.ts`.
import './gateway/hostile-court.js'
import './gateway/hostile-catalogue.js'
import './gateway/streaming.js'
