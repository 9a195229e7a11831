/**
 * A real S3-protocol server (s3rver) on 127.0.0.1 for tests and benchmarks. It runs as a child
 * process because paginated ListObjectsV2 needs `--openssl-legacy-provider` (s3rver encrypts its
 * continuation tokens with DES), which must not leak into the test process itself. The child exits
 * when its stdin closes, so it never outlives the process that started it.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {createInterface} from 'node:readline'

export const S3RVER_CREDENTIALS = {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}

export interface S3rverHandle {
  /** http://127.0.0.1:PORT */
  endpoint: string
  bucket: string
  /** the server's process id (benchmarks read its CPU time from /proc) */
  pid: number
  /** Environment for a child `rfm` so the SDK's default credential chain finds s3rver's keys. */
  env: NodeJS.ProcessEnv
  stop(): Promise<void>
  /**
   * An outage: the server stops listening and drops every connection, then exits; its data stays.
   * It is not SIGKILLed: S3 applies a PUT whole or not at all, while s3rver (object, md5 and
   * metadata.json as separate files) killed mid-write leaves a torn metadata.json that makes every
   * later listing of its folder a 500.
   */
  kill(): Promise<void>
  /** The end of the outage: a new server on the same port, with the same data. */
  restart(): Promise<void>
}

function spawnServer(directory: string, bucket: string, port: number): Promise<{child: ChildProcess; port: number}> {
  const child: ChildProcess = spawn(process.execPath, [__filename, directory, bucket, String(port)], {
    env: {...process.env, RFM_S3RVER_CHILD: '1', NODE_OPTIONS: '--openssl-legacy-provider'},
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    const lines = createInterface({input: child.stdout!})
    lines.once('line', (line) => resolve({child, port: Number(JSON.parse(line).port)}))
    child.once('exit', (code) => reject(new Error(`s3rver exited early (code ${code})`)))
  })
}

export async function startS3rver(bucket = 'rfm-test'): Promise<S3rverHandle> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'rfm-s3rver-'))
  let {child, port} = await spawnServer(directory, bucket, 0)
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    bucket,
    get pid() {
      return child.pid!
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
    async restart() {
      ;({child, port} = await spawnServer(directory, bucket, port))
    },
    env: {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.stdin!.end()
        await exited
      }
      rmSync(directory, {recursive: true, force: true})
    },
  }
}

async function childMain(directory: string, bucket: string, wanted: number): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {run(): Promise<{port: number}>; close(): Promise<void>}
  const server = new S3rver({address: '127.0.0.1', port: wanted, silent: true, directory, configureBuckets: [{name: bucket}]})
  const {port} = await server.run()
  process.stdout.write(JSON.stringify({port}) + '\n')
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
  // an outage (kill()): stop listening and drop every connection at once (clients see refused and
  // reset connections), then give handlers already past their socket a moment to finish their file
  // writes before the process goes, so no object's files are left half-written
  process.once('SIGTERM', () => {
    const http = (server as unknown as {httpServer?: import('node:http').Server}).httpServer
    http?.close()
    http?.closeAllConnections()
    setTimeout(() => process.exit(0), 1000)
  })
}

if (require.main === module && process.env.RFM_S3RVER_CHILD === '1') {
  childMain(process.argv[2], process.argv[3], Number(process.argv[4] ?? 0)).catch((error: Error) => {
    console.error(error.stack)
    process.exit(1)
  })
}
