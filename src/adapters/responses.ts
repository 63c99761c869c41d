import type { ValidateFunction } from 'ajv'
import { GatewayError } from '../http/errors.js'
import { inlineSchema, type OpenApiSpec } from '../http/openapi.js'
import { type ObservedResponse, responseConformance } from '../http/response-conformance.js'
import { compileSchema } from '../http/schema-compiler.js'
import type { Adapter } from './types.js'

export interface AdapterDocument {
  id: string
  title: string
  mediaType: string
  size: number
  sha256: string
  pages?: number
}
export interface AdapterVolume {
  id: string
  kind: 'main' | 'sub'
  title: string
  documents: AdapterDocument[]
}
export interface AdapterVolumes {
  caseNo: string
  volumes: AdapterVolume[]
}
export interface AdapterCase {
  caseNo: string
  court: string
  caseType: string
  title: string
  status: string
  filedOn: string
  closedOn?: string
}

/**
 * Validates what adapters send against openapi/adapter.yaml's own schemas: an adapter answering nonsense
 * is a 502 naming the adapter, never a crash or garbage passed on to a prosecutor.
 */
export function createResponseValidators(adapterSpec: OpenApiSpec) {
  const schemas = (adapterSpec.components?.schemas ?? {}) as Record<string, unknown>
  const compile = (name: string): ValidateFunction => {
    if (!schemas[name]) throw new Error(`openapi/adapter.yaml has no schema ${name}`)
    return compileSchema('adapter-body', inlineSchema(adapterSpec, schemas[name]) as object)
  }
  const check =
    <T>(validate: ValidateFunction, what: string) =>
    (value: unknown, adapter: Adapter): T => {
      if (!validate(value)) {
        const first = validate.errors?.[0]
        throw new GatewayError(
          'ADAPTER_BAD_RESPONSE',
          `adapter ${adapter.id} sent an invalid ${what}: ${first?.instancePath || '/'} ${first?.message ?? ''}`.trim(),
        )
      }
      return value as T
    }
  const documentAnswer = responseConformance(adapterSpec).forOperation('getDocument')
  const volumes = check<AdapterVolumes>(compile('Volumes'), 'volume catalogue')
  return {
    caseSummary: check<AdapterCase>(compile('Case'), 'case summary'),
    /**
     * The catalogue, in the contract's shape and with every document id once in the case: the document URL
     * names no volume, so an id in two volumes would leave the volume a read is decided on to the court.
     */
    volumes(value: unknown, adapter: Adapter): AdapterVolumes {
      const catalogue = volumes(value, adapter)
      const ids = new Set<string>()
      for (const document of catalogue.volumes.flatMap((volume) => volume.documents)) {
        if (ids.has(document.id)) {
          throw new GatewayError(
            'ADAPTER_BAD_RESPONSE',
            `adapter ${adapter.id} sent an invalid volume catalogue: document id ${document.id} occurs twice`,
          )
        }
        ids.add(document.id)
      }
      return catalogue
    },
    /**
     * A document answer's status and headers (Content-Length, ETag, Repr-Digest, Content-Range...) as the
     * contract's getDocument states them; its bytes are checked against the catalogue as they stream.
     */
    documentHeaders(status: number, headers: ObservedResponse['headers'], adapter: Adapter): void {
      const violations = documentAnswer(status, headers)
      if (violations.length > 0) {
        throw new GatewayError(
          'ADAPTER_BAD_RESPONSE',
          `adapter ${adapter.id} answered off its contract: ${violations.join('; ')}`,
        )
      }
    },
  }
}

export type ResponseValidators = ReturnType<typeof createResponseValidators>
