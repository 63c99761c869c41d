/**
 * Generated from openapi/adapter.yaml by scripts/generate-types.mjs — do not edit.
 */

export interface paths {
    "/v1/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness of the adapter
         * @description Needs no token; the gateway polls it for its health view and the circuit breaker.
         */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/cases/{caseNo}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The case number, percent-encoded UTF-8; `(` `)` are accepted for `（` `）`.
                 * @example （2023）黑01民终1234号
                 */
                caseNo: components["parameters"]["CaseNo"];
            };
            cookie?: never;
        };
        /** The case summary */
        get: operations["getCase"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/cases/{caseNo}/volumes": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The case number, percent-encoded UTF-8; `(` `)` are accepted for `（` `）`.
                 * @example （2023）黑01民终1234号
                 */
                caseNo: components["parameters"]["CaseNo"];
            };
            cookie?: never;
        };
        /**
         * The volumes of the case with their documents
         * @description Lists the main volume(s) (正卷) and sub-volume(s) (副卷) with every document's size and SHA-256.
         *     The gateway decides main or sub from this catalogue, never from its client, and filters out what
         *     a grant does not cover; the adapter lists everything.
         *
         *     Revalidation is optional for a court (docs/courts.md#catalogue-cache). The gateway keeps a
         *     catalogue for a few seconds; an adapter that sends an `ETag` with it is afterwards asked with
         *     `If-None-Match` and answers `304` (no body) while the catalogue is unchanged. An adapter that sends
         *     no `ETag` gets no conditional requests and answers every one with the whole catalogue. A `304` to a
         *     request without `If-None-Match`, or an `ETag` that is not an entity tag, is refused as a bad answer.
         */
        get: operations["getVolumes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/cases/{caseNo}/documents/{documentId}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The case number, percent-encoded UTF-8; `(` `)` are accepted for `（` `）`.
                 * @example （2023）黑01民终1234号
                 */
                caseNo: components["parameters"]["CaseNo"];
                /**
                 * @description A document id from the volumes list; never contains `..`.
                 * @example main-05-judgment
                 */
                documentId: components["parameters"]["DocumentId"];
            };
            cookie?: never;
        };
        /**
         * The bytes of one document
         * @description Streams the document. `Content-Type` is the document's `mediaType` from the volumes list (e.g.
         *     `application/pdf`), `Content-Length` the number of bytes in this response.
         *
         *     - `If-None-Match` is evaluated first: a matching entity tag (weak comparison, or `*`) → `304`.
         *     - `Range` with one `bytes` range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) → `206` with
         *       `Content-Range`; a range that starts at or after the end, or `bytes=-0` → `416` with
         *       `Content-Range: bytes *\/<size>`. Multiple ranges, other units and malformed values are ignored
         *       (the whole document, `200`), as RFC 9110 §14.2 allows.
         *     - `If-Range` with an entity tag that does not match strongly → the whole document, `200`.
         *     - `Repr-Digest` is the SHA-256 of the whole document on `200` and on `206` alike.
         *     - `Volume-Kind` (optional) names the volume the document is in now, `main` or `sub`. The gateway
         *       may decide a read from a catalogue it fetched a few seconds earlier; with this header it checks
         *       that the document has not moved to the sub-volume since, and needs no fresh catalogue for a
         *       main-volume read (docs/courts.md#catalogue-cache).
         */
        get: operations["getDocument"];
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
        Health: {
            /** @enum {string} */
            status: "ok";
        };
        Case: {
            /**
             * @description The case number with full-width parentheses.
             * @example （2023）黑01民终1234号
             */
            caseNo: string;
            /**
             * @description The court code (e.g. `黑01` 哈尔滨市中级人民法院, `黑0103` 南岗区人民法院).
             * @example 黑01
             */
            court: string;
            /**
             * @description The case-type code from the case number (`民初`, `民终`, `执`, `执恢`, …).
             * @example 民终
             */
            caseType: string;
            /** @description The case title (案由 and parties), in Chinese. */
            title: string;
            /**
             * @description `open` 在办, `suspended` 中止, `closed` 已结 (including enforcement ended for now).
             * @enum {string}
             */
            status: "open" | "suspended" | "closed";
            /**
             * Format: date
             * @description The day the case was filed (立案日期).
             */
            filedOn: string;
            /**
             * Format: date
             * @description The day the case was closed (结案日期); absent while open.
             */
            closedOn?: string;
        };
        Volumes: {
            caseNo: string;
            volumes: components["schemas"]["Volume"][];
        };
        Volume: {
            /** @example main */
            id: string;
            /**
             * @description `main` 正卷 (what parties may see), `sub` 副卷 (internal and confidential).
             * @enum {string}
             */
            kind: "main" | "sub";
            /** @example 正卷 */
            title: string;
            documents: components["schemas"]["Document"][];
        };
        Document: {
            /**
             * @description Unique within the case (the document URL names no volume); never contains `..`.
             * @example main-05-judgment
             */
            id: string;
            /** @example 民事判决书 */
            title: string;
            /**
             * @description The `Content-Type` the document is served with.
             * @example application/pdf
             */
            mediaType: string;
            /** @description Bytes of the whole document (at most 2^53 − 1, the largest exact JSON integer). */
            size: number;
            /** @description SHA-256 of the whole document, lowercase hex; the same value as `Repr-Digest`. */
            sha256: string;
            pages?: number;
        };
        /** @description RFC 9457 problem details. Extension members are allowed (RFC 9457 §3.2), so the object is open. */
        Problem: {
            /**
             * Format: uri-reference
             * @example urn:court-file-gateway:problem:not-found
             */
            type: string;
            title: string;
            status: number;
            /** @description Stable error code, e.g. `UNAUTHENTICATED`, `NOT_FOUND`, `VALIDATION_FAILED`, `RANGE_NOT_SATISFIABLE`. */
            code: string;
            detail?: string;
            instance?: string;
        };
        /**
         * @description The payload of the gateway's token (see the `gatewayToken` security scheme). The JWS header's
         *     `alg` is `EdDSA` or `ES256`; its `kid` names a key in the gateway's JWKS. Other claims may be
         *     present and are ignored.
         */
        GatewayTokenClaims: {
            /**
             * @description The gateway's issuer name.
             * @example court-file-gateway
             */
            iss: string;
            /**
             * @description The code of the court whose file is read.
             * @example 黑01
             */
            aud: string;
            /** @description The reader (the prosecutor's subject id). */
            sub: string;
            /**
             * @description The reader's procuratorate (directory code).
             * @example 230100
             */
            org: string;
            /** @description The id of the grant the read is made under. */
            grant: string;
            /** @description The supervision case the read serves. */
            purpose: string;
            /** @description The index of the access-log intent entry written for this read. */
            log: number;
            /** @description Issued at, seconds since the epoch. */
            iat: number;
            /** @description Expiry, seconds since the epoch; at most 60 seconds after `iat`. */
            exp: number;
        };
    };
    responses: {
        /** @description A malformed request, e.g. an id that does not match the id pattern. */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The gateway's token is missing or refused. */
        Unauthenticated: {
            headers: {
                /** @description `Bearer realm="…"`, with `error="invalid_token"` when a token was sent (RFC 6750). */
                "WWW-Authenticate"?: string;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "urn:court-file-gateway:problem:unauthenticated",
                 *       "title": "Authentication required",
                 *       "status": 401,
                 *       "code": "UNAUTHENTICATED",
                 *       "detail": "the token has expired"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Unknown case, or no such document in this case. */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "urn:court-file-gateway:problem:not-found",
                 *       "title": "Not found",
                 *       "status": 404,
                 *       "code": "NOT_FOUND",
                 *       "detail": "no such case"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
        /**
         * @description The case number, percent-encoded UTF-8; `(` `)` are accepted for `（` `）`.
         * @example （2023）黑01民终1234号
         */
        CaseNo: string;
        /**
         * @description A document id from the volumes list; never contains `..`.
         * @example main-05-judgment
         */
        DocumentId: string;
    };
    requestBodies: never;
    headers: {
        /** @description Bytes in this response body. */
        ContentLength: number;
        /** @description A strong entity tag of the document; the reference adapter uses the quoted SHA-256 in hex. */
        ETag: string;
        /**
         * @description Optional: an entity tag (RFC 9110 §8.8.3) of the catalogue, changed whenever anything in it changes
         *     (a document added, removed, moved to another volume, or with other bytes). The reference adapter
         *     uses the quoted SHA-256 of the catalogue's JSON.
         */
        CatalogueETag: string;
        /** @description Optional: the volume the document is in now, as the catalogue would list it at this moment. */
        VolumeKind: "main" | "sub";
        /**
         * @description RFC 9530 digest of the whole document (not of the range): `sha-256=:<base64 of the SHA-256>:`.
         *     The base64 value decodes to the bytes whose hex is the document's `sha256`.
         * @example sha-256=:DvLivvBK4LPccI2QuxvbVLi66EQ2rfVXMJSB42iNFSI=:
         */
        ReprDigest: string;
        /** @description Adapters serve byte ranges. */
        AcceptRanges: "bytes";
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The adapter is up. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    getCase: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The case number, percent-encoded UTF-8; `(` `)` are accepted for `（` `）`.
                 * @example （2023）黑01民终1234号
                 */
                caseNo: components["parameters"]["CaseNo"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The case. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Case"];
                };
            };
            401: components["responses"]["Unauthenticated"];
            404: components["responses"]["NotFound"];
        };
    };
    getVolumes: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The `ETag` of the catalogue the gateway holds; sent only to adapters that sent one.
                 * @example "4b1f0c2e9a7d3f58"
                 */
                "If-None-Match"?: string;
            };
            path: {
                /**
                 * @description The case number, percent-encoded UTF-8; `(` `)` are accepted for `（` `）`.
                 * @example （2023）黑01民终1234号
                 */
                caseNo: components["parameters"]["CaseNo"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The volumes. */
            200: {
                headers: {
                    ETag: components["headers"]["CatalogueETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Volumes"];
                };
            };
            /** @description The catalogue named by `If-None-Match` is current; no body. */
            304: {
                headers: {
                    ETag: components["headers"]["CatalogueETag"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthenticated"];
            404: components["responses"]["NotFound"];
        };
    };
    getDocument: {
        parameters: {
            query?: never;
            header?: {
                /** @example bytes=0-1023 */
                Range?: string;
                /** @example "0ef2e2bef04ae0b3dc708d90bb1bdb54b8bae84436adf557309481e3688d1522" */
                "If-None-Match"?: string;
                "If-Range"?: string;
            };
            path: {
                /**
                 * @description The case number, percent-encoded UTF-8; `(` `)` are accepted for `（` `）`.
                 * @example （2023）黑01民终1234号
                 */
                caseNo: components["parameters"]["CaseNo"];
                /**
                 * @description A document id from the volumes list; never contains `..`.
                 * @example main-05-judgment
                 */
                documentId: components["parameters"]["DocumentId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The whole document. */
            200: {
                headers: {
                    "Content-Length": components["headers"]["ContentLength"];
                    ETag: components["headers"]["ETag"];
                    "Repr-Digest": components["headers"]["ReprDigest"];
                    "Accept-Ranges": components["headers"]["AcceptRanges"];
                    "Volume-Kind": components["headers"]["VolumeKind"];
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            /** @description One range of the document. */
            206: {
                headers: {
                    "Content-Length": components["headers"]["ContentLength"];
                    /** @description `bytes <first>-<last>/<size>`, both positions inclusive. */
                    "Content-Range": string;
                    ETag: components["headers"]["ETag"];
                    "Repr-Digest": components["headers"]["ReprDigest"];
                    "Accept-Ranges": components["headers"]["AcceptRanges"];
                    "Volume-Kind": components["headers"]["VolumeKind"];
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            /** @description The client's copy (named by `If-None-Match`) is current; no body. */
            304: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    "Volume-Kind": components["headers"]["VolumeKind"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthenticated"];
            404: components["responses"]["NotFound"];
            /** @description The range lies outside the document. */
            416: {
                headers: {
                    /** @description `bytes *\/<size>`. */
                    "Content-Range": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
}
