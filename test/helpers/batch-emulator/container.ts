/**
 * One attempt's container, without Docker: the image's entry point as the image's user (uid/gid
 * from its Dockerfile), in a fresh empty WORKDIR, with only the image's ENV, the job definition's
 * environment plus the SubmitJob overrides and what Batch/ECS add, and the MEMORY requirement as a
 * hard limit. What it cannot emulate: a separate root filesystem (the host's files stay visible,
 * subject to Unix permissions), GPUs, and CPU shares (on EC2 a VCPU is 1024 CPU shares, a relative
 * weight: the container still sees every host CPU, so nothing limits it here either).
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {ROOT} from '../cli'

export interface ContainerImage {
  uid: number
  gid: number
  /** the image's WORKDIR (a fresh empty folder stands in for it on each attempt) */
  workdir: string
  env: Record<string, string>
  entrypoint: string[]
}

/** PATH of the python:3.11-slim base image, which the final stage's ENV PATH extends. */
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The final stage of an rfm Dockerfile: its user, WORKDIR, ENV and ENTRYPOINT. */
export function imageFromDockerfile(file = path.join(ROOT, 'containers', 'external', 'Dockerfile')): ContainerImage {
  const text = readFileSync(file, 'utf8').replace(/\\\n/g, ' ')
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  const finalStage = lines.slice(lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true))
  const env: Record<string, string> = {PATH: BASE_PATH}
  let workdir = '/'
  let entrypoint: string[] = []
  let uid = 0
  let gid = 0
  for (const line of finalStage) {
    const [instruction, ...rest] = line.split(/\s+/)
    const args = rest.join(' ')
    switch (instruction.toUpperCase()) {
      case 'ENV':
        for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
          env[m[1]] = m[2].replace(/^"|"$/g, '').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => env[name] ?? '')
        break
      case 'WORKDIR':
        workdir = args
        break
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(args) as string[]
        break
      case 'RUN': {
        const u = /--uid\s+(\d+)/.exec(args)
        const g = /--gid\s+(\d+)/.exec(args)
        if (u) uid = Number(u[1])
        if (g) gid = Number(g[1])
        break
      }
    }
  }
  return {uid, gid, workdir, env, entrypoint}
}

/** Paths of the image mapped onto this machine: /opt/rfm is this checkout, node is this node. */
function hostPath(imagePath: string): string {
  if (imagePath === 'node') return process.execPath
  if (imagePath.startsWith('/opt/rfm/')) return path.join(ROOT, imagePath.slice('/opt/rfm/'.length))
  return imagePath
}

export interface RunningContainer {
  child: ChildProcess
  workdir: string
  /** stops the memory watch */
  dispose(): void
}

/**
 * Whether this machine lets root make a private mount namespace (unshare) and drop to another uid
 * (setpriv): then the WORKDIR is the image's real path (/home/rfm), a fresh folder mounted over /home
 * for this attempt only. Elsewhere the fresh folder has another path, and values in the container's
 * environment that name the WORKDIR are rewritten to it.
 */
let namespaces: boolean | undefined
function mountNamespaces(): boolean {
  namespaces ??= spawnSync('unshare', ['--mount', '--propagation', 'private', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0
  return namespaces
}

export function startContainer(options: {image: ContainerImage; env: Record<string, string>; memoryMiB?: number; onOutOfMemory: () => void}): RunningContainer {
  const {image} = options
  const parent = image.workdir.split('/').slice(0, 2).join('/') || '/'
  const isolated = mountNamespaces() && parent !== '/' && parent !== image.workdir
  // A fresh, empty WORKDIR owned by the image's user.
  const root = mkdtempSync(path.join(os.tmpdir(), 'rfm-emu-workdir-'))
  chmodSync(root, 0o755)
  const workdir = isolated ? path.join(root, path.relative(parent, image.workdir)) : root
  mkdirSync(workdir, {recursive: true})
  chownSync(workdir, image.uid, image.gid)
  const seenWorkdir = isolated ? image.workdir : workdir
  // The container's own /tmp (empty, as in a fresh container); handed over as TMPDIR, which
  // Node's os.tmpdir() and most tools honour.
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rfm-emu-tmp-'))
  chownSync(tmp, image.uid, image.gid)
  const [program, ...args] = image.entrypoint.map(hostPath)
  const rewrite = (value: string) => (!isolated && value.startsWith(image.workdir) ? workdir + value.slice(image.workdir.length) : value)
  const containerEnv = Object.fromEntries(Object.entries(options.env).map(([k, v]) => [k, rewrite(v)]))
  // Docker sets HOME from the image user's passwd entry (/home/rfm, which is also the WORKDIR here).
  const env = {...image.env, HOSTNAME: `ip-10-0-${Math.floor(Math.random() * 255)}-1`, HOME: seenWorkdir, TMPDIR: tmp, ...containerEnv}
  const child = isolated
    ? spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount --bind "$0" ${parent} && cd ${image.workdir} && unset PWD OLDPWD && exec setpriv --reuid=${image.uid} --regid=${image.gid} --clear-groups -- "$@"`,
          root,
          program,
          ...args,
        ],
        {env, detached: true, stdio: ['ignore', 'pipe', 'pipe']},
      )
    : spawn(program, args, {cwd: workdir, env, uid: image.uid, gid: image.gid, detached: true, stdio: ['ignore', 'pipe', 'pipe']})
  let watch: NodeJS.Timeout | undefined
  if (options.memoryMiB !== undefined && child.pid) {
    const limit = options.memoryMiB * 1024 * 1024
    // ResourceRequirement MEMORY: "The memory hard limit (in MiB) present to the container ... If
    // your container attempts to exceed the memory specified, the container is terminated."
    watch = setInterval(() => {
      if (child.pid && treeRss(child.pid) > limit) {
        clearInterval(watch)
        options.onOutOfMemory()
      }
    }, 50)
    watch.unref()
  }
  const dispose = () => {
    clearInterval(watch)
    // The container is gone: so are its WORKDIR and /tmp.
    for (const dir of [root, tmp]) rmSync(dir, {recursive: true, force: true})
  }
  return {child, workdir, dispose}
}

/** Resident memory of a process and all its descendants, from /proc. */
export function treeRss(root: number): number {
  const parents = new Map<number, number>()
  const rss = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      parents.set(Number(entry), Number(fields[1]))
      rss.set(Number(entry), Number(fields[21]) * 4096)
    } catch {}
  }
  let total = 0
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true
    return false
  }
  for (const [pid, bytes] of rss) if (inTree(pid)) total += bytes
  return total
}
