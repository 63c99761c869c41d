import type { Thresholds } from './patterns.js'

/**
 * The console's only way to the gateway: same-origin requests with the auditor's bearer token. What comes back
 * is whatever the API decides this token may see; the console never filters by role itself.
 */
export class ApiError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

export interface Entry {
  v: number
  time: string
  requestId?: string
  actor?: { sub?: string; org?: string; roles?: string[]; issuer?: string }
  action: string
  resource?: Record<string, string | undefined>
  purpose?: { supervisionCase?: string; approvedBy?: string }
  phase: 'intent' | 'outcome' | 'event'
  decision?: 'allow' | 'deny'
  reason?: string
  intent?: number
  outcome?: { result?: string; status?: number; bytes?: number; sha256?: string; durationMs?: number }
  prev?: string
  detail?: Record<string, unknown>
}

export interface Item {
  index: number
  entry: Entry
}

export interface Page {
  items: Item[]
  nextCursor?: string
}

export type Filter = Partial<
  Record<'actor' | 'org' | 'court' | 'caseNo' | 'grant' | 'action' | 'decision' | 'since' | 'until', string>
>

export function api(token: string) {
  async function get(path: string): Promise<Response> {
    const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' })
    if (!response.ok) {
      let detail = response.statusText
      try {
        const problem = (await response.json()) as { title?: string; detail?: string; code?: string }
        detail = [problem.code, problem.detail ?? problem.title].filter(Boolean).join(': ')
      } catch {
        // Not problem+json: the status text says enough.
      }
      throw new ApiError(response.status, `${response.status} ${detail}`)
    }
    return response
  }
  const json = async <T>(path: string) => (await (await get(path)).json()) as T
  const text = async (path: string) => (await get(path)).text()
  return {
    entries: (filter: Filter, limit: number, cursor?: string) => {
      const query = new URLSearchParams(Object.entries(filter).filter((pair): pair is [string, string] => !!pair[1]))
      query.set('limit', String(limit))
      if (cursor) query.set('cursor', cursor)
      return json<Page>(`/v1/audit/entries?${query}`)
    },
    entry: (index: number) => json<Item & { leaf: string }>(`/v1/audit/entries/${index}`),
    receipt: (index: number) => text(`/v1/audit/entries/${index}/receipt`),
    checkpoint: () => text('/v1/audit/checkpoint'),
    patterns: () => json<Thresholds>('/v1/audit/patterns'),
    inclusion: (index: number, size: number) =>
      json<{ proof: string[] }>(`/v1/audit/proofs/inclusion?index=${index}&size=${size}`),
    consistency: (from: number, to: number) =>
      json<{ proof: string[] }>(`/v1/audit/proofs/consistency?from=${from}&to=${to}`),
  }
}

export type Api = ReturnType<typeof api>
