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
}

export async function startS3rver(bucket = 'rfm-test'): Promise<S3rverHandle> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'rfm-s3rver-'))
  const child: ChildProcess = spawn(process.execPath, [__filename, directory, bucket], {
    env: {...process.env, RFM_S3RVER_CHILD: '1', NODE_OPTIONS: '--openssl-legacy-provider'},
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({input: child.stdout!})
    lines.once('line', (line) => resolve(Number(JSON.parse(line).port)))
    child.once('exit', (code) => reject(new Error(`s3rver exited early (code ${code})`)))
  })
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    bucket,
    pid: child.pid!,
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

async function childMain(directory: string, bucket: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {run(): Promise<{port: number}>; close(): Promise<void>}
  const server = new S3rver({address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{name: bucket}]})
  const {port} = await server.run()
  process.stdout.write(JSON.stringify({port}) + '\n')
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}

if (require.main === module && process.env.RFM_S3RVER_CHILD === '1') {
  childMain(process.argv[2], process.argv[3]).catch((error: Error) => {
    console.error(error.stack)
    process.exit(1)
  })
}
