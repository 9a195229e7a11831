import assert from 'node:assert/strict'
import {chmodSync, readdirSync, readFileSync, statSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {contentHash, normaliseBytes} from '../../../src/containers/hash'
import {baseImage, externalImage, pluginImage, pluginImageName, stageContext, type ImageSpec} from '../../../src/containers/images'
import {fakeRoot, FAKE_ROOT_FILES, sftPlugin} from '../../helpers/containers-fake-root'

/** The tags of every image kind, for one root (and one requirements file). */
async function allTags(root: string, requirements?: string): Promise<Record<string, string>> {
  const [base, plugin, external, externalSft] = await Promise.all([
    baseImage(root),
    pluginImage(sftPlugin(root), root),
    externalImage({requirements}, root),
    externalImage({plugin: sftPlugin(root), requirements}, root),
  ])
  return {base: base.tag, sft: plugin.tag, external: external.tag, 'external-sft': externalSft.tag}
}

function requirementsFile(content: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'rfm-req-')), 'requirements.txt')
  writeFileSync(file, content)
  return file
}

describe('content hash of image inputs', () => {
  it('is the same for the same inputs in two places, whatever the mtimes, permissions and line endings', async () => {
    const a = fakeRoot({mtime: new Date('2020-01-01T00:00:00Z'), fileMode: 0o644})
    const b = fakeRoot({mtime: new Date('2026-06-30T12:34:56Z'), fileMode: 0o600, crlf: true})
    assert.notEqual(a, b)
    const reqA = requirementsFile('transformers==4.46.3\ntrl==0.12.1\n')
    const reqB = requirementsFile('transformers==4.46.3\r\ntrl==0.12.1\r\n')
    const [tagsA, tagsB] = [await allTags(a, reqA), await allTags(b, reqB)]
    assert.deepEqual(tagsA, tagsB)
    // four distinct images, each tagged <image>-<32 hex digits>
    assert.equal(new Set(Object.values(tagsA)).size, 4)
    for (const [image, tag] of Object.entries(tagsA)) assert.match(tag, new RegExp(`^${image}-[0-9a-f]{32}$`))
  })

  it('changes when any one input changes', async () => {
    const req = requirementsFile('peft==0.13.2\n')
    const reference = await allTags(fakeRoot(), req)
    // which images each change must (and must not) affect
    const cases: Array<{what: string; root?: Parameters<typeof fakeRoot>[0]; requirements?: string; changes: string[]}> = [
      {what: 'base Dockerfile', root: {change: {'containers/base/Dockerfile': 'FROM scratch AS a\nFROM scratch\nUSER rfm2\n'}}, changes: ['base', 'sft']},
      {what: 'plugin Dockerfile', root: {change: {'containers/plugin/Dockerfile': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nUSER nobody\n'}}, changes: ['sft']},
      {what: 'external Dockerfile', root: {change: {'containers/external/Dockerfile': 'FROM scratch AS a\nFROM scratch\nUSER x\n'}}, changes: ['external', 'external-sft']},
      {what: 'lockfile', root: {change: {'package-lock.json': '{"lockfileVersion":3,"x":1}\n'}}, changes: ['base', 'sft', 'external', 'external-sft']},
      {what: 'compiled runtime', root: {change: {'dist/src/runtime/main.js': 'console.log("runtime 2")\n'}}, changes: ['base', 'sft', 'external', 'external-sft']},
      {what: 'a new runtime file', root: {change: {'dist/src/extra.js': '1\n'}}, changes: ['base', 'sft', 'external', 'external-sft']},
      {
        what: 'a runtime file renamed',
        root: {change: {'dist/src/store/open.js': null, 'dist/src/store/open2.js': FAKE_ROOT_FILES['dist/src/store/open.js']}},
        changes: ['base', 'sft', 'external', 'external-sft'],
      },
      {what: 'plugin code', root: {change: {'plugins/sft/dist/kinds.js': 'module.exports = () => [2]\n'}}, changes: ['sft', 'external-sft']},
      {what: "another plugin's code", root: {change: {'plugins/grpo/dist/kinds.js': 'module.exports = () => [3]\n'}}, changes: []},
      {what: 'requirements file', requirements: requirementsFile('peft==0.13.3\n'), changes: ['external', 'external-sft']},
    ]
    for (const c of cases) {
      const tags = await allTags(fakeRoot(c.root), c.requirements ?? req)
      const changed = Object.keys(tags).filter((image) => tags[image] !== reference[image])
      assert.deepEqual(changed, c.changes, `changing the ${c.what} changed ${JSON.stringify(changed)}`)
    }
  })

  it('counts the executable bit and nothing else of the mode', async () => {
    const root = fakeRoot()
    const before = (await baseImage(root)).tag
    chmodSync(path.join(root, 'dist/src/runtime/main.js'), 0o600)
    assert.equal((await baseImage(root)).tag, before, 'read/write bits do not count')
    chmodSync(path.join(root, 'dist/src/runtime/main.js'), 0o755)
    assert.notEqual((await baseImage(root)).tag, before, 'the executable bit counts')
  })

  it('frames paths and contents unambiguously and refuses paths that leave the context', () => {
    const f = (p: string, s: string) => ({path: p, bytes: Buffer.from(s), executable: false})
    assert.notEqual(contentHash([f('a', 'bc')]), contentHash([f('ab', 'c')]))
    assert.notEqual(contentHash([f('a', 'x'), f('b', 'y')]), contentHash([f('a', 'y'), f('b', 'x')]))
    assert.equal(contentHash([f('a', 'x'), f('b', 'y')]), contentHash([f('b', 'y'), f('a', 'x')]))
    assert.notEqual(contentHash([f('a', 'x')], {BASE_TAG: 't1'}), contentHash([f('a', 'x')], {BASE_TAG: 't2'}))
    assert.throws(() => contentHash([f('../a', 'x')]), /relative/)
    assert.throws(() => contentHash([f('/a', 'x')]), /relative/)
    assert.throws(() => contentHash([f('a', 'x'), f('a', 'y')]), /duplicate/)
  })

  it('turns CRLF into LF in text only, never in binary files', () => {
    assert.equal(normaliseBytes(Buffer.from('a\r\nb\r\n')).toString(), 'a\nb\n')
    const binary = Buffer.from([0x00, 0x0d, 0x0a, 0xff])
    assert.deepEqual(normaliseBytes(binary), binary)
  })

  it('stages exactly the hashed files, with modes 0644/0755 and normalised bytes', async () => {
    const root = fakeRoot({crlf: true, fileMode: 0o600})
    const image: ImageSpec = await pluginImage(sftPlugin(root), root)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-stage-'))
    await stageContext(image, dir)
    const staged: string[] = []
    const walk = (sub: string) => {
      for (const entry of readdirSync(path.join(dir, sub), {withFileTypes: true})) {
        const rel = sub ? `${sub}/${entry.name}` : entry.name
        if (entry.isDirectory()) walk(rel)
        else staged.push(rel)
      }
    }
    walk('')
    assert.deepEqual(staged.sort(), image.files.map((f) => f.path).sort())
    assert.deepEqual(staged.sort(), ['Dockerfile', 'rfm/plugins/sft/dist/kinds.js', 'rfm/plugins/sft/package.json'])
    for (const rel of staged) {
      assert.equal(statSync(path.join(dir, rel)).mode & 0o777, 0o644, rel)
      assert.ok(!readFileSync(path.join(dir, rel), 'utf8').includes('\r'), `${rel} has CRLF`)
    }
  })

  it('names plugin images after the package', () => {
    assert.equal(pluginImageName('@rfm/plugin-sft'), 'sft')
    assert.equal(pluginImageName('@acme/rfm-plugin-My_Thing'), 'my_thing')
    assert.equal(pluginImageName('vla'), 'vla')
    assert.throws(() => pluginImageName('@x/plugin-base'))
  })
})
