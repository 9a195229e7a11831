/**
 * Reads a local file or directory tree for staging. Symlinks whose target stays inside the tree
 * are recorded as links (not followed); a symlink that leaves the tree is refused, as is anything
 * that is neither a file, a directory nor a link (sockets, FIFOs, devices).
 */
import {promises as fs, type BigIntStats} from 'node:fs'
import * as path from 'node:path'

import {NotFoundError, UsageError} from '../errors'
import type {ManifestLink} from './manifest'
import {linkStaysInside} from './manifest'

export interface LocalFile {
  /** relative, '/'-separated */
  path: string
  abs: string
  size: number
  mode: number
  /** what the hash cache compares: size, mtime, ctime and inode */
  stamp: string
  mtimeMs: number
}

export interface LocalTree {
  root: 'dir' | 'file'
  /** the real directory the paths are relative to (for a single file: its folder) */
  base: string
  files: LocalFile[]
  links: ManifestLink[]
}

export function stampOf(stat: BigIntStats): string {
  return `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`
}

function toFile(rel: string, abs: string, stat: BigIntStats): LocalFile {
  return {path: rel, abs, size: Number(stat.size), mode: Number(stat.mode) & 0o777, stamp: stampOf(stat), mtimeMs: Number(stat.mtimeMs)}
}

/** Leaves a path out of the tree (relative, '/'-separated; folders are asked with isDir true). */
export type TreeFilter = (rel: string, isDir: boolean) => boolean

export async function walkTree(source: string, ignored?: TreeFilter): Promise<LocalTree> {
  let stat: BigIntStats
  try {
    stat = await fs.stat(source, {bigint: true})
  } catch {
    throw new NotFoundError(`${source} does not exist.`, {hint: 'Give a file or a directory to stage.'})
  }
  // The path the user named may itself be a link: follow it, then never follow links below it.
  const real = await fs.realpath(source)
  if (stat.isFile()) {
    const rel = path.basename(real)
    return {root: 'file', base: path.dirname(real), files: [toFile(rel, real, stat)], links: []}
  }
  if (!stat.isDirectory()) throw new UsageError(`${source} is neither a file nor a directory.`)

  const tree: LocalTree = {root: 'dir', base: real, files: [], links: []}
  const visit = async (relDir: string): Promise<void> => {
    const absDir = relDir ? path.join(real, relDir) : real
    const entries = await fs.readdir(absDir, {withFileTypes: true})
    const subdirs: string[] = []
    await Promise.all(
      entries.map(async (entry) => {
        const rel = relDir ? `${relDir}/${entry.name}` : entry.name
        const abs = path.join(absDir, entry.name)
        if (ignored?.(rel, entry.isDirectory())) return
        if (entry.name.includes('\\')) throw new UsageError(`Cannot stage ${abs}: backslashes in file names are not portable.`)
        if (entry.isDirectory()) subdirs.push(rel)
        else if (entry.isFile()) tree.files.push(toFile(rel, abs, await fs.lstat(abs, {bigint: true})))
        else if (entry.isSymbolicLink()) tree.links.push(await readLink(real, rel, abs))
        else throw new UsageError(`Cannot stage ${abs}: it is not a regular file, directory or symlink.`, {hint: 'Remove sockets, FIFOs and device files from the dataset folder.'})
      }),
    )
    await Promise.all(subdirs.map(visit)) // folders in parallel (the order is restored by the sort below)
  }
  await visit('')
  const byPath = <T extends {path: string}>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  tree.files.sort(byPath)
  tree.links.sort(byPath)
  return tree
}

async function readLink(root: string, rel: string, abs: string): Promise<ManifestLink> {
  const raw = await fs.readlink(abs)
  const targetAbs = path.resolve(path.dirname(abs), raw)
  const target = path.relative(path.dirname(abs), targetAbs).split(path.sep).join('/') || '.'
  const refuse = () =>
    new UsageError(`Refusing to stage ${abs}: the symlink points outside the dataset (${raw}).`, {
      code: 'UNSAFE_PATH',
      hint: 'Links inside the dataset are stored as links; copy the target in, or stage its folder instead.',
    })
  if (!linkStaysInside(rel, target)) throw refuse()
  // Also through other links: where it really leads must be inside the tree too.
  const resolved = await fs.realpath(abs).catch(() => undefined)
  if (resolved && resolved !== root && !resolved.startsWith(root + path.sep)) throw refuse()
  return {path: rel, target}
}
