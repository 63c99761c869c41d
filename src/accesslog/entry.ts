import type { ErrorCode } from '../http/errors.js'
import type { Principal } from '../identity/principal.js'

/** Access-log entry format version; bump on any change to the fields below. */
export const ENTRY_VERSION = 1
/** docs/architecture.md#entry-format: a leaf is at most 16 KiB of canonical JSON. */
export const MAX_LEAF_BYTES = 16 * 1024

export type Phase = 'intent' | 'outcome' | 'event'
/** `aborted`: the client left; `revoked`: the grant was revoked while the read ran; `interrupted`: a crash. */
export type OutcomeResult = 'completed' | 'aborted' | 'revoked' | 'interrupted' | 'failed'

/** One access-log entry (docs/architecture.md#entry-format, a contract). Fields that do not apply are left out, never null. */
export interface Entry {
  v: number
  time: string
  requestId?: string
  actor?: { sub: string; org: string; roles: string[]; issuer: string }
  action: string
  resource?: {
    court?: string
    caseNo?: string
    grant?: string
    document?: string
    volume?: string
    adapter?: string
  }
  purpose?: { supervisionCase?: string; approvedBy?: string }
  phase: Phase
  decision: 'allow' | 'deny'
  reason?: ErrorCode
  /** For outcomes: the index of the intent this outcome closes. */
  intent?: number
  outcome?: { result: OutcomeResult; status?: number; bytes?: number; sha256?: string; durationMs?: number }
  /** Free-form, non-secret context (e.g. the fields a grant change set). */
  detail?: Record<string, unknown>
  /** Base64 leaf hash of the entry before this one, set by the sequencer (absent on entry 0). */
  prev?: string
}

/** What callers hand to the log; the sequencer adds `v`, `time` (if absent) and `prev`. */
export type EntryInput = Omit<Entry, 'v' | 'prev' | 'time'> & { time?: string }

export function actorOf(principal: Principal): NonNullable<Entry['actor']> {
  return { sub: principal.sub, org: principal.org.code, roles: [...principal.roles], issuer: principal.issuer }
}
