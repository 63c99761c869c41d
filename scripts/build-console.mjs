// Builds the auditor console (console/src) into dist/console: content-hashed scripts and styles under
// assets/ and an index.html naming them, with no inline script or style, so the gateway can serve the page
// under a strict Content-Security-Policy (src/http/console-routes.ts). Run by `npm run build`; the browser
// test (test/console.test.ts) calls buildConsole() itself.
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Builds into `outDir` (default dist/console); returns the files written and the page's gzip weight. */
export async function buildConsole(outDir = join(root, 'dist', 'console')) {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['console/src/main.tsx', 'console/src/console.css'],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  })
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file))
  const script = outputs.find((name) => name.endsWith('.js'))
  const style = outputs.find((name) => name.endsWith('.css'))
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Access log · court-file-gateway</title>
<link rel="stylesheet" href="/console/assets/${style}">
<script type="module" src="/console/assets/${script}"></script>
</head>
<body>
<noscript>The auditor console needs JavaScript. The same log is available through the API and the command line (docs/auditors.md).</noscript>
<div id="app"></div>
</body>
</html>
`
  // A gateway may be starting while this runs (tests build the console in parallel with other tests): the page is
  // replaced atomically, and the assets it no longer names are removed only after.
  writeFileSync(join(outDir, 'index.html.new'), html)
  renameSync(join(outDir, 'index.html.new'), join(outDir, 'index.html'))
  for (const name of readdirSync(join(outDir, 'assets'))) {
    if (!outputs.includes(name)) rmSync(join(outDir, 'assets', name))
  }
  const files = ['index.html', ...outputs.map((name) => `assets/${name}`)]
  const gzipBytes = files.reduce((sum, file) => sum + gzipSync(readFileSync(join(outDir, file))).length, 0)
  return { outDir, files, gzipBytes }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { outDir, files, gzipBytes } = await buildConsole(process.argv[2])
  console.log(`console: ${files.length} files in ${outDir}, ${(gzipBytes / 1024).toFixed(1)} KB gzip`)
}
