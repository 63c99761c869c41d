import { readFileSync } from 'node:fs'
import { BlockList, isIP } from 'node:net'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { ErrorObject } from 'ajv'
import { compileSchema } from '../http/schema-compiler.js'
import { CIVIL_TYPE_CODES, ENFORCEMENT_TYPE_CODES } from '../directory/case-number.js'
import { configSchema } from './schema.js'
import type { Config, IssuerConfig } from './types.js'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** The configuration's validator: prebuilt by `npm run build`, else compiled at the first use. */
export function configValidator() {
  return compileSchema('config', configSchema)
}

function describe(error: ErrorObject): string {
  const key = error.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)'
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty
    return `config key "${key === '(top level)' ? extra : `${key}.${extra}`}": unknown key`
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty
    return `config key "${key === '(top level)' ? missing : `${key}.${missing}`}": is required`
  }
  return `config key "${key}": ${error.message ?? 'is invalid'}`
}

/**
 * Reads, validates and completes the configuration. Relative paths inside the file are resolved against the
 * file's own folder, so a config works from whatever directory the process starts in. Environment variables
 * override the few values deployments change: GATEWAY_PORT and GATEWAY_DATABASE_URL.
 */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`)
  }
  return parseConfig(raw, dirname(resolve(path)), env)
}

export function parseConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv = {}): Config {
  const data = structuredClone(raw) as Record<string, unknown>
  applyEnv(data, env)
  const validate = configValidator()
  if (!validate(data)) {
    // oneOf failures repeat the branch errors; the first specific message is the useful one.
    const messages = [...new Set((validate.errors ?? []).filter((e) => e.keyword !== 'oneOf').map(describe))]
    throw new ConfigError(`invalid configuration:\n  ${messages.join('\n  ')}`)
  }
  const config = data as unknown as Config
  config.policy.caseTypes ??= [...CIVIL_TYPE_CODES, ...ENFORCEMENT_TYPE_CODES]
  // An organisation has many people: sharing one person's budget would throttle a procuratorate at once.
  config.limits.organisationRequestsPerMinute ??= 10 * config.limits.requestsPerMinute
  // "Close to the daily quota" means the quota the gateway enforces, unless the console is told otherwise.
  config.console.patterns.dailyQuota ??= config.limits.documentsPerDay
  if (config.policy.grantDays > config.policy.maxGrantDays) {
    throw new ConfigError('config key "policy.grantDays": must not exceed policy.maxGrantDays')
  }
  if (config.metrics && config.metrics.port !== 0 && config.metrics.port === config.server.port) {
    throw new ConfigError('config key "metrics.port": must differ from server.port')
  }
  for (const [i, proxy] of config.server.trustProxy.entries()) {
    if (isIP(proxy) === 0 && !parseNetwork(proxy)) {
      throw new ConfigError(`config key "server.trustProxy.${i}": not an IP address or CIDR block`)
    }
  }
  for (const [i, network] of config.adapters.allowedNetworks.entries()) {
    if (!parseNetwork(network)) throw new ConfigError(`config key "adapters.allowedNetworks.${i}": not a CIDR block`)
  }
  for (const [i, issuer] of config.identity.issuers.entries()) {
    if (issuer.consoleSignIn) issuer.consoleSignIn.discoveryUrl = discoveryUrl(issuer, `identity.issuers.${i}`)
  }
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p))
  config.directory = at(config.directory)
  if (config.server.tls) {
    config.server.tls = { certFile: at(config.server.tls.certFile), keyFile: at(config.server.tls.keyFile) }
  }
  if (config.storage.kind === 'sqlite' && config.storage.path !== ':memory:')
    config.storage.path = at(config.storage.path)
  config.accessLog.signingKeyFile = at(config.accessLog.signingKeyFile)
  config.adapters.signingKeyFile = at(config.adapters.signingKeyFile)
  if (config.adapters.nextSigningKeyFile) config.adapters.nextSigningKeyFile = at(config.adapters.nextSigningKeyFile)
  for (const issuer of config.identity.issuers) if (issuer.jwksFile) issuer.jwksFile = at(issuer.jwksFile)
  if (config.dev?.issuer) config.dev.keyFile = at(config.dev.keyFile ?? '../data/dev-issuer-key.pem')
  return config
}

/**
 * Where the console reads the issuer's OIDC discovery document: configured, or the issuer's well-known address
 * (OpenID Connect Discovery 1.0 section 4). The browser sends codes and receives tokens there, so plain HTTP is
 * refused unless the issuer is on this machine (a test or a local trial).
 */
function discoveryUrl(issuer: IssuerConfig, key: string): string {
  const configured = issuer.consoleSignIn?.discoveryUrl
  const text = configured ?? `${issuer.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  const where = configured ? `config key "${key}.consoleSignIn.discoveryUrl"` : `config key "${key}.issuer"`
  const url = URL.parse(text)
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ConfigError(`${where}: console sign-in needs an https URL to discover the issuer at`)
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new ConfigError(`${where}: console sign-in over plain http is only for an issuer on loopback`)
  }
  return url.href
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

function applyEnv(data: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const port = env.GATEWAY_PORT ?? env.PORT
  if (port !== undefined) {
    data.server ??= {}
    const server = data.server as Record<string, unknown>
    server.port = /^\d+$/.test(port) ? Number(port) : port
  }
  const databaseUrl = env.GATEWAY_DATABASE_URL
  if (databaseUrl) {
    // The file's other PostgreSQL setting still applies to the database the environment names.
    const staleness = (data.storage as { stateStalenessMs?: unknown } | undefined)?.stateStalenessMs
    data.storage = databaseUrl.startsWith('postgres')
      ? { kind: 'postgres', url: databaseUrl, ...(staleness === undefined ? {} : { stateStalenessMs: staleness }) }
      : { kind: 'sqlite', path: databaseUrl.replace(/^sqlite:(\/\/)?/, '') }
  }
  // Only the address: the other Redis settings of the file still apply.
  if (env.GATEWAY_REDIS_URL) data.redis = { ...(data.redis as object | undefined), url: env.GATEWAY_REDIS_URL }
}

/** A CIDR block as a BlockList, or undefined when the text is not one. */
export function parseNetwork(cidr: string): BlockList | undefined {
  const [address, bits] = cidr.split('/')
  const prefix = Number(bits)
  const family = address?.includes(':') ? 'ipv6' : 'ipv4'
  if (!address || !Number.isInteger(prefix) || prefix > (family === 'ipv4' ? 32 : 128)) return undefined
  try {
    const list = new BlockList()
    list.addSubnet(address, prefix, family)
    return list
  } catch {
    return undefined
  }
}
