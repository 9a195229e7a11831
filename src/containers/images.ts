/**
 * The images rfm builds and exactly what goes into each one's build context. The context is
 * staged from these lists (never from the repository as a whole), so the content hash covers
 * precisely the bytes that the Dockerfile can see.
 *
 *   base              containers/base      CUDA + Node + rfm runtime + tfjs-node-gpu
 *   <plugin>          containers/plugin    base + one plugin's compiled code
 *   external[-<p>]    containers/external  Python + PyTorch + the user's requirements + rfm runtime
 */
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {NotBuiltError, UsageError} from '../errors'
import {contentHash, normaliseBytes, type ContextFile} from './hash'

/** The rfm package root (this file is dist/src/containers/images.js). */
export const RFM_ROOT = path.resolve(__dirname, '..', '..', '..')

export type DockerfileName = 'base' | 'plugin' | 'external'

export interface ImageSpec {
  /** image name, the tag's prefix: base, sft, external, external-sft */
  image: string
  dockerfile: DockerfileName
  files: ContextFile[]
  /** build arguments that are part of the content hash */
  hashedArgs: Record<string, string>
  hash: string
  /** `<image>-<first 32 hex digits of the hash>` */
  tag: string
  /** the image this one is built FROM (plugin images: base) */
  base?: ImageSpec
}

export interface PluginRef {
  name: string
  root?: string
}

async function fileEntry(source: string, contextPath: string): Promise<ContextFile> {
  const [bytes, stat] = await Promise.all([fs.readFile(source), fs.stat(source)])
  return {path: contextPath, bytes: normaliseBytes(bytes), executable: (stat.mode & 0o100) !== 0}
}

/** Every regular file under `dir`, placed under `prefix` in the context. */
async function treeEntries(dir: string, prefix: string): Promise<ContextFile[]> {
  const out: ContextFile[] = []
  for (const entry of await fs.readdir(dir, {withFileTypes: true})) {
    const source = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await treeEntries(source, `${prefix}/${entry.name}`)))
    else if (entry.isFile() && !entry.name.endsWith('.tsbuildinfo')) out.push(await fileEntry(source, `${prefix}/${entry.name}`))
  }
  return out
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  )
}

/** Workspace plugins (folders under plugins/ with a package.json): their folder names. */
async function workspacePluginDirs(root: string): Promise<string[]> {
  const dir = path.join(root, 'plugins')
  const names = await fs.readdir(dir).catch(() => [] as string[])
  const found: string[] = []
  for (const name of names.sort()) if (await exists(path.join(dir, name, 'package.json'))) found.push(name)
  return found
}

/** package.json, the lockfile, the workspace plugins' package.json files and the compiled runtime. */
async function runtimeEntries(root: string): Promise<ContextFile[]> {
  if (!(await exists(path.join(root, 'dist', 'src', 'runtime', 'main.js')))) {
    throw new NotBuiltError(`The rfm runtime is not compiled: ${path.join(root, 'dist', 'src', 'runtime', 'main.js')} is missing.`, {
      hint: 'Run npm run build in the rfm checkout first; images carry the compiled runtime.',
    })
  }
  const entries = [await fileEntry(path.join(root, 'package.json'), 'rfm/package.json'), await fileEntry(path.join(root, 'package-lock.json'), 'rfm/package-lock.json')]
  for (const dir of await workspacePluginDirs(root)) entries.push(await fileEntry(path.join(root, 'plugins', dir, 'package.json'), `rfm/plugins/${dir}/package.json`))
  entries.push(...(await treeEntries(path.join(root, 'dist', 'src'), 'rfm/dist/src')))
  return entries
}

async function dockerfileEntry(root: string, name: DockerfileName): Promise<ContextFile> {
  return fileEntry(path.join(root, 'containers', name, 'Dockerfile'), 'Dockerfile')
}

