// Source maps as --enable-source-maps turns them on, minus those of node_modules: loaded first by every test process
// (test/helpers/resolve-ts.mjs) and by the child processes tests start (test/helpers/children.ts). The product's maps
// (dist/ to src/) are what coverage and stack traces need. Those of node_modules are not: tap's process recorder
// (@tapjs/processinfo) looks up the map of every module that names one as it loads, and Node then parses the whole
// map, about half a second of CPU per process (a tenth of the suite's) for libraries whose coverage is never reported.
import { setSourceMapsSupport } from 'node:module'

setSourceMapsSupport(true, { nodeModules: false, generatedCode: true })
