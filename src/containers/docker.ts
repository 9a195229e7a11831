/**
 * The docker CLI as rfm uses it: each call spawns `docker` from PATH (so a test can put a
 * recording stand-in there) and turns the CLI's known failure messages into typed errors.
 */
import {spawn} from 'node:child_process'

import {BackendError} from '../errors'
import {BuildxMissingError, DockerBuildError, DockerEngineError, DockerMissingError, EcrLoginError} from './errors'

export interface DockerResult {
  code: number
  stdout: string
  stderr: string
}

export interface DockerCliOptions {
  /** environment of the docker processes (default: process.env) */
  env?: NodeJS.ProcessEnv
  /** receives build and push output as it comes (default: discarded) */
  onOutput?: (text: string) => void
}

/** What the CLI prints when it reaches no engine (Linux socket, Docker Desktop, Windows pipe). */
const NO_ENGINE = [/Cannot connect to the Docker daemon[^\n]*/i, /error during connect[^\n]*/i, /Is the docker daemon running\?/i]
/** What it prints when the buildx plugin is missing (older and newer CLIs word it differently). */
const NO_BUILDX = [/'buildx' is not a docker command/i, /unknown command:? "?(docker )?buildx/i]

function firstLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .find((line) => line.trim())
      ?.trim() ?? '(no output)'
  )
}

export function engineFailure(stderr: string): DockerEngineError | undefined {
  for (const pattern of NO_ENGINE) {
    const match = pattern.exec(stderr)
    if (match) return new DockerEngineError(firstLine(stderr.slice(match.index)))
  }
  return undefined
}

export class DockerCli {
  constructor(private readonly options: DockerCliOptions = {}) {}

  /** Runs `docker ...args`; `input` goes to stdin; `stream` forwards output to onOutput. */
  run(args: string[], options: {input?: string; stream?: boolean} = {}): Promise<DockerResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('docker', args, {env: this.options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        stdout += text
        if (options.stream) this.options.onOutput?.(text)
      })
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        stderr += text
        if (options.stream) this.options.onOutput?.(text)
      })
      child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new DockerMissingError() : new BackendError(`Cannot run docker: ${error.message}`)))
      child.once('close', (code) => resolve({code: code ?? 1, stdout, stderr}))
      child.stdin.on('error', () => {}) // a CLI that exits before reading stdin is reported by its exit code
      child.stdin.end(options.input ?? '')
    })
  }

  /** Fails with DockerEngineError unless an engine answers. */
  async checkEngine(): Promise<string> {
    const result = await this.run(['version', '--format', '{{.Server.Version}}'])
    if (result.code === 0 && result.stdout.trim()) return result.stdout.trim()
    throw engineFailure(result.stderr) ?? new DockerEngineError(firstLine(result.stderr || result.stdout))
  }

  /** Fails with BuildxMissingError unless `docker buildx` is installed. */
  async checkBuildx(): Promise<string> {
    const result = await this.run(['buildx', 'version'])
    if (result.code === 0) return result.stdout.trim()
    const text = `${result.stderr}\n${result.stdout}`
    if (NO_BUILDX.some((pattern) => pattern.test(text))) throw new BuildxMissingError()
    throw engineFailure(text) ?? new BackendError(`docker buildx version failed: ${firstLine(text)}`)
  }

  /** `docker login` with the password on stdin (never in argv, where `ps` would show it). */
  async login(registry: string, username: string, password: string): Promise<void> {
    const result = await this.run(['login', '--username', username, '--password-stdin', registry], {input: password})
    if (result.code === 0) return
    throw engineFailure(result.stderr) ?? new EcrLoginError(`docker login ${registry}: ${firstLine(result.stderr || result.stdout)}`)
  }

  /** Whether the engine has the image locally. */
  async hasImage(ref: string): Promise<boolean> {
    const result = await this.run(['image', 'inspect', '--format', '{{.Id}}', ref])
    if (result.code === 0) return true
    const engine = engineFailure(result.stderr)
    if (engine) throw engine
    return false
  }

  /** `docker buildx build` of a staged context into the engine's image store (--load). */
  async build(options: {contextDir: string; ref: string; buildArgs: Record<string, string>; platform: string}): Promise<void> {
    const args = ['buildx', 'build', '--platform', options.platform, '--provenance=false', '--load', '--tag', options.ref]
    for (const [name, value] of Object.entries(options.buildArgs)) args.push('--build-arg', `${name}=${value}`)
    args.push(options.contextDir)
    const result = await this.run(args, {stream: true})
    if (result.code === 0) return
    throw engineFailure(result.stderr) ?? new DockerBuildError('build', options.ref, lastLine(result.stderr || result.stdout))
  }

  async push(ref: string): Promise<void> {
    const result = await this.run(['push', ref], {stream: true})
    if (result.code === 0) return
    throw engineFailure(result.stderr) ?? new DockerBuildError('push', ref, lastLine(result.stderr || result.stdout))
  }
}

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((line) => line.trim())
  return lines.at(-1)?.trim() ?? '(no output)'
}
