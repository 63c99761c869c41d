import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import t from 'tap'
import { PROJECT_ROOT } from '../../src/paths.js'

/** The files a cloner reads: sources, tests, specs, examples, scripts and every Markdown file. */
function projectFiles(): string[] {
  const files = ['README.md', 'Dockerfile', 'compose.yaml']
  const walk = (dir: string) => {
    for (const name of readdirSync(join(PROJECT_ROOT, dir))) {
      const path = join(dir, name)
      if (statSync(join(PROJECT_ROOT, path)).isDirectory()) walk(path)
      else if (/\.(ts|mjs|js|json|ya?ml|md)$/.test(name)) files.push(path)
    }
  }
  for (const dir of ['src', 'test', 'openapi', 'examples', 'scripts', 'docs', 'config', 'bench']) walk(dir)
  return files.filter((file) => !file.startsWith(join('examples', 'court-adapter', 'cases')))
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replaceAll(' ', '-')
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const heading = /^#{1,6} (.+)$/.exec(line)
    if (heading && !fenced) anchors.add(slug(heading[1]!))
  }
  return anchors
}

const files = projectFiles()

t.test('nothing refers to documents outside the repository', async (t) => {
  const outside = /DESIGN(\.md| §)|\.\.\/shared|\/work\/shared/
  const offenders = files.filter((file) => outside.test(readFileSync(join(PROJECT_ROOT, file), 'utf8')))
  t.same(offenders, [])
})

t.test('every cited docs page and anchor exists', async (t) => {
  const cited: Array<{ from: string; page: string; anchor: string | undefined }> = []
  for (const file of files) {
    const text = readFileSync(join(PROJECT_ROOT, file), 'utf8')
    // `docs/<page>.md#<anchor>` anywhere, as code comments and specs write it.
    for (const match of text.matchAll(/docs\/([a-z-]+\.md)(?:#([\p{L}\p{N}_-]+))?/gu)) {
      cited.push({ from: file, page: join('docs', match[1]!), anchor: match[2] })
    }
    // Relative Markdown links inside docs/ and the README: `(page.md#anchor)` and `(#anchor)`.
    if (file.endsWith('.md')) {
      for (const match of text.matchAll(/\]\(([a-z-]*\.md)?(?:#([\p{L}\p{N}_-]+))?\)/gu)) {
        if (match[1] === undefined && match[2] === undefined) continue
        const page = match[1] === undefined ? file : join(dirname(file), match[1])
        cited.push({ from: file, page, anchor: match[2] })
      }
    }
  }
  t.ok(cited.length > 30, `${cited.length} citations found`)
  for (const { from, page, anchor } of cited) {
    const where = `${from} → ${relative('.', page)}${anchor ? `#${anchor}` : ''}`
    if (!existsSync(join(PROJECT_ROOT, page))) {
      t.fail(`${where}: no such page`)
      continue
    }
    if (anchor !== undefined) t.ok(anchorsOf(readFileSync(join(PROJECT_ROOT, page), 'utf8')).has(anchor), where)
  }
})

t.test('the anchors are the ones GitHub makes', async (t) => {
  t.equal(slug('Tree and checkpoints'), 'tree-and-checkpoints')
  t.equal(slug('Java (Nimbus JOSE+JWT, Spring Security)'), 'java-nimbus-josejwt-spring-security')
  t.equal(slug('What it does not prove'), 'what-it-does-not-prove')
})
