/**
 * External mode of the `eval` job: the user's evaluation script (seed 003's
 * `python scripts/evaluate.py --model_path … --benchmarks VSR CV-Bench --max_samples N`) runs once
 * per checkpoint, on the checkpoint's files pulled (verified) into a local folder. `{model_path}`,
 * `{output_dir}` and `{max_samples}` in the command are replaced (also given as RFM_MODEL_PATH,
 * RFM_OUTPUT_DIR, RFM_CHECKPOINT, RFM_STEP). Whatever the script writes to its output folder is
 * committed under external/<checkpoint>/ with the report; its exit code makes the row ok or error.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import {resolveModel} from './checkpoints'
import type {EvalRunOptions} from './options'
import type {EvalReport} from './report'

export interface ExternalOptions extends EvalRunOptions {
  external: {command: string | string[]; workdir: string; env: Record<string, string>}
  workDir: string
  /** the script outputs so far, by committed name (updated in place) */
  outputs: Record<string, Uint8Array>
}

const safe = (name: string) => name.replace(/[^A-Za-z0-9._@-]+/g, '_')

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(path.join(dir, f)).isDirectory() ? filesUnder(path.join(dir, f), `${prefix}${f}/`) : [`${prefix}${f}`]))
}

/** Runs argv, its output streamed to log; resolves with the exit code, or 'stopped' when asked to stop (the script is killed). */
function runScript(argv: string[], cwd: string, env: NodeJS.ProcessEnv, log: (line: string) => void, stopRequested?: () => boolean): Promise<number | 'stopped'> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    const lines = (chunk: Buffer) =>
      chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .forEach((l) => log(`  | ${l}`))
    child.stdout.on('data', lines)
    child.stderr.on('data', lines)
    let stopped = false
    const poll = setInterval(() => {
      if (!stopped && stopRequested?.()) {
        stopped = true
        child.kill('SIGTERM')
      }
    }, 200)
    child.on('error', (error) => {
      log(`  cannot start ${argv[0]}: ${error.message}`)
    })
    child.on('close', (code) => {
      clearInterval(poll)
      resolve(stopped ? 'stopped' : (code ?? 1))
    })
  })
}

export async function runExternal(o: ExternalOptions): Promise<EvalReport & {stopped: boolean}> {
  const resolved = await resolveModel(o.model, o.checkpoints, o.runs, o.kind)
  const names = o.share ? o.share(resolved.sources.map((s) => s.name)) : resolved.sources.map((s) => s.name)
  const mine = resolved.sources.filter((s) => names.includes(s.name))
  const report: EvalReport = {
    model: resolved.model,
    kind: resolved.kind ?? null,
    created: (o.now ?? new Date()).toISOString(),
    benchmarks: [],
    checkpoints: mine.map((s) => ({name: s.name, step: s.step})),
    done: [],
    grader: null,
    results: [],
  }
  if (o.resume) {
    report.done = o.resume.done.filter((n) => names.includes(n))
    report.results = o.resume.results.filter((r) => report.done.includes(r.checkpoint))
    if (report.done.length > 0) o.log(`resuming after ${report.done.length} evaluated checkpoint(s): ${report.done.join(', ')}`)
  }
  const command = typeof o.external.command === 'string' ? o.external.command : o.external.command.join(' ')
  o.log(`running ${command} on ${mine.length - report.done.length} checkpoint(s) of ${resolved.model}`)
  for (const source of mine) {
    if (report.done.includes(source.name)) continue
    if (o.stopRequested?.()) return {...report, stopped: true}
    const modelPath = path.join(o.workDir, 'checkpoints', safe(source.name))
    const outputDir = path.join(o.workDir, 'outputs', safe(source.name))
    mkdirSync(outputDir, {recursive: true})
    const row = {checkpoint: source.name, step: source.step, benchmark: 'external', task: 'all', accuracy: null, samples: 0, correct: 0, unreadable: 0, graded: 0, grader_fallbacks: 0}
    let files: Record<string, Uint8Array>
    try {
      files = await source.read()
    } catch (error) {
      report.results.push({...row, status: 'error', error: (error as Error).message})
      report.done.push(source.name)
      await o.onCheckpoint?.(report)
      continue
    }
    for (const [name, bytes] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(modelPath, name)), {recursive: true})
      writeFileSync(path.join(modelPath, name), bytes)
    }
    const fill = (arg: string) =>
      arg
        .replaceAll('{model_path}', modelPath)
        .replaceAll('{output_dir}', outputDir)
        .replaceAll('{max_samples}', String(o.maxSamples ?? ''))
    const argv = typeof o.external.command === 'string' ? ['/bin/sh', '-c', fill(o.external.command)] : o.external.command.map(fill)
    const env = {...process.env, ...o.external.env, RFM_MODEL_PATH: modelPath, RFM_OUTPUT_DIR: outputDir, RFM_CHECKPOINT: source.name, RFM_STEP: String(source.step ?? '')}
    o.log(`${source.name}: ${argv.join(' ')}`)
    const code = await runScript(argv, o.external.workdir, env, o.log, o.stopRequested)
    if (code === 'stopped') return {...report, stopped: true}
    for (const f of filesUnder(outputDir)) o.outputs[`external/${safe(source.name)}/${f}`] = readFileSync(path.join(outputDir, f))
    report.results.push(code === 0 ? {...row, status: 'ok'} : {...row, status: 'error', error: `the evaluation script exited with ${code}`})
    report.done.push(source.name)
    o.log(`${source.name}: exit ${code}`)
    await o.onCheckpoint?.(report)
  }
  return {...report, stopped: false}
}
