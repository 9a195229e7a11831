/**
 * The Dockerfiles in containers/: they pass a Dockerfile linter (dockerfile-utils, offline), carry
 * no secrets, pin their bases, are multi-stage where they build anything, run as a non-root user,
 * keep compilers out of the final stage, and COPY only what rfm stages into their contexts.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {DockerfileParser, type Dockerfile} from 'dockerfile-ast'
import {validate} from 'dockerfile-utils'

import {baseImage, externalImage, pluginImage, type ImageSpec} from '../../../src/containers/images'
import {ROOT} from '../../helpers/cli'

const NAMES = ['base', 'plugin', 'external'] as const
const read = (name: string) => readFileSync(path.join(ROOT, 'containers', name, 'Dockerfile'), 'utf8')

/** Secret-looking content: AWS keys, credentials in ENV/ARG, private keys, tokens in URLs. */
export function secretFindings(text: string): string[] {
  const patterns: Array<[string, RegExp]> = [
    ['AWS access key id', /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
    ['AWS secret key name', /aws_secret_access_key|AWS_SESSION_TOKEN/i],
    ['credential in ENV/ARG', /^\s*(ENV|ARG)\s+[^\n]*\b\w*(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY)\w*\s*[= ]/im],
    ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
    ['credentials in a URL', /[a-z]+:\/\/[^\s/:@]+:[^\s/@]+@/i],
    ['npm token', /_authToken|npm_[A-Za-z0-9]{36}/],
  ]
  return patterns.filter(([, re]) => re.test(text)).map(([what]) => what)
}

interface Stage {
  from: string
  name?: string
  instructions: Array<{keyword: string; args: string[]; flags: Record<string, string | null>; text: string}>
}

/** Stages with each FROM resolved through the ARG defaults before the first FROM. */
function stages(dockerfile: Dockerfile): {stages: Stage[]; unresolved: string[]} {
  const defaults = new Map<string, string | null>()
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty()
    if (property) defaults.set(property.getName(), property.getValue())
  }
  const unresolved: string[] = []
  const out: Stage[] = []
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword()
    if (keyword === 'FROM') {
      const raw = (instruction as ReturnType<Dockerfile['getFROMs']>[number]).getImage() ?? ''
      const from = raw.replace(/\$\{?(\w+)\}?/g, (_, name: string) => {
        const value = defaults.get(name)
        if (value === undefined || value === null) {
          unresolved.push(name)
          return `\${${name}}`
        }
        return value
      })
      out.push({from, name: (instruction as ReturnType<Dockerfile['getFROMs']>[number]).getBuildStage() ?? undefined, instructions: []})
    } else if (out.length > 0) {
      const flags: Record<string, string | null> = {}
      for (const flag of (instruction as unknown as {getFlags?: () => Array<{getName(): string; getValue(): string | null}>}).getFlags?.() ?? []) flags[flag.getName()] = flag.getValue()
      out.at(-1)!.instructions.push({keyword, args: instruction.getArguments().map((a) => a.getValue()), flags, text: instruction.getArgumentsContent() ?? ''})
    }
  }
  return {stages: out, unresolved}
}

/** Pinned: an @sha256 digest, or a tag carrying an exact version (digits and dots), never latest. */
function pinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true
  const tag = /:([^/@:]+)$/.exec(image)?.[1]
  return Boolean(tag && tag !== 'latest' && /^\d+\.\d+\.\d+/.test(tag))
}

async function specFor(name: (typeof NAMES)[number]): Promise<ImageSpec> {
  if (name === 'base') return baseImage()
  if (name === 'plugin') return pluginImage({name: '@rfm/plugin-sft', root: path.join(ROOT, 'plugins', 'sft')})
  return externalImage({})
}

