/**
 * The Automation API drives the `pulumi` CLI as a child process. Find it before starting, so that a
 * machine without it gets one clear error with an install hint instead of `spawn pulumi ENOENT`.
 */
import {accessSync, constants, statSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {NotBuiltError} from '../errors'

export const PULUMI_INSTALL_HINT =
  'Install the Pulumi CLI (https://www.pulumi.com/docs/install/): `curl -fsSL https://get.pulumi.com | sh` or `brew install pulumi/tap/pulumi`, ' +
  'then open a new shell (or add ~/.pulumi/bin to PATH) and run the command again.'

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/** Folders searched for `pulumi`, in order: PATH, then $PULUMI_HOME/bin and ~/.pulumi/bin (where the installer puts it). */
export function pulumiSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean)
  if (env.PULUMI_HOME) dirs.push(path.join(env.PULUMI_HOME, 'bin'))
  const home = env.HOME ?? os.homedir()
  if (home) dirs.push(path.join(home, '.pulumi', 'bin'))
  return [...new Set(dirs)]
}

/** Absolute path of the pulumi executable, or undefined when there is none. */
export function findPulumi(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const names = process.platform === 'win32' ? ['pulumi.exe', 'pulumi.cmd'] : ['pulumi']
  for (const dir of pulumiSearchPath(env)) {
    for (const name of names) {
      const file = path.join(dir, name)
      if (isExecutable(file)) return file
    }
  }
  return undefined
}

export function pulumiMissingError(searched: string[], cause?: unknown): NotBuiltError {
  return new NotBuiltError('The Pulumi CLI is not installed: `rfm infra` drives it through the Pulumi Automation API and cannot run without it.', {
    code: 'PULUMI_CLI_MISSING',
    hint: PULUMI_INSTALL_HINT,
    details: {searched},
    cause,
  })
}

/** Throws the missing-CLI error unless pulumi is found; returns its path. */
export function requirePulumi(env: NodeJS.ProcessEnv = process.env): string {
  const found = findPulumi(env)
  if (!found) throw pulumiMissingError(pulumiSearchPath(env))
  return found
}

/** True for the error a spawn of a missing `pulumi` produces (in case one slips past the check). */
export function isPulumiSpawnEnoent(error: unknown): boolean {
  const err = error as NodeJS.ErrnoException & {path?: string; spawnargs?: string[]}
  if (!err || typeof err !== 'object') return false
  if (err.code === 'ENOENT' && typeof err.path === 'string' && /(^|[\\/])pulumi(\.exe|\.cmd)?$/.test(err.path)) return true
  return /spawn \S*pulumi(\.exe|\.cmd)? ENOENT/.test(String(err.message ?? ''))
}
