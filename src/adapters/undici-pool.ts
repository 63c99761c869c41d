import { createRequire } from 'node:module'
import type * as Undici from 'undici'

/**
 * The three parts of undici the adapter client uses, loaded by themselves. `import 'undici'` evaluates the
 * whole package (fetch, WebSocket, the mock agent, caches, proxies): about 90 ms of CPU at every start, against
 * about 20 ms for these. They are the very modules undici's index exports (undici 7 has no `exports` map, so
 * these paths are reachable), and the request API is added to the dispatcher's prototype here as undici's
 * index does; loading the index later as well repeats the same assignment.
 */
const require = createRequire(import.meta.url)
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object }
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object)

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool
export type Pool = Undici.Pool
export const buildConnector = require('undici/lib/core/connect.js') as typeof Undici.buildConnector
export const errors = require('undici/lib/core/errors.js') as typeof Undici.errors
export type ConnectOptions = Undici.buildConnector.Options
export type Connector = Undici.buildConnector.connector
