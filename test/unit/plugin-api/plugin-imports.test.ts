/**
 * The plugin boundary (issue #22): no plugin source or test loads a file outside its own plugin folder
 * by path. Plugins reach the host through packages (`@rfm/plugin-api` types, `@rfm/plugin-kit` and its
 * `/testing` entry), which resolve the host's declared `exports`; a relative import that leaves
 * `plugins/<p>/` (e.g. `../../../../dist/src/trainer`) or a `path.join(__dirname, '..', …)` that
 * climbs out of it welds the plugin to the host's layout. This test names each such place.
 */
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {builtinModules} from 'node:module'
import * as path from 'node:path'
import {test} from 'node:test'
import * as ts from 'typescript'

import {ROOT} from '../../helpers/cli'

const PLUGINS = path.join(ROOT, 'plugins')

function tsFiles(dir: string): string[] {
  let entries
  try {
    entries = readdirSync(dir, {withFileTypes: true})
  } catch {
    return []
  }
  return entries.flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path.join(dir, e.name)] : []))
}

const lineOf = (text: string, pos: number) => text.slice(0, pos).split('\n').length

/**
 * The places in `text` (a file at `file` inside `pluginRoot`) that load something outside the plugin
 * folder by path: relative or absolute module specifiers of import/export/import()/require, and
 * `path.join|resolve(__dirname, '..', …)` whose literal segments climb above the plugin root
 * (a source file and its compiled copy sit at the same depth: src ↔ dist, test ↔ dist-test).
 */
export function escapes(file: string, text: string, pluginRoot: string): string[] {
  const found: string[] = []
  const outside = (target: string) => path.relative(pluginRoot, target).startsWith('..') || path.isAbsolute(path.relative(pluginRoot, target))
  const where = (pos: number) => `${path.relative(ROOT, file)}:${lineOf(text, pos)}`
  for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
    const spec = ref.fileName
    if (path.isAbsolute(spec)) found.push(`${where(ref.pos)}: '${spec}' (an absolute path)`)
    else if (spec.startsWith('.') && outside(path.resolve(path.dirname(file), spec))) found.push(`${where(ref.pos)}: '${spec}' leaves ${path.relative(ROOT, pluginRoot)}/`)
  }
  for (const m of text.matchAll(/path\.(?:join|resolve)\(\s*__dirname((?:\s*,\s*'[^']*')+)/g)) {
    const segments = [...m[1].matchAll(/'([^']*)'/g)].map((s) => s[1])
    if (outside(path.resolve(path.dirname(file), ...segments)))
      found.push(`${where(m.index)}: path.${m[0].slice(5, m[0].indexOf('('))}(__dirname, ${segments.map((s) => `'${s}'`).join(', ')}) leaves ${path.relative(ROOT, pluginRoot)}/`)
  }
  return found
}

test('no plugin source or test imports a file outside its plugin folder by path (host files come through @rfm/plugin-kit and @rfm/plugin-kit/testing)', () => {
  const plugins = readdirSync(PLUGINS, {withFileTypes: true}).filter((e) => e.isDirectory())
  assert.ok(plugins.length >= 4, `plugins found: ${plugins.map((p) => p.name)}`)
  const found: string[] = []
  let scanned = 0
  for (const p of plugins) {
    const root = path.join(PLUGINS, p.name)
    for (const file of [...tsFiles(path.join(root, 'src')), ...tsFiles(path.join(root, 'test'))]) {
      scanned++
      found.push(...escapes(file, readFileSync(file, 'utf8'), root))
    }
  }
  assert.ok(scanned > 50, `only ${scanned} files scanned`)
  assert.deepEqual(found, [], `plugin files that load host files by path (use @rfm/plugin-kit/testing or the plugin API):\n${found.join('\n')}`)
})

test('the scan finds the ways out: a relative import, require, import(), export-from, an absolute path and a climbing path.join', () => {
  const root = path.join(PLUGINS, 'demo')
  const file = path.join(root, 'test', 'unit', 'x.test.ts')
  const text = [
    "import {ok} from '../plugin'",
    "import * as formats from '../../../../dist/src/formats'",
    "export {a} from '../../../dist/test/helpers/cli'",
    "const t = require('../../../../src/trainer')",
    "const g = import('/abs/host.js')",
    "const d = path.join(__dirname, '..', '..', 'dist', 'x.js')",
    "const y = require(path.join(__dirname, '..', '..', '..', '..', 'node_modules', 'yaml'))",
  ].join('\n')
  const found = escapes(file, text, root)
  assert.equal(found.length, 5, found.join('\n'))
  assert.match(found[0], /x\.test\.ts:2: '\.\.\/\.\.\/\.\.\/\.\.\/dist\/src\/formats' leaves plugins\/demo\//)
  assert.ok(
    found.some((f) => /:7: path\.join\(__dirname, '\.\.', '\.\.', '\.\.', '\.\.', 'node_modules', 'yaml'\)/.test(f)),
    found.join('\n'),
  )
  assert.ok(!found.some((f) => /:1:|:6:/.test(f)), 'imports inside the plugin folder pass')
})

/** Package specifiers a file loads when it runs: value imports, export-from, require() and import(); `import type` and `typeof import()` vanish from the compiled code. */
function runtimeSpecifiers(file: string, text: string): {spec: string; pos: number}[] {
  const found: {spec: string; pos: number}[] = []
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && !node.importClause?.isTypeOnly) found.push({spec: node.moduleSpecifier.text, pos: node.moduleSpecifier.pos})
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly)
      found.push({spec: node.moduleSpecifier.text, pos: node.moduleSpecifier.pos})
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      const [arg] = node.arguments
      if (arg && ts.isStringLiteral(arg)) found.push({spec: arg.text, pos: arg.pos})
    }
    ts.forEachChild(node, visit)
  }
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true))
  return found
}

test("a plugin's sources load at run time only packages its package.json declares (dependencies or peerDependencies)", () => {
  const builtin = new Set(builtinModules)
  const undeclared: string[] = []
  for (const p of readdirSync(PLUGINS, {withFileTypes: true}).filter((e) => e.isDirectory())) {
    const root = path.join(PLUGINS, p.name)
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})])
    for (const file of tsFiles(path.join(root, 'src'))) {
      const text = readFileSync(file, 'utf8')
      for (const {spec, pos} of runtimeSpecifiers(file, text)) {
        if (spec.startsWith('.') || path.isAbsolute(spec) || spec.startsWith('node:') || builtin.has(spec.split('/')[0])) continue
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]
        if (!declared.has(name)) undeclared.push(`${path.relative(ROOT, file)}:${lineOf(text, pos)}: '${spec}' is not in ${p.name}'s dependencies or peerDependencies`)
      }
    }
  }
  assert.deepEqual(undeclared, [])
})
