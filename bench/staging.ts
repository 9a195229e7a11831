/**
 * `npm run bench -- staging [--files 2000] [--big 4] [--big-mb 64] [--repeats 3]`
 *
 * Stages a generated tree (many 4–64 KB files plus a few large ones) and prints, from one run:
 *   1. file-store staging throughput ÷ a plain recursive copy of the same tree on the same disk
 *      (Node's fs.cp, in the same process as the stage; `cp -r` is printed for reference: it uses
 *      copy_file_range, so no byte enters user space, while staging must read every byte to hash it)
 *   2. S3 staging throughput (s3rver on 127.0.0.1) ÷ a naive loop of one PutObject at a time
 *   3. re-stage of the unchanged tree ÷ first stage (file store and S3)
 * Each timing is the median of --repeats runs; every first stage starts from an empty store and an
 * empty hash cache, so hashing is part of its cost. Before each timed step the disk's dirty pages are
 * flushed (`sync`), so no step pays for the writeback of the one before it, the copy and the stage
 * swap places every repeat, and nothing is deleted before the end (~1 GB of disk per repeat). `--only file` or `--only s3` runs one half.
 */
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {promises as fs} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {stageTree} from '../src/staging'
import {FileStore} from '../src/store/file-store'
import {S3Store} from '../src/store/s3-store'
import {S3RVER_CREDENTIALS, startS3rver} from '../test/helpers/s3rver'
import {median, ratioLine, timeMs} from './_stats'

interface Cpu {
  client: number
  server: number
  /** s3rver's main thread alone: its JavaScript (HTTP, auth, md5, XML) runs there, one request at a time */
  serverMain: number
}

/** utime + stime in seconds from a /proc stat file (fields 14 and 15, clock ticks of 1/100 s on Linux). */
async function procSeconds(file: string): Promise<number> {
  try {
    const fields = (await fs.readFile(file, 'utf8')).split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/** CPU seconds (user + system) used so far by this process and by the s3rver child (and its main thread). */
async function cpuSeconds(serverPid: number): Promise<Cpu> {
  const usage = process.cpuUsage()
  const [server, serverMain] = await Promise.all([procSeconds(`/proc/${serverPid}/stat`), procSeconds(`/proc/${serverPid}/task/${serverPid}/stat`)])
  return {client: (usage.user + usage.system) / 1e6, server, serverMain}
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}

async function generate(root: string, files: number, big: number, bigMb: number): Promise<number> {
  let bytes = 0
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `session-${String(i % 37).padStart(2, '0')}`)
    await fs.mkdir(dir, {recursive: true})
    const size = 4096 + Math.floor(Math.random() * (60 * 1024))
    await fs.writeFile(path.join(dir, `traj-${i}.npz`), randomBytes(size))
    bytes += size
  }
  for (let i = 0; i < big; i++) {
    const file = await fs.open(path.join(root, `shard-${i}.bin`), 'w')
    for (let mb = 0; mb < bigMb; mb++) await file.write(randomBytes(1024 * 1024))
    await file.close()
    bytes += bigMb * 1024 * 1024
  }
  return bytes
}

