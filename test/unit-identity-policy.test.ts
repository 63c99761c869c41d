// Who asks and what they may see: token verification, identity claims, case numbers, the directory and the policy.
// One test process for these pure unit tests (issue 9): each test file costs about half a CPU-second of process start
// and tap bookkeeping in the suite, more than most of them take to run. Each module in test/unit/ registers its own
// top-level tests on tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/unit-identity-policy.test.ts`.
import './unit/token-verifier.js'
import './unit/identity-claims.js'
import './unit/case-number.js'
import './unit/directory.js'
import './unit/policy.js'
