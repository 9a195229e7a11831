/** A small stand-in for the rfm package root: the files that image contexts are staged from. */
import {chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export const FAKE_ROOT_FILES: Record<string, string> = {
  'containers/base/Dockerfile': 'FROM scratch AS a\nFROM scratch\nUSER rfm\n',
  'containers/plugin/Dockerfile': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nUSER rfm\n',
  'containers/external/Dockerfile': 'FROM scratch AS a\nFROM scratch\nCOPY requirements.txt /r\nUSER rfm\n',
  'package.json': '{"name":"rfm","workspaces":["plugins/*"]}\n',
  'package-lock.json': '{"lockfileVersion":3}\n',
  'plugins/sft/package.json': '{"name":"@rfm/plugin-sft"}\n',
  'plugins/sft/dist/kinds.js': 'module.exports = () => []\n',
  'plugins/grpo/package.json': '{"name":"@rfm/plugin-grpo"}\n',
  'plugins/grpo/dist/kinds.js': 'module.exports = () => [1]\n',
  'dist/src/runtime/main.js': 'console.log("runtime")\n',
  'dist/src/store/open.js': 'exports.open = 1\n',
  'dist/src/runtime/hook.sh': '#!/bin/sh\necho hi\n',
}

export interface FakeRootOptions {
  /** write text with CRLF line endings */
  crlf?: boolean
  /** mode of non-executable files */
  fileMode?: number
  /** mtime for every file */
  mtime?: Date
  /** files to add, change (string) or remove (null) */
  change?: Record<string, string | null>
}

export function fakeRoot(options: FakeRootOptions = {}): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rfm-fake-root-'))
  const files = {...FAKE_ROOT_FILES, ...options.change}
  for (const [rel, content] of Object.entries(files)) {
    if (content === null) continue
    const file = path.join(root, rel)
    mkdirSync(path.dirname(file), {recursive: true})
    writeFileSync(file, options.crlf ? content.replace(/\n/g, '\r\n') : content)
    chmodSync(file, rel.endsWith('.sh') ? 0o755 : (options.fileMode ?? 0o644))
    if (options.mtime) utimesSync(file, options.mtime, options.mtime)
  }
  return root
}

export function sftPlugin(root: string): {name: string; root: string} {
  return {name: '@rfm/plugin-sft', root: path.join(root, 'plugins', 'sft')}
}