/** The folder of a plugin inside rfm's workspace, or an error for plugins installed elsewhere. */
async function pluginDir(root: string, plugin: PluginRef): Promise<string> {
  const pluginsDir = path.join(root, 'plugins')
  const pluginRoot = plugin.root ? path.resolve(plugin.root) : undefined
  const realRoot = pluginRoot ? await fs.realpath(pluginRoot).catch(() => pluginRoot) : undefined
  const realPlugins = await fs.realpath(pluginsDir).catch(() => pluginsDir)
  if (!realRoot || path.dirname(realRoot) !== realPlugins) {
    throw new NotBuiltError(`rfm builds images only for the plugins in its own workspace; ${plugin.name} is installed elsewhere.`, {
      hint: "Build an image FROM the rfm base image yourself and name it in the job kind's `image` (see containers/README.md).",
    })
  }
  const dir = path.basename(realRoot)
  if (!(await exists(path.join(realRoot, 'dist')))) {
    throw new NotBuiltError(`Plugin ${plugin.name} is not compiled: ${path.join(realRoot, 'dist')} is missing.`, {hint: 'Run npm run build first.'})
  }
  return dir
}

/** `@rfm/plugin-sft` → `sft`: the image name of a plugin. */
export function pluginImageName(packageName: string): string {
  const bare = packageName.replace(/^@[^/]+\//, '').replace(/^(rfm-)?plugin-/, '')
  const safe = bare
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
  if (!safe || safe === 'base' || safe.startsWith('external')) throw new UsageError(`Plugin ${packageName} has no usable image name.`)
  return safe
}

function spec(image: string, dockerfile: DockerfileName, files: ContextFile[], hashedArgs: Record<string, string>, base?: ImageSpec): ImageSpec {
  const hash = contentHash(files, hashedArgs)
  return {image, dockerfile, files, hashedArgs, hash, tag: `${image}-${hash.slice(0, 32)}`, ...(base ? {base} : {})}
}

export async function baseImage(root = RFM_ROOT): Promise<ImageSpec> {
  return spec('base', 'base', [await dockerfileEntry(root, 'base'), ...(await runtimeEntries(root))], {})
}

/** A plugin's image: the base image plus the plugin's package.json and compiled code. */
export async function pluginImage(plugin: PluginRef, root = RFM_ROOT): Promise<ImageSpec> {
  const base = await baseImage(root)
  const dir = await pluginDir(root, plugin)
  const files = [
    await dockerfileEntry(root, 'plugin'),
    await fileEntry(path.join(root, 'plugins', dir, 'package.json'), `rfm/plugins/${dir}/package.json`),
    ...(await treeEntries(path.join(root, 'plugins', dir, 'dist'), `rfm/plugins/${dir}/dist`)),
  ]
  // The base enters by its tag (a content hash), not by its repository, so profiles agree.
  return spec(pluginImageName(plugin.name), 'plugin', files, {BASE_TAG: base.tag}, base)
}

/**
 * The external-trainer image: for the `command` kind (plugin undefined) or a plugin's external
 * mode, with the user's requirements file (an empty one when none is given).
 */
export async function externalImage(options: {plugin?: PluginRef; requirements?: string}, root = RFM_ROOT): Promise<ImageSpec> {
  const files = [await dockerfileEntry(root, 'external'), ...(await runtimeEntries(root))]
  let image = 'external'
  if (options.plugin) {
    const dir = await pluginDir(root, options.plugin)
    files.push(...(await treeEntries(path.join(root, 'plugins', dir, 'dist'), `rfm/plugins/${dir}/dist`)))
    image = `external-${pluginImageName(options.plugin.name)}`
  }
  if (options.requirements) {
    if (!(await exists(options.requirements))) throw new UsageError(`The requirements file ${options.requirements} does not exist.`, {hint: 'Give a pip requirements file with --requirements FILE.'})
    const entry = await fileEntry(options.requirements, 'requirements.txt')
    files.push({...entry, executable: false})
  } else {
    files.push({path: 'requirements.txt', bytes: Buffer.from('# no extra requirements\n'), executable: false})
  }
  return spec(image, 'external', files, {})
}

/** Writes the context to `dir` (modes 0755/0644, nothing else), ready for `docker build`. */
export async function stageContext(image: ImageSpec, dir: string): Promise<void> {
  for (const file of image.files) {
    const target = path.join(dir, ...file.path.split('/'))
    await fs.mkdir(path.dirname(target), {recursive: true})
    await fs.writeFile(target, file.bytes, {mode: file.executable ? 0o755 : 0o644})
    await fs.chmod(target, file.executable ? 0o755 : 0o644)
  }
}
