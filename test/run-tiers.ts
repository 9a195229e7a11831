/**
 * Runs test tiers in one node:test process pool (what `npm test` and `npm run test:<tier>` call):
 *
 *   node dist/test/run-tiers.js [learning] [e2e] [unit] [--test-concurrency=N] [--test-name-pattern=RE] [--list]
 *
 * A tier's files are `dist/test/<tier>/**\/*.test.js` and `plugins/*\/dist-test/<tier>/**\/*.test.js` (both
 * built by `npm run compile`); helpers and fixtures are never run as tests. Why not `node --test FILES`:
 * Node 20's `node --test` takes no globs and sorts its files by path, so the multi-minute learning tests
 * under plugins/ would start last and become the suite's tail. run() (what `node --test` calls) keeps
 * the order given here: the tiers in the order named, learning first for `npm test`.
 */
import {readdirSync, statSync} from 'node:fs'
import * as path from 'node:path'
import {run} from 'node:test'
import {spec, tap} from 'node:test/reporters'

const ROOT = path.resolve(__dirname, '..', '..')
const TIERS = ['unit', 'e2e', 'learning']
/** Started before the rest of their tier: sft-learning alone takes ~5 min of one core (the suite's tail). */
const LONGEST = ['sft-learning.test.js']
const longestFirst = (a: string, b: string) => Number(LONGEST.includes(path.basename(b))) - Number(LONGEST.includes(path.basename(a)))

/** `*.test.js` under dir whose source still exists (tsc leaves the output of a moved or deleted test behind). */
function testFiles(dir: string, sourceDir: string): string[] {
  if (!statSync(dir, {throwIfNoEntry: false})?.isDirectory()) return []
  const files = readdirSync(dir, {recursive: true, encoding: 'utf8'})
    .filter((file) => file.endsWith('.test.js'))
    .sort()
  const stale = files.filter((file) => !statSync(path.join(sourceDir, file.replace(/\.js$/, '.ts')), {throwIfNoEntry: false}))
  for (const file of stale) console.error(`skipping ${path.relative(ROOT, path.join(dir, file))}: its source is gone (npm run clean removes it)`)
  return files.filter((file) => !stale.includes(file)).map((file) => path.join(dir, file))
}

/** Tests compiled from test/*.test.ts (in no tier): run with e2e, the tier that assumes least, and named. */
function strayFiles(): string[] {
  const dir = path.join(ROOT, 'dist', 'test')
  const strays = readdirSync(dir)
    .filter((file) => file.endsWith('.test.js') && statSync(path.join(ROOT, 'test', file.replace(/\.js$/, '.ts')), {throwIfNoEntry: false}))
    .sort()
  for (const file of strays) console.error(`test/${file.replace(/\.js$/, '.ts')} is in no tier: run with e2e; move it to test/unit/<src-folder>/, test/e2e/ or test/learning/`)
  return strays.map((file) => path.join(dir, file))
}

function tierFiles(tier: string): string[] {
  const plugins = readdirSync(path.join(ROOT, 'plugins')).sort()
  const dirs = [[path.join(ROOT, 'dist', 'test', tier), path.join(ROOT, 'test', tier)]]
  for (const p of plugins) dirs.push([path.join(ROOT, 'plugins', p, 'dist-test', tier), path.join(ROOT, 'plugins', p, 'test', tier)])
  const files = dirs.flatMap(([dir, sourceDir]) => testFiles(dir, sourceDir))
  return [...files, ...(tier === 'e2e' ? strayFiles() : [])].sort(longestFirst)
}

const args = process.argv.slice(2)
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const tiers = args.filter((a) => !a.startsWith('--'))
const unknown = tiers.filter((t) => !TIERS.includes(t))
if (tiers.length === 0 || unknown.length > 0) {
  console.error(`usage: run-tiers.js ${TIERS.join('|')}... (got ${unknown.join(', ') || 'no tier'})`)
  process.exit(2)
}
const files = tiers.flatMap(tierFiles)
if (files.length === 0) {
  console.error(`no test files for ${tiers.join(', ')}: run npm run compile first`)
  process.exit(1)
}
if (args.includes('--list')) {
  for (const file of files) console.log(path.relative(ROOT, file))
  process.exit(0)
}

const pattern = option('test-name-pattern')
const stream = run({files, concurrency: Number(option('test-concurrency') ?? 2), testNamePatterns: pattern ? [pattern] : undefined})
stream.on('test:fail', (event) => {
  if (!event.todo) process.exitCode = 1
})
stream.compose(process.stdout.isTTY ? new spec() : tap).pipe(process.stdout)
