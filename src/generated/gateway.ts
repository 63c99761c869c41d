/**
 * Generated from openapi/gateway.yaml by scripts/generate-types.mjs — do not edit.
 */

export interface paths {
    "/v1/grants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List grants
         * @description The grants the caller may see: a prosecutor sees the grants they created or are a member of, an approver of a procuratorate sees that procuratorate's grants; nobody else holds or sees grants. `status` is the effective status, so a grant past its `expiresAt` is listed as `expired`.
         */
        get: operations["listGrants"];
        put?: never;
        /**
         * Open a grant
         * @description A prosecutor opens a grant for one case of one court under an accepted supervision case. The gateway checks the case number, the court, the case type, the jurisdiction and that the case exists at the court's adapter. Main-only grants are `active` at once; grants that include `sub` are `pending` until an approver of the same procuratorate approves them. `days` defaults to and is capped by the configured grant length (90 days by default). A person has at most one open (pending or active) grant per case and supervision case: a second one is `409 DUPLICATE_GRANT`, naming the open grant.
         */
        post: operations["createGrant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        /**
         * Get a grant
         * @description One grant, to its creator, its members and the approvers of its procuratorate: the grants that `GET /v1/grants` lists to the caller. Any other grant (another procuratorate's, or a colleague's that does not name the caller) is answered exactly like a missing one (`404 NOT_FOUND`). Callers whose role holds no grants get `403 FORBIDDEN` whatever the id, so no id's existence is disclosed.
         */
        get: operations["getGrant"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}/approve": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Approve a pending grant
         * @description An approver of the grant's procuratorate approves a pending grant; it becomes `active` and the approver is named (`purpose.approvedBy`) in every access-log entry of reads through it. Four eyes: the creator and the members of a grant never approve it, whatever roles they hold (`403 FORBIDDEN`). A grant of another procuratorate is answered like a missing one (`404 NOT_FOUND`). Only a pending grant can be approved: an active, rejected or revoked one is `409 INVALID_TRANSITION`, an expired one `403 GRANT_EXPIRED`.
         */
        post: operations["approveGrant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}/reject": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Reject a pending grant
         * @description An approver of the grant's procuratorate (never its creator or a member) rejects a pending grant; it never reads anything. The same refusals as for approving apply.
         */
        post: operations["rejectGrant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke a grant
         * @description The creator, or an approver of the grant's procuratorate, ends a pending or active grant before it expires. It takes effect at once: the next read through the grant is refused (`GRANT_NOT_ACTIVE`). Revoking a rejected, revoked or expired grant is `409 INVALID_TRANSITION`.
         */
        post: operations["revokeGrant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}/renew": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Renew a grant
         * @description The creator extends an active grant: it then expires `days` from now, which must be later than it expires already and never beyond 180 days from its creation (a loan of at most six months in total); otherwise `400 VALIDATION_FAILED`. `days` is at most the configured `policy.maxGrantDays`. A pending, rejected or revoked grant is `409 INVALID_TRANSITION`, an expired one `403 GRANT_EXPIRED` (open a new grant).
         */
        post: operations["renewGrant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}/case": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        /**
         * The case summary
         * @description The summary of the grant's case as the court's adapter reports it. Only the grant's creator and members read through a grant, and only while it is active; every read is written to the access log. A grant the caller may not see is answered like a missing one (`404 NOT_FOUND`), as by `GET /v1/grants/{id}`.
         */
        get: operations["getGrantCase"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}/volumes": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        /**
         * The volumes and their documents
         * @description The case's volumes with their documents. A sub-volume that the grant does not cover (or does not cover yet, while it is pending approval) is listed as `restricted: true` with a generic title and no documents, so nothing of its contents leaks.
         */
        get: operations["getGrantVolumes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}/documents/{documentId}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
                /** @description A document id from the volumes listing; `.` and any `..` are refused. */
                documentId: components["parameters"]["DocumentId"];
            };
            cookie?: never;
        };
        /**
         * Read a document
         * @description The document's bytes, streamed from the court's adapter while their SHA-256 is checked against the catalogue. Whether the document belongs to the main or the sub-volume is decided from the court's catalogue, never from the request. `Range` and `If-None-Match` pass through to the adapter. There is no `HEAD` (405): it would be a read of bytes nobody receives; the catalogue gives size and digest. The intent entry is durably logged before the court is contacted (its index is `Access-Log-Index`); if the log cannot be written nothing is served. A transfer cut mid-way is cut for the client too, never a short body that looks complete. The body is served as the catalogue's media type (PDF, OFD or a common image type; any other is refused with `DOCUMENT_TYPE_NOT_SERVED`) with `X-Content-Type-Options: nosniff`, never with the court's own `Content-Type`. Only a single byte range is passed on; a court answer the request could not have caused (a `206` without a `Range` or for another range, a body longer than catalogued) is refused. A transfer slower overall than `adapters.minimumBytesPerSecond` is cut, as is one through a grant revoked meanwhile (outcome `revoked`).
         */
        get: operations["getGrantDocument"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/courts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List courts
         * @description The courts of the directory, each with the id and status of the adapters serving its trial and execution files.
         */
        get: operations["listCourts"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List adapters
         * @description Operators see every adapter; a court-admin sees the adapters registered by their court.
         */
        get: operations["listAdapters"];
        put?: never;
        /**
         * Register an adapter
         * @description A court-admin registers the adapter of their own court. `covers` lists lower courts in that court's jurisdiction that the same adapter serves; `stores` defaults to both `trial` and `execution`. The adapter starts `pending` and serves nothing until an operator activates it. `baseUrl` must be https unless the gateway allows http, and its address must lie in the allowed networks. A `court` that is not in the directory is `400 VALIDATION_FAILED` (the problem's `field` is `court`).
         */
        post: operations["createAdapter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        /**
         * Get an adapter
         * @description One adapter, to operators and to the court-admins of its court.
         */
        get: operations["getAdapter"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change an adapter
         * @description A court-admin of the adapter's court changes its registration; the adapter goes back to `pending` and serves nothing until an operator activates it again (running the conformance checks on what it now is).
         */
        patch: operations["updateAdapter"];
        trace?: never;
    };
    "/v1/adapters/{id}/activate": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Activate an adapter
         * @description An operator activates an adapter after the gateway has run the conformance checks against it, the same as `court-file-gateway conformance` runs (health, case and volumes of `probeCase` against the contract, every document's size, SHA-256 and Repr-Digest, ranges, If-None-Match, 404s, and the refusal of every kind of bad token). A failed required check answers 422 with every check and its result; the adapter stays as it was. The checks of a successful activation are kept as the adapter's `conformance`.
         */
        post: operations["activateAdapter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}/suspend": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Suspend an adapter
         * @description An operator takes an adapter out of service; reads of the courts it served answer 503 until another is active.
         */
        post: operations["suspendAdapter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}/health": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        /**
         * Adapter health
         * @description The adapter's circuit breaker and its last active health check (operators, and the court-admins of the adapter's court). The breaker opens after the configured number of consecutive failed requests, stays open for the cooldown, then one half-open probe decides; a passing health check does not close an open breaker by itself.
         */
        get: operations["getAdapterHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The gateway's public request-signing keys
         * @description The public keys with which adapters verify the JWTs the gateway signs for each request it sends them.
         */
        get: operations["getJwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/entries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Query the access log
         * @description Entries matching every given filter, in index order. A court's auditor sees only entries about its own court. Follow `nextCursor` for the next page; it is absent on the last one. The query itself is logged.
         */
        get: operations["listAuditEntries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/entries/{index}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The index of an access-log entry. */
                index: components["parameters"]["AuditIndex"];
            };
            cookie?: never;
        };
        /**
         * One access-log entry
         * @description The entry and `leaf`, the base64 of the exact logged bytes (RFC 8785 canonical JSON) that the Merkle tree hashes.
         */
        get: operations["getAuditEntry"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/entries/{index}/receipt": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The index of an access-log entry. */
                index: components["parameters"]["AuditIndex"];
            };
            cookie?: never;
        };
        /**
         * An offline-verifiable receipt for one entry
         * @description A C2SP `tlog-proof` file: the entry's index, its inclusion proof and the signed checkpoint it is proved against. `court-file-gateway verify --key KEYFILE --receipt FILE --entry FILE` checks it with no server. 404 while the entry is not yet inside a published checkpoint.
         */
        get: operations["getAuditEntryReceipt"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/checkpoint": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The latest signed checkpoint
         * @description A C2SP tlog-checkpoint (origin, tree size, base64 root hash) signed as a C2SP signed note with Ed25519.
         */
        get: operations["getCheckpoint"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/patterns": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The thresholds of the patterns worth a second look
         * @description The gateway's configuration `console.patterns` (docs/auditors.md#patterns), which the auditor console applies to the entries it reads.
         */
        get: operations["getPatternThresholds"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/key": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The checkpoint verifier key
         * @description The signed-note verifier key `<name>+<hex key id>+<base64(0x01‖pubkey)>`, the KEYFILE of `court-file-gateway verify`.
         */
        get: operations["getVerifierKey"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/proofs/inclusion": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Inclusion proof
         * @description The RFC 9162 inclusion proof of the leaf at `index` in the tree of `size` leaves (`index` < `size` ≤ the tree size).
         */
        get: operations["getInclusionProof"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/proofs/consistency": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Consistency proof
         * @description The RFC 9162 consistency proof between the trees of `from` and `to` leaves (0 < `from` ≤ `to` ≤ the tree size).
         */
        get: operations["getConsistencyProof"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Export the log
         * @description The logged leaves from `from` (inclusive, default 0) to `to` (exclusive, default the size of the latest signed checkpoint), one per line, byte for byte, so that `court-file-gateway verify --export` can recompute the root of a checkpoint. Only auditors who see the whole log (not a court's auditor) export.
         */
        get: operations["exportAudit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness
         * @description 200 while the process serves requests.
         */
        get: operations["healthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readiness
         * @description 200 when the store and the access log can be written and, when shared limits are configured (`redis.url`), Redis answers (check `redis`; not required with `redis.onUnavailable: allow-all`, where nothing depends on it); 503 otherwise, so a load balancer sends no traffic. The access-log check takes the database's write lock and lets it go, writing nothing; it answers within 3 seconds.
         */
        get: operations["readyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This document
         * @description This OpenAPI document as JSON.
         */
        get: operations["getOpenApiDocument"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * API reference
         * @description An HTML reference rendered from this document.
         */
        get: operations["getDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/console": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Auditor console
         * @description The auditor console (docs/auditors.md#the-console): a page that reads the access log through this API with the auditor's own token and verifies checkpoints and proofs in the browser. Served with a strict Content-Security-Policy; its scripts and styles live under /console/assets/ with content-hashed names. 404 when the gateway was started without a build of the console (`npm run build`). The page is also the redirect URI of console sign-in (docs/auditors.md#signing-in): an issuer sends the browser back to it with the authorisation response (RFC 6749 section 4.1.2, RFC 9207), which only the page reads.
         */
        get: operations["getConsole"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/console/sign-in": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Issuers the console signs in with
         * @description The trusted issuers that offer console sign-in (`identity.issuers[].consoleSignIn`, docs/operators.md#console-sign-in): where the browser discovers each one and what it asks for. The console runs the OIDC authorisation-code flow with PKCE against them and uses the access token as the bearer token of every API call. Public: it names client ids and addresses, no secret.
         */
        get: operations["getConsoleSignIn"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        ConsoleSignIn: {
            issuers: {
                /** @description The `iss` of its tokens; the discovery document must name the same. */
                issuer: string;
                /** @description What the sign-in button says. */
                label: string;
                /** @description The console's client id at the issuer (a public client). */
                clientId: string;
                /** @description The scopes asked for. */
                scopes: string[];
                /** @description Its OpenID Connect discovery document. */
                discoveryUrl: string;
                /** @description An RFC 8707 resource indicator sent with the authorisation and token requests. */
                resource?: string;
            }[];
        };
        PatternThresholds: {
            /** @description Distinct cases one person may read in a day (China Standard Time) before it is flagged. */
            manyCasesPerDay: number;
            /** @description The daily document quota (by default the gateway's limits.documentsPerDay). */
            dailyQuota: number;
            /** @description The fraction of the daily quota that counts as close to it. */
            quotaWarningFraction: number;
            workingHours: {
                /** @description First working hour, CST. */
                start: number;
                /** @description First hour after work, CST. */
                end: number;
                /** @description Working weekdays, 0 = Sunday. */
                weekdays: number[];
            };
            /** @description A sub-volume read needs a main-volume read of the same case by the same person within this many days. */
            recentMainReadDays: number;
            /** @description A grant approved within this many minutes of its creation is a quick approval. */
            quickApprovalMinutes: number;
            /** @description Quick approvals by the same creator and approver before they are flagged. */
            quickApprovalsPerPair: number;
        };
        Id: string;
        /** @description A leaf index or tree size of the access log, as decimal digits. */
        LogIndex: string;
        /** @description A court code of the directory, e.g. `黑01`. */
        CourtCode: string;
        /** @enum {string} */
        VolumeKind: "main" | "sub";
        /**
         * @description `trial` holds civil trial files, `execution` civil enforcement files.
         * @enum {string}
         */
        Store: "trial" | "execution";
        Binary: string;
        /** @description An RFC 9457 problem. Some codes add members, e.g. `errors` for `VALIDATION_FAILED`. */
        Problem: {
            type: string;
            title: string;
            status: number;
            /** @enum {string} */
            code: "VALIDATION_FAILED" | "INVALID_CASE_NUMBER" | "INVALID_PROOF_REQUEST" | "UNAUTHENTICATED" | "FORBIDDEN" | "NO_GRANT" | "OUT_OF_JURISDICTION" | "SUB_VOLUME_NOT_APPROVED" | "GRANT_EXPIRED" | "GRANT_NOT_ACTIVE" | "CASE_TYPE_OUT_OF_SCOPE" | "NOT_FOUND" | "METHOD_NOT_ALLOWED" | "REQUEST_TIMEOUT" | "CONFLICT" | "INVALID_TRANSITION" | "DUPLICATE_GRANT" | "ADAPTER_CONFLICT" | "PAYLOAD_TOO_LARGE" | "URI_TOO_LONG" | "UNSUPPORTED_MEDIA_TYPE" | "RANGE_NOT_SATISFIABLE" | "CONFORMANCE_FAILED" | "RATE_LIMITED" | "HEADERS_TOO_LARGE" | "INTERNAL" | "ADAPTER_BAD_RESPONSE" | "DOCUMENT_INTEGRITY_FAILED" | "DOCUMENT_TYPE_NOT_SERVED" | "ADAPTER_UNAVAILABLE" | "ACCESS_LOG_UNAVAILABLE" | "STORAGE_UNAVAILABLE" | "LIMITS_UNAVAILABLE" | "ADAPTER_TIMEOUT";
            detail?: string;
            instance?: string;
        } & {
            [key: string]: unknown;
        };
        /** @description A `CONFORMANCE_FAILED` problem with every conformance check and its result. */
        ConformanceFailure: components["schemas"]["Problem"] & {
            checks: components["schemas"]["ConformanceCheck"][];
        };
        /** @description One check of the adapter contract (docs/courts.md#conformance-checks), as sent and as answered. */
        ConformanceCheck: {
            name: string;
            /** @description Every required check must pass; the others are reported only. */
            required: boolean;
            /** @enum {string} */
            outcome: "pass" | "fail" | "skip";
            /** @description `outcome` is `pass`. */
            ok: boolean;
            /** @description The request, its token shown as `Bearer <token>`. */
            sent: string;
            /** @description Status, the contract's headers and the start of the body; `nothing` when no answer came. */
            received: string;
            /** @description Why the check failed or was skipped. */
            detail?: string;
        };
        /** @description The conformance checks of the adapter's last successful activation. */
        ConformanceResult: {
            /** Format: date-time */
            checkedAt: string;
            passed: boolean;
            checks: components["schemas"]["ConformanceCheck"][];
        };
        GrantCreate: {
            court: components["schemas"]["CourtCode"];
            /** @description The case number (案号), e.g. `（2023）黑01民终123号`; half-width parentheses are accepted and normalised. */
            caseNo: string;
            /** @description The number of the procuratorate's accepted supervision case. */
            supervisionCase: string;
            /** @description `[main]`, or `[main, sub]` (in either order) for a grant that needs approval. */
            volumes: components["schemas"]["VolumeKind"][];
            reason: string;
            /** @description Colleagues of the creator's procuratorate who may read through the grant too. A member is a `sub` of that procuratorate, or qualified as `ORG/sub` where `ORG` is the creator's procuratorate code (e.g. `230100/li.na`); everything before the first `/` is read as the organisation, so a `sub` that contains `/` must be qualified. Members of another organisation are refused with `400 VALIDATION_FAILED` (the problem's `member` names the first one): a token of another organisation never reads through a grant, whatever its `sub`. The stored list holds bare `sub`s, without duplicates and without the creator. */
            members?: string[];
            /** @description The grant's length; default and maximum the configured grant length. */
            days?: number;
        };
        GrantApprove: {
            note?: string;
        };
        GrantReject: {
            reason?: string;
        };
        GrantRevoke: {
            reason?: string;
        };
        GrantRenew: {
            days: number;
        };
        /**
         * @description `expired` is derived from `expiresAt`: a pending or active grant past it is expired.
         * @enum {string}
         */
        GrantStatus: "pending" | "active" | "rejected" | "revoked" | "expired";
        Grant: {
            id: components["schemas"]["Id"];
            status: components["schemas"]["GrantStatus"];
            court: string;
            /** @description The normalised case number, with full-width parentheses. */
            caseNo: string;
            supervisionCase: string;
            volumes: components["schemas"]["VolumeKind"][];
            reason: string;
            /** @description The procuratorate of the creator; members are always of it. */
            org: string;
            createdBy: string;
            members: string[];
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            expiresAt: string;
            approvedBy?: string;
            /** Format: date-time */
            approvedAt?: string;
            /** @description The approver's note or the reason of a rejection or revocation. */
            decisionNote?: string;
            rejectedBy?: string;
            /** Format: date-time */
            rejectedAt?: string;
            revokedBy?: string;
            /** Format: date-time */
            revokedAt?: string;
        };
        GrantList: {
            items: components["schemas"]["Grant"][];
        };
        Case: {
            caseNo: string;
            court: string;
            /** @description The case-type code of the case number, e.g. `民终` or `执`. */
            caseType: string;
            title: string;
            status: string;
            /** Format: date */
            filedOn: string;
            /** Format: date */
            closedOn?: string;
        };
        DocumentSummary: {
            id: string;
            title: string;
            mediaType: string;
            size: number;
            /** @description The SHA-256 of the document's bytes, lowercase hex, as the court's catalogue gives it. */
            sha256: string;
            pages?: number;
        };
        Volume: {
            id: string;
            kind: components["schemas"]["VolumeKind"];
            /** @description For a restricted sub-volume a generic title only. */
            title: string;
            /** @description True for a sub-volume the grant does not cover; it then has no documents. */
            restricted: boolean;
            documents?: components["schemas"]["DocumentSummary"][];
        };
        Volumes: {
            caseNo: string;
            court: string;
            volumes: components["schemas"]["Volume"][];
        };
        AdapterRef: {
            id: components["schemas"]["Id"];
            status: components["schemas"]["AdapterStatus"];
        };
        Court: {
            code: string;
            name: string;
            /** @enum {string} */
            level: "high" | "intermediate" | "basic";
            /** @description The GB/T 2260 region code. */
            region: string;
            parent?: string;
            /** @description A railway-transport, forestry-region or land-reclamation court. */
            special?: boolean;
            /** @description The adapters serving this court's files, by store; a store without one is absent. */
            adapters: {
                trial?: components["schemas"]["AdapterRef"];
                execution?: components["schemas"]["AdapterRef"];
            };
        };
        Courts: {
            items: components["schemas"]["Court"][];
        };
        AdapterCreate: {
            court: components["schemas"]["CourtCode"];
            /** Format: uri */
            baseUrl: string;
            /** @description Lower courts in the registering court's jurisdiction that this adapter serves too. */
            covers?: components["schemas"]["CourtCode"][];
            /** @description The file stores the adapter serves; default both. */
            stores?: components["schemas"]["Store"][];
            description?: string;
            /** @description A PEM CA certificate (or bundle) to verify the adapter's TLS certificate with, if not publicly trusted. */
            caCertificate?: string;
            /** @description A case number the conformance checks may read. */
            probeCase?: string;
        };
        AdapterUpdate: {
            court?: components["schemas"]["CourtCode"];
            /** Format: uri */
            baseUrl?: string;
            covers?: components["schemas"]["CourtCode"][];
            stores?: components["schemas"]["Store"][];
            description?: string;
            caCertificate?: string;
            probeCase?: string;
        };
        /** @enum {string} */
        AdapterStatus: "pending" | "active" | "suspended";
        /** @description A registered adapter. The CA certificate is not echoed. */
        Adapter: {
            id: components["schemas"]["Id"];
            court: string;
            baseUrl: string;
            covers: string[];
            stores: components["schemas"]["Store"][];
            description?: string;
            probeCase?: string;
            status: components["schemas"]["AdapterStatus"];
            createdBy: string;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            /** Format: date-time */
            activatedAt?: string;
            /** Format: date-time */
            suspendedAt?: string;
            conformance?: components["schemas"]["ConformanceResult"];
        };
        AdapterList: {
            items: components["schemas"]["Adapter"][];
        };
        AdapterHealth: {
            /**
             * @description `up` when the breaker is closed and the last health check passed, `degraded` while half-open, `down` when the breaker is open or the last check failed, `unknown` before the first check.
             * @enum {string}
             */
            status: "up" | "degraded" | "down" | "unknown";
            breaker: {
                /** @enum {string} */
                state: "closed" | "open" | "half-open";
                consecutiveFailures: number;
                /** Format: date-time */
                openedAt?: string;
            };
            /** @description Absent before the first health check. */
            lastHealthCheck?: {
                /** Format: date-time */
                at: string;
                ok: boolean;
                latencyMs: number;
            };
        };
        Jwks: {
            keys: {
                [key: string]: unknown;
            }[];
        };
        /** @description One access-log entry (docs/architecture.md#entry-format, a contract). Fields that do not apply are left out. Its leaf bytes are the entry as RFC 8785 canonical JSON. */
        AccessLogEntry: {
            /** @description The entry format version. */
            v: number;
            /** Format: date-time */
            time: string;
            requestId?: string;
            actor?: {
                sub?: string;
                org?: string;
                roles?: string[];
                issuer?: string;
            };
            /** @description E.g. `document.read`, `volumes.read`, `case.read`, `grant.create`, `grant.approve`, `adapter.activate`, `audit.query`. */
            action: string;
            resource?: {
                court?: string;
                caseNo?: string;
                grant?: string;
                document?: string;
                volume?: string;
                adapter?: string;
            };
            purpose?: {
                supervisionCase?: string;
                approvedBy?: string;
            };
            /** @enum {string} */
            phase: "intent" | "outcome" | "event";
            /** @enum {string} */
            decision?: "allow" | "deny";
            /** @description The error code of a denial. */
            reason?: string;
            /** @description For an outcome, the index of its intent entry. */
            intent?: number;
            outcome?: {
                /**
                 * @description `aborted`: the client left; `revoked`: the grant was revoked during the read; `interrupted`: the gateway stopped (crash) before the outcome.
                 * @enum {string}
                 */
                result?: "completed" | "aborted" | "revoked" | "interrupted" | "failed";
                status?: number;
                bytes?: number;
                sha256?: string;
                durationMs?: number;
            };
            /** @description The base64 leaf hash of the entry before this one. */
            prev?: string;
            detail?: {
                [key: string]: unknown;
            };
        };
        AuditEntries: {
            items: {
                index: number;
                entry: components["schemas"]["AccessLogEntry"];
            }[];
            /** @description Absent on the last page. */
            nextCursor?: string;
        };
        AuditEntry: {
            index: number;
            entry: components["schemas"]["AccessLogEntry"];
            /** @description Base64 of the exact logged bytes. */
            leaf: string;
        };
        InclusionProof: {
            index: number;
            size: number;
            /** @description The proof's hashes, base64, leaf side first. */
            proof: string[];
        };
        ConsistencyProof: {
            from: number;
            to: number;
            /** @description The proof's hashes, base64. */
            proof: string[];
        };
        Health: {
            /** @enum {string} */
            status: "ok";
        };
        Readiness: {
            /** @enum {string} */
            status: "ready" | "unavailable";
            /** @description Each condition of readiness and whether it holds. */
            checks: {
                /** @description An access-log entry could be written now: the log's writer takes the database's write lock (the grants and adapters share that database). */
                accessLog: boolean;
                /** @description False once the gateway is shutting down. */
                serving: boolean;
            } & {
                [key: string]: boolean;
            };
        };
    };
    responses: {
        /** @description The request is invalid (`VALIDATION_FAILED`, `INVALID_CASE_NUMBER`, `INVALID_PROOF_REQUEST`). Every operation refuses query parameters it does not declare. */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No valid bearer token (`UNAUTHENTICATED`). */
        Unauthenticated: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The caller may not do this (`FORBIDDEN`, `NO_GRANT`, `OUT_OF_JURISDICTION`, `SUB_VOLUME_NOT_APPROVED`, `GRANT_EXPIRED`, `GRANT_NOT_ACTIVE`, `CASE_TYPE_OUT_OF_SCOPE`). */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No such resource, or none the caller may know of (`NOT_FOUND`). */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The path exists but not with this method (`METHOD_NOT_ALLOWED`); `Allow` lists its methods. */
        MethodNotAllowed: {
            headers: {
                Allow: string;
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request was not received in time (`REQUEST_TIMEOUT`); the connection is closed. */
        RequestTimeout: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request target is longer than 8 KiB (`URI_TOO_LONG`). */
        UriTooLong: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request line and headers exceed 16 KiB (`HEADERS_TOO_LARGE`); the connection is closed. */
        HeadersTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The resource's state does not allow this (`CONFLICT`, `INVALID_TRANSITION`, `DUPLICATE_GRANT`, `ADAPTER_CONFLICT`). */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request body is too large (`PAYLOAD_TOO_LARGE`). */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`). */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The requested range lies outside the document (`RANGE_NOT_SATISFIABLE`). */
        RangeNotSatisfiable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Too many requests, or the daily document quota is used up (`RATE_LIMITED`). */
        RateLimited: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The court's adapter answered wrongly or sent bytes that failed their digest (`ADAPTER_BAD_RESPONSE`, `DOCUMENT_INTEGRITY_FAILED`), or the catalogue names a media type the gateway does not serve (`DOCUMENT_TYPE_NOT_SERVED`). */
        BadGateway: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No active adapter serves the court, its breaker is open, the access log cannot be written, or the shared limits in Redis cannot be counted (`ADAPTER_UNAVAILABLE`, `ACCESS_LOG_UNAVAILABLE`, `LIMITS_UNAVAILABLE`; the last for document reads while Redis is down, and for every limited request unless `redis.onUnavailable` lets them through). */
        ServiceUnavailable: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The court's adapter did not answer in time (`ADAPTER_TIMEOUT`). */
        GatewayTimeout: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
        /** @description The grant id. */
        GrantId: components["schemas"]["Id"];
        /** @description The adapter id. */
        AdapterId: components["schemas"]["Id"];
        /** @description A document id from the volumes listing; `.` and any `..` are refused. */
        DocumentId: string;
        /** @description The index of an access-log entry. */
        AuditIndex: components["schemas"]["LogIndex"];
        /** @description The `nextCursor` of the previous page. */
        Cursor: string;
        /** @description The most items on one page (default 100). */
        Limit: number;
    };
    requestBodies: never;
    headers: {
        /** @description The index of the access-log entry that records this read's intent. */
        AccessLogIndex: string;
        /** @description Always `no-store`; court files are never cached by intermediaries. */
        CacheControl: string;
        /** @description The SHA-256 of the whole document (RFC 9530), e.g. `sha-256=:<base64>:`. */
        ReprDigest: string;
        /** @description The document's entity tag as the court's adapter gives it. */
        ETag: string;
        /** @description `bytes`. */
        AcceptRanges: string;
        /** @description The range served, e.g. `bytes 0-1023/52311`. */
        ContentRange: string;
        /** @description The number of bytes in the body. */
        ContentLength: string;
        /** @description Always `nosniff`, so a browser renders the document only as its catalogued media type. */
        ContentTypeOptions: "nosniff";
        /** @description Seconds to wait before trying again. */
        RetryAfter: string;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    listGrants: {
        parameters: {
            query?: {
                /** @description Only grants of this effective status. */
                status?: components["schemas"]["GrantStatus"];
                /** @description The most items on one page (default 100). */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The grants, newest first. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GrantList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createGrant: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["GrantCreate"];
            };
        };
        responses: {
            /** @description The new grant. */
            201: {
                headers: {
                    /** @description The grant's URL. */
                    Location: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
        };
    };
    getGrant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The grant. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    approveGrant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["GrantApprove"];
            };
        };
        responses: {
            /** @description The approved grant. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    rejectGrant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["GrantReject"];
            };
        };
        responses: {
            /** @description The rejected grant. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    revokeGrant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["GrantRevoke"];
            };
        };
        responses: {
            /** @description The revoked grant. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    renewGrant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["GrantRenew"];
            };
        };
        responses: {
            /** @description The renewed grant. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getGrantCase: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The case summary. */
            200: {
                headers: {
                    "Access-Log-Index": components["headers"]["AccessLogIndex"];
                    "Cache-Control": components["headers"]["CacheControl"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Case"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
        };
    };
    getGrantVolumes: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The volumes. */
            200: {
                headers: {
                    "Access-Log-Index": components["headers"]["AccessLogIndex"];
                    "Cache-Control": components["headers"]["CacheControl"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Volumes"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
        };
    };
    getGrantDocument: {
        parameters: {
            query?: never;
            header?: {
                /** @description A single byte range, e.g. `bytes=0-1023`. */
                Range?: string;
                /** @description An ETag from an earlier read; a match answers 304. */
                "If-None-Match"?: string;
            };
            path: {
                /** @description The grant id. */
                id: components["parameters"]["GrantId"];
                /** @description A document id from the volumes listing; `.` and any `..` are refused. */
                documentId: components["parameters"]["DocumentId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The whole document. */
            200: {
                headers: {
                    "Access-Log-Index": components["headers"]["AccessLogIndex"];
                    "Cache-Control": components["headers"]["CacheControl"];
                    "Repr-Digest": components["headers"]["ReprDigest"];
                    ETag: components["headers"]["ETag"];
                    "Accept-Ranges": components["headers"]["AcceptRanges"];
                    "Content-Length": components["headers"]["ContentLength"];
                    "X-Content-Type-Options": components["headers"]["ContentTypeOptions"];
                    [name: string]: unknown;
                };
                content: {
                    "*/*": components["schemas"]["Binary"];
                };
            };
            /** @description The requested byte range. */
            206: {
                headers: {
                    "Access-Log-Index": components["headers"]["AccessLogIndex"];
                    "Cache-Control": components["headers"]["CacheControl"];
                    "Repr-Digest": components["headers"]["ReprDigest"];
                    ETag: components["headers"]["ETag"];
                    "Accept-Ranges": components["headers"]["AcceptRanges"];
                    "Content-Range": components["headers"]["ContentRange"];
                    "Content-Length": components["headers"]["ContentLength"];
                    "X-Content-Type-Options": components["headers"]["ContentTypeOptions"];
                    [name: string]: unknown;
                };
                content: {
                    "*/*": components["schemas"]["Binary"];
                };
            };
            /** @description The client's copy (by `If-None-Match`) is current. */
            304: {
                headers: {
                    "Access-Log-Index": components["headers"]["AccessLogIndex"];
                    "Cache-Control": components["headers"]["CacheControl"];
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            416: components["responses"]["RangeNotSatisfiable"];
            429: components["responses"]["RateLimited"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
        };
    };
    listCourts: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The courts. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Courts"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listAdapters: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The adapters. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdapterList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AdapterCreate"];
            };
        };
        responses: {
            /** @description The registered adapter, `pending`. */
            201: {
                headers: {
                    /** @description The adapter's URL. */
                    Location: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Adapter"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The adapter. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Adapter"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AdapterUpdate"];
            };
        };
        responses: {
            /** @description The changed adapter, `pending`. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Adapter"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    activateAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The active adapter. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Adapter"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            /** @description The adapter failed the conformance checks (`CONFORMANCE_FAILED`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ConformanceFailure"];
                };
            };
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    suspendAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The suspended adapter. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Adapter"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getAdapterHealth: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The adapter id. */
                id: components["parameters"]["AdapterId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The adapter's health. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdapterHealth"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getJwks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A JWK Set (RFC 7517). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Jwks"];
                };
            };
            400: components["responses"]["BadRequest"];
        };
    };
    listAuditEntries: {
        parameters: {
            query?: {
                /** @description The `sub` of the person who acted. */
                actor?: string;
                /** @description The organisation code of the person who acted. */
                org?: string;
                /** @description The court code of the resource. */
                court?: string;
                /** @description The case number of the resource (half-width parentheses are normalised). */
                caseNo?: string;
                /** @description The grant id of the resource. */
                grant?: components["schemas"]["Id"];
                /** @description The action, e.g. `document.read`. */
                action?: string;
                decision?: "allow" | "deny";
                /** @description Entries at or after this time. */
                since?: string;
                /** @description Entries before this time. */
                until?: string;
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description The most items on one page (default 100). */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of entries. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEntries"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getAuditEntry: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The index of an access-log entry. */
                index: components["parameters"]["AuditIndex"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The entry. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEntry"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getAuditEntryReceipt: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The index of an access-log entry. */
                index: components["parameters"]["AuditIndex"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The receipt. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getCheckpoint: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The checkpoint. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getPatternThresholds: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The thresholds. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PatternThresholds"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getVerifierKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The verifier key. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getInclusionProof: {
        parameters: {
            query: {
                index: components["schemas"]["LogIndex"];
                size: components["schemas"]["LogIndex"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The proof. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InclusionProof"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getConsistencyProof: {
        parameters: {
            query: {
                from: components["schemas"]["LogIndex"];
                to: components["schemas"]["LogIndex"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The proof. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConsistencyProof"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    exportAudit: {
        parameters: {
            query?: {
                from?: components["schemas"]["LogIndex"];
                to?: components["schemas"]["LogIndex"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The leaves, newline-delimited. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/x-ndjson": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    healthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            400: components["responses"]["BadRequest"];
        };
    };
    readyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            400: components["responses"]["BadRequest"];
            /** @description Not ready. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
        };
    };
    getOpenApiDocument: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
        };
    };
    getDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The reference page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            400: components["responses"]["BadRequest"];
        };
    };
    getConsole: {
        parameters: {
            query?: {
                /** @description The authorisation code. */
                code?: string;
                /** @description The state the console sent. */
                state?: string;
                /** @description The issuer that answers (RFC 9207). */
                iss?: string;
                /** @description Why the issuer refused. */
                error?: string;
                error_description?: string;
                error_uri?: string;
                /** @description Sent by some issuers (OIDC Session Management); unused. */
                session_state?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The console page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            400: components["responses"]["BadRequest"];
            404: components["responses"]["NotFound"];
        };
    };
    getConsoleSignIn: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The issuers, in configuration order; empty when none offers sign-in. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConsoleSignIn"];
                };
            };
            400: components["responses"]["BadRequest"];
        };
    };
}
