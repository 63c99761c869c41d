/**
 * The one registry of coded errors. Clients see these as RFC 9457 problem+json with a stable `code`;
 * the codes are a contract (docs/architecture.md#errors), so test/unit/errors.ts locks every entry.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, title: 'Request validation failed' },
  INVALID_CASE_NUMBER: { status: 400, title: 'Invalid case number' },
  INVALID_PROOF_REQUEST: { status: 400, title: 'Invalid proof request' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NO_GRANT: { status: 403, title: 'No grant covers this read' },
  OUT_OF_JURISDICTION: { status: 403, title: 'Outside the jurisdiction of the procuratorate' },
  SUB_VOLUME_NOT_APPROVED: { status: 403, title: 'Sub-volume access has not been approved' },
  GRANT_EXPIRED: { status: 403, title: 'The grant has expired' },
  GRANT_NOT_ACTIVE: { status: 403, title: 'The grant is not active' },
  CASE_TYPE_OUT_OF_SCOPE: { status: 403, title: 'Case type outside the scope of supervision' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  CONFLICT: { status: 409, title: 'Conflict' },
  INVALID_TRANSITION: { status: 409, title: 'Invalid state transition' },
  DUPLICATE_GRANT: { status: 409, title: 'An open grant for this case already exists' },
  ADAPTER_CONFLICT: { status: 409, title: 'Another adapter already serves this court and store' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  URI_TOO_LONG: { status: 414, title: 'The request URI is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'Range not satisfiable' },
  CONFORMANCE_FAILED: { status: 422, title: 'Adapter failed the conformance checks' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  ADAPTER_BAD_RESPONSE: { status: 502, title: 'The court adapter gave an invalid response' },
  DOCUMENT_INTEGRITY_FAILED: { status: 502, title: 'The document failed its integrity check' },
  DOCUMENT_TYPE_NOT_SERVED: { status: 502, title: 'The document is of a media type the gateway does not serve' },
  ADAPTER_UNAVAILABLE: { status: 503, title: 'The court adapter is unavailable' },
  ACCESS_LOG_UNAVAILABLE: { status: 503, title: 'The access log cannot be written' },
  STORAGE_UNAVAILABLE: { status: 503, title: 'The gateway storage is unavailable' },
  LIMITS_UNAVAILABLE: { status: 503, title: 'The shared limits cannot be counted' },
  ADAPTER_TIMEOUT: { status: 504, title: 'The court adapter did not answer in time' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof ERRORS

/**
 * A coded error. Its message is written for the client and becomes `detail`, so it must never carry
 * internals: put those in `cause`, which only the server log sees.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly extra: Record<string, unknown> | undefined
  readonly headers: Record<string, string> | undefined

  constructor(
    code: ErrorCode,
    detail?: string,
    options?: { cause?: unknown; extra?: Record<string, unknown>; headers?: Record<string, string> },
  ) {
    super(detail ?? ERRORS[code].title, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GatewayError'
    this.code = code
    this.status = ERRORS[code].status
    this.extra = options?.extra
    this.headers = options?.headers
  }
}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError
}

export interface Problem {
  type: string
  title: string
  status: number
  code: ErrorCode
  detail?: string
  instance?: string
  [extension: string]: unknown
}

/** RFC 9457 body; internals of 5xx errors never reach it. */
export function toProblem(error: GatewayError, instance?: string): Problem {
  const problem: Problem = {
    type: `urn:court-file-gateway:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: ERRORS[error.code].title,
    status: error.status,
    code: error.code,
    ...(error.extra ?? {}),
  }
  problem.detail = error.message
  if (instance !== undefined) problem.instance = instance
  return problem
}