/** Flushes dirty pages to disk, so the next timed step starts with none of an earlier one's writeback. */
function settleDisk(): void {
  execFileSync('sync')
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')

export default async function staging(args: string[]): Promise<void> {
  const files = flag(args, 'files', 2000)
  const big = flag(args, 'big', 4)
  const bigMb = flag(args, 'big-mb', 64)
  const repeats = flag(args, 'repeats', 3)
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'rfm-bench-staging-'))
  const savedHome = process.env.RFM_HOME
  const s3 = await startS3rver('rfm-bench')
  try {
    const tree = path.join(work, 'tree')
    const bytes = await generate(tree, files, big, bigMb)
    console.log(`tree: ${files} files of 4–64 KB + ${big} × ${bigMb} MB = ${(bytes / 1e6).toFixed(0)} MB, ${repeats} repeats (median)`)
    console.log(`load average at start: ${load()} (${os.cpus().length} cores)`)
    // Files written a moment ago are "racy" for the hash cache (as in git); let them settle first.
    await new Promise((resolve) => setTimeout(resolve, 1100))

    let n = 0
    const fresh = async () => {
      const dir = path.join(work, `run-${++n}`)
      process.env.RFM_HOME = path.join(dir, 'home')
      return dir
    }
    const s3Store = (prefix: string) => S3Store.open(`s3://rfm-bench/${prefix}`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS})

    const copy: number[] = []
    const coreutilsCopy: number[] = []
    const fileFirst: number[] = []
    const fileAgain: number[] = []
    const naive: number[] = []
    const s3First: number[] = []
    const s3Again: number[] = []
    const zero = (): Cpu => ({client: 0, server: 0, serverMain: 0})
    const cpu = {naive: zero(), staged: zero(), copy: zero(), fileStage: zero()}
    const measureCpu = async <T>(into: Cpu, fn: () => Promise<T>): Promise<T> => {
      const before = await cpuSeconds(s3.pid)
      const result = await fn()
      const after = await cpuSeconds(s3.pid)
      into.client += (after.client - before.client) / repeats
      into.server += (after.server - before.server) / repeats
      into.serverMain += (after.serverMain - before.serverMain) / repeats
      return result
    }
    for (let r = 0; r < repeats; r++) {
      if (only !== 's3') {
        const copyDir = await fresh()
        const storeDir = await fresh()
        const store = new FileStore(path.join(storeDir, 'store'))
        const plainCopy = async () => {
          settleDisk()
          copy.push(await measureCpu(cpu.copy, () => timeMs(() => fs.cp(tree, path.join(copyDir, 'copy'), {recursive: true}))))
          settleDisk()
          coreutilsCopy.push(await timeMs(() => execFileSync('cp', ['-r', tree, path.join(copyDir, 'cp-r')])))
        }
        const stage = async () => {
          process.env.RFM_HOME = path.join(storeDir, 'home')
          settleDisk()
          fileFirst.push(await measureCpu(cpu.fileStage, () => timeMs(() => stageTree(store, tree, {name: 'bench'}))))
          settleDisk()
          fileAgain.push(await timeMs(() => stageTree(store, tree, {name: 'bench'})))
        }
        // Alternate which goes first: neither always meets a cold or a warm page cache.
        if (r % 2 === 0) await plainCopy().then(stage)
        else await stage().then(plainCopy)
        // Outputs stay until the end: on ext4, creating files right after deleting thousands costs
        // more (the allocator skips recently freed inodes), and that cost should land on no step.
      }
      if (only === 'file') continue

      // The naive baseline: walk, then one PutObject per file (the same store's put), one after another.
      const naiveStore = await s3Store(`naive-${r}`)
      const all: string[] = []
      const walk = async (dir: string): Promise<void> => {
        for (const entry of await fs.readdir(dir, {withFileTypes: true})) {
          if (entry.isDirectory()) await walk(path.join(dir, entry.name))
          else all.push(path.join(dir, entry.name))
        }
      }
      settleDisk()
      naive.push(
        await measureCpu(cpu.naive, () =>
          timeMs(async () => {
            await walk(tree)
            for (const file of all) await naiveStore.put(path.relative(tree, file), await fs.readFile(file))
          }),
        ),
      )

      await fresh()
      const staged = await s3Store(`staged-${r}`)
      settleDisk()
      s3First.push(await measureCpu(cpu.staged, () => timeMs(() => stageTree(staged, tree, {name: 'bench'}))))
      s3Again.push(await timeMs(() => stageTree(staged, tree, {name: 'bench'})))
    }

    const ms = (values: number[]) => median(values)
    const mbps = (t: number) => `${(bytes / 1e6 / (t / 1000)).toFixed(0)} MB/s`
    const cores = os.cpus().length
    if (only !== 's3') {
      console.log(`plain recursive copy        ${ms(copy).toFixed(0).padStart(6)} ms  ${mbps(ms(copy))}  (fs.cp, in process)`)
      console.log(`cp -r (coreutils)           ${ms(coreutilsCopy).toFixed(0).padStart(6)} ms  ${mbps(ms(coreutilsCopy))}  (for reference)`)
      console.log(`stage → file store          ${ms(fileFirst).toFixed(0).padStart(6)} ms  ${mbps(ms(fileFirst))}`)
      console.log(`re-stage → file store       ${ms(fileAgain).toFixed(0).padStart(6)} ms`)
      console.log(`CPU (user + system, mean): fs.cp ${cpu.copy.client.toFixed(2)} s, stage ${cpu.fileStage.client.toFixed(2)} s`)
    }
    if (only !== 'file') {
      console.log(`naive PutObject loop → S3   ${ms(naive).toFixed(0).padStart(6)} ms  ${mbps(ms(naive))}`)
      console.log(`stage → S3 (s3rver)         ${ms(s3First).toFixed(0).padStart(6)} ms  ${mbps(ms(s3First))}`)
      console.log(`re-stage → S3               ${ms(s3Again).toFixed(0).padStart(6)} ms`)
      // Against s3rver on this machine the S3 figures are bounded by CPU: client and server share the
      // cores, so no schedule can finish the staged upload in less than their CPU time ÷ cores.
      const cpuLine = (label: string, c: Cpu, wallMs: number) =>
        console.log(
          `${label} CPU: client ${c.client.toFixed(1)} s + s3rver ${c.server.toFixed(1)} s (${c.serverMain.toFixed(1)} s on its main thread) in ${(wallMs / 1000).toFixed(1)} s wall on ${cores} cores`,
        )
      cpuLine('naive loop', cpu.naive, ms(naive))
      cpuLine('stage → S3', cpu.staged, ms(s3First))
      const floorMs = ((cpu.staged.client + cpu.staged.server) / cores) * 1000
      console.log(`CPU ceiling: naive ÷ (staged CPU ÷ ${cores} cores) = ${(ms(naive) / floorMs).toFixed(2)}× at most on this machine`)
      // s3rver serves requests on one JavaScript thread: however many PUTs are in flight, the staged
      // upload takes at least that thread's CPU time.
      console.log(`s3rver ceiling: naive ÷ s3rver main-thread CPU of the stage = ${(ms(naive) / (cpu.staged.serverMain * 1000)).toFixed(2)}× at most`)
    }
    if (process.env.RFM_BENCH_VERBOSE) console.log(JSON.stringify({copy, coreutilsCopy, fileFirst, fileAgain, naive, s3First, s3Again}))
    console.log(`load average at end: ${load()}`)
    console.log('')
    if (only !== 's3') {
      console.log(ratioLine('staging ÷ plain copy throughput (file store)', ms(copy) / ms(fileFirst), '≥ 0.7'))
      console.log(ratioLine('staging ÷ cp -r throughput (file store)', ms(coreutilsCopy) / ms(fileFirst), 'none: for reference'))
      console.log(ratioLine('re-stage ÷ first stage time (file store)', ms(fileAgain) / ms(fileFirst), '≤ 0.05'))
    }
    if (only !== 'file') {
      console.log(ratioLine('staging ÷ naive PutObject loop throughput (S3)', ms(naive) / ms(s3First), '≥ 3×'))
      console.log(ratioLine('re-stage ÷ first stage time (S3)', ms(s3Again) / ms(s3First), '≤ 0.05'))
    }
  } finally {
    if (savedHome === undefined) delete process.env.RFM_HOME
    else process.env.RFM_HOME = savedHome
    await s3.stop()
    await fs.rm(work, {recursive: true, force: true})
  }
}
