import t from 'tap'
import { ERRORS, GatewayError, toProblem } from '../../src/http/errors.js'
import { toGatewayError } from '../../src/http/problem-plugin.js'

// The codes are a contract with clients (docs/architecture.md#errors): changing one is a breaking change, so each is locked here.
const LOCKED: Record<string, number> = {
  VALIDATION_FAILED: 400,
  INVALID_CASE_NUMBER: 400,
  INVALID_PROOF_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NO_GRANT: 403,
  OUT_OF_JURISDICTION: 403,
  SUB_VOLUME_NOT_APPROVED: 403,
  GRANT_EXPIRED: 403,
  GRANT_NOT_ACTIVE: 403,
  CASE_TYPE_OUT_OF_SCOPE: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
  DUPLICATE_GRANT: 409,
  ADAPTER_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  CONFORMANCE_FAILED: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  ADAPTER_BAD_RESPONSE: 502,
  DOCUMENT_INTEGRITY_FAILED: 502,
  DOCUMENT_TYPE_NOT_SERVED: 502,
  ADAPTER_UNAVAILABLE: 503,
  ACCESS_LOG_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
  LIMITS_UNAVAILABLE: 503,
  ADAPTER_TIMEOUT: 504,
}

t.test('every error code and its status is locked', async (t) => {
  t.same(Object.fromEntries(Object.entries(ERRORS).map(([code, { status }]) => [code, status])), LOCKED)
})

t.test('problem+json bodies', async (t) => {
  const problem = toProblem(
    new GatewayError('NO_GRANT', 'no grant covers this case', { extra: { grant: 'g1' } }),
    '/v1/x',
  )
  t.same(problem, {
    type: 'urn:court-file-gateway:problem:no-grant',
    title: 'No grant covers this read',
    status: 403,
    code: 'NO_GRANT',
    grant: 'g1',
    detail: 'no grant covers this case',
    instance: '/v1/x',
  })
})

t.test('unknown errors become a bare 500 that leaks nothing', async (t) => {
  const error = toGatewayError(new TypeError('secret internals at /srv/app.ts:12'))
  t.equal(error.code, 'INTERNAL')
  t.notMatch(JSON.stringify(toProblem(error)), /secret|app\.ts/)
  const sqlite = Object.assign(new Error('SQLITE_BUSY: database is locked'), {
    name: 'SqliteError',
    code: 'SQLITE_BUSY',
  })
  const busy = toGatewayError(sqlite)
  t.equal(busy.code, 'STORAGE_UNAVAILABLE')
  t.notMatch(JSON.stringify(toProblem(busy)), /SQLITE/)
})
