// Who may call and from where: identity providers and tokens (Keycloak among them), the console's OpenID Connect
// client, hardening, SSRF guards, TLS behind a proxy.
// One test process for these tests of an in-process gateway (issue 9): each test file costs about half a CPU-second of
// process start and tap bookkeeping in the suite. Each module in test/gateway/ registers its own top-level tests on
// tap's root test, as it did as a file of its own; run one group with
// `TAP_TYPE_STRIP_ONLY=1 npx tap test/gateway-identity.test.ts`.
import './gateway/identity.js'
import './gateway/console-oidc.js'
import './gateway/hardening.js'
import './gateway/ssrf.js'
import './gateway/tls-proxy.js'
import './gateway/identity-keycloak.js'