describe('Dockerfiles in containers/', () => {
  it('pass the dockerfile-utils linter, which does flag a broken Dockerfile', () => {
    for (const name of NAMES) {
      const problems = validate(read(name), {})
      assert.deepEqual(
        problems.map((p) => `${p.range.start.line + 1}: ${p.message}`),
        [],
        `${name}/Dockerfile`,
      )
    }
    const broken = validate('FROM\nRUNN echo hi\nUSER\nEXPOSE notaport\n', {})
    assert.ok(broken.length >= 3, 'the linter reports problems in a broken Dockerfile')
  })

  it('carry no secrets, and the check finds planted ones', () => {
    for (const name of NAMES) assert.deepEqual(secretFindings(read(name)), [], `${name}/Dockerfile`)
    assert.deepEqual(secretFindings('ENV AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE'), ['AWS access key id', 'credential in ENV/ARG'])
    assert.deepEqual(secretFindings('ARG DB_PASSWORD=hunter2'), ['credential in ENV/ARG'])
    assert.deepEqual(secretFindings('RUN git clone https://user:tok@github.com/x/y'), ['credentials in a URL'])
    assert.deepEqual(secretFindings('RUN echo "//registry.npmjs.org/:_authToken=x" > .npmrc'), ['npm token'])
  })

  it('pin every base: a digest, an exact version tag, an earlier stage, or (plugin) the base image rfm passes by content tag', () => {
    for (const name of NAMES) {
      const {stages: all, unresolved} = stages(DockerfileParser.parse(read(name)))
      const earlier = new Set<string>()
      for (const stage of all) {
        if (!earlier.has(stage.from)) {
          if (name === 'plugin') assert.equal(stage.from, '${BASE_IMAGE}', 'the plugin image is FROM the base image rfm passes')
          else assert.ok(pinned(stage.from), `${name}/Dockerfile: FROM ${stage.from} is not pinned`)
        }
        if (stage.name) earlier.add(stage.name)
      }
      assert.deepEqual(unresolved, name === 'plugin' ? ['BASE_IMAGE'] : [], `${name}: FROM arguments without defaults`)
    }
    assert.match(read('base'), /nvidia\/cuda:11\.8\.0-cudnn8-runtime-ubuntu22\.04@sha256:[0-9a-f]{64}/, 'the CUDA base is pinned by digest')
    assert.ok(!pinned('node:20') && !pinned('node:latest') && !pinned('node') && pinned('node:20.20.2-bookworm-slim'))
  })

  it('build in several stages and keep compilers and npm out of the final one', () => {
    for (const name of ['base', 'external'] as const) {
      const {stages: all} = stages(DockerfileParser.parse(read(name)))
      assert.ok(all.length >= 2, `${name} is multi-stage`)
      const final = all.at(-1)!
      for (const step of final.instructions) {
        if (step.keyword === 'RUN') assert.doesNotMatch(step.text, /\b(apt-get|apt|pip|npm)\s+(install|ci)\b|build-essential|\bg\+\+|\bgcc\b/, `${name}: final stage installs things: ${step.text}`)
        if (step.keyword === 'COPY') assert.doesNotMatch(step.args.join(' '), /node_modules\/npm/, `${name}: npm in the final stage`)
      }
      // and an earlier stage does the installing
      assert.ok(all.slice(0, -1).some((s) => s.instructions.some((i) => i.keyword === 'RUN' && /\b(npm ci|pip install)\b/.test(i.text))))
    }
  })

  it('run the rfm runtime as a non-root user in the final stage', () => {
    for (const name of NAMES) {
      const final = stages(DockerfileParser.parse(read(name))).stages.at(-1)!
      const users = final.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args[0])
      assert.ok(users.length > 0, `${name}: no USER in the final stage`)
      assert.doesNotMatch(users.at(-1)!, /^(root|0)(:|$)/, `${name}: runs as root`)
      const entrypoint = final.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)
      assert.ok(entrypoint, `${name}: no ENTRYPOINT`)
      const argv = JSON.parse(entrypoint.text) as string[]
      assert.deepEqual(argv, ['node', '/opt/rfm/dist/src/runtime/main.js'])
      // the entry point is the compiled runtime, shipped in the context as rfm/dist/src/...
      assert.ok(existsSync(path.join(ROOT, 'dist', 'src', 'runtime', 'main.js')))
    }
  })

  it('COPY only files that rfm stages into the context, and every staged file is used', async () => {
    for (const name of NAMES) {
      const spec = await specFor(name)
      const contextPaths = spec.files.map((f) => f.path)
      const used = new Set<string>(['Dockerfile'])
      for (const stage of stages(DockerfileParser.parse(read(name))).stages) {
        for (const step of stage.instructions) {
          if (step.keyword !== 'COPY' && step.keyword !== 'ADD') continue
          assert.equal(step.keyword, 'COPY', `${name}: use COPY, not ADD`)
          if (step.flags.from !== undefined) continue
          for (const source of step.args.slice(0, -1)) {
            const prefix = source.replace(/\/$/, '')
            const matches = contextPaths.filter((p) => p === prefix || p.startsWith(`${prefix}/`))
            assert.ok(matches.length > 0, `${name}: COPY ${source} matches nothing in the staged context`)
            for (const m of matches) used.add(m)
          }
        }
      }
      assert.deepEqual(
        contextPaths.filter((p) => !used.has(p)),
        [],
        `${name}: staged files that no COPY uses`,
      )
    }
  })
})
