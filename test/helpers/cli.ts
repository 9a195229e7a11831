import {execFile} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

/** The repository root (tests run from dist/test/…). */
export const ROOT = path.resolve(__dirname, '..', '..', '..')
export const BIN = path.join(ROOT, 'bin', 'run.js')

/** A fresh RFM_HOME, so each test has its own profiles and local store. */
export function tempHome(prefix = 'rfm-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix))
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the real CLI as a child process. */
export function rfm(args: string[], options: {home: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd ?? ROOT,
        env: {...process.env, RFM_HOME: options.home, NO_COLOR: '1', RFM_PROFILE: undefined, ...options.env},
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({code, stdout, stderr})
      },
    )
  })
}

/** Runs the CLI with --json and parses stdout. */
export async function rfmJson<T = any>(args: string[], options: Parameters<typeof rfm>[1]): Promise<CliResult & {json: T}> {
  const result = await rfm([...args, '--json'], options)
  let json: T
  try {
    json = JSON.parse(result.stdout) as T
  } catch {
    throw new Error(`stdout of rfm ${args.join(' ')} --json is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`)
  }
  return {...result, json}
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
