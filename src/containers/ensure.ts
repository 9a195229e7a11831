/**
 * `ensureImage`: make sure the image a job kind runs in is in the registry, building and pushing
 * it only when its content hash (the tag) is not there yet. The flow, per image, base first:
 *   check tag (ECR DescribeImages) → if missing: engine + buildx check → ECR login → build → push.
 * The tag is checked before anything touches docker, so a machine without Docker can still
 * launch jobs whose images are already pushed. The aws-batch backend calls this at launch.
 */
import {promises as fs} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import type {Profile} from '../config/profiles'
import {ConfigError} from '../errors'
import {CORE_PLUGIN} from '../jobs/registry'
import {DockerCli} from './docker'
import {ecrRegistry, parseRepository, type Registry} from './ecr'
import {baseImage, externalImage, pluginImage, RFM_ROOT, stageContext, type ImageSpec, type PluginRef} from './images'

export type ImageStatus = 'up-to-date' | 'built' | 'planned' | 'custom'

export interface ImageResult {
  image: string
  tag: string
  hash: string
  /** repository:tag; absent in a dry run without imageRepository */
  ref?: string
  status: ImageStatus
  files: number
}

export interface EnsureResult {
  /** the image the job runs in (the last one built or found) */
  ref?: string
  images: ImageResult[]
}

export interface EnsureOptions {
  /** build the external-trainer image (Python) instead of the plugin's tfjs image */
  external?: boolean
  /** the user's pip requirements file, for external images */
  requirements?: string
  /** compute tags only: no docker, no ECR */
  dryRun?: boolean
  /** build into the local Docker engine only: no ECR, no push */
  local?: boolean
  /** rfm package root (tests build from a copy) */
  root?: string
  docker?: DockerCli
  /** ECR stand-in (tests); default: the profile's imageRepository through the AWS SDK */
  registry?: Registry
  log?: (line: string) => void
  platform?: string
}

/** A job kind as the registry or a resolved job carries it. */
export interface KindRef {
  kind: {name: string; image?: string}
  plugin: PluginRef
}

/** Where local (--local) builds are tagged. */
export const LOCAL_REPOSITORY = 'rfm-local'

/** The images a kind needs, in build order (a plugin image needs the base first). */
export async function imagesFor(kind: KindRef | undefined, options: Pick<EnsureOptions, 'external' | 'requirements' | 'root'> = {}): Promise<ImageSpec[]> {
  const root = options.root ?? RFM_ROOT
  if (!kind) return [await baseImage(root)]
  if (kind.plugin.name === CORE_PLUGIN) return [await externalImage({requirements: options.requirements}, root)]
  // A kind may declare `image: external` when it only trains through an external command.
  if (options.external || kind.kind.image === 'external') return [await externalImage({plugin: kind.plugin, requirements: options.requirements}, root)]
  const image = await pluginImage(kind.plugin, root)
  return [image.base!, image]
}

/** A kind whose `image` is a full reference (has a registry or a tag) runs in that image as is. */
export function customImage(kind: KindRef | undefined): string | undefined {
  const image = kind?.kind.image
  return image && /[/:@]/.test(image) ? image : undefined
}

export async function ensureImage(kind: KindRef | undefined, profile: Pick<Profile, 'imageRepository'>, options: EnsureOptions = {}): Promise<EnsureResult> {
  const log = options.log ?? (() => {})
  const custom = customImage(kind)
  if (custom) {
    log(`${kind!.kind.name} runs in its own image ${custom}; nothing to build.`)
    return {ref: custom, images: [{image: custom, tag: custom.split(':').at(-1) ?? '', hash: '', ref: custom, status: 'custom', files: 0}]}
  }
  const specs = await imagesFor(kind, options)

  if (options.dryRun) {
    const repo = profile.imageRepository ? parseRepository(profile.imageRepository).uri : undefined
    const images = specs.map((s) => ({...summary(s), ...(repo ? {ref: `${repo}:${s.tag}`} : {}), status: 'planned' as const}))
    return {ref: images.at(-1)?.ref, images}
  }
  return options.local ? buildLocal(specs, options, log) : buildRemote(specs, profile, options, log)
}

function summary(spec: ImageSpec): Omit<ImageResult, 'status' | 'ref'> {
  return {image: spec.image, tag: spec.tag, hash: spec.hash, files: spec.files.length}
}

async function buildRemote(specs: ImageSpec[], profile: Pick<Profile, 'imageRepository'>, options: EnsureOptions, log: (line: string) => void): Promise<EnsureResult> {
  if (!profile.imageRepository) {
    throw new ConfigError('The profile has no imageRepository: rfm does not know where to push images.', {
      hint: "rfm infra up writes it into the profile (the stack's repository rfm-<stack>/images); or set one by hand: rfm config set imageRepository ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME (or build on this machine only with --local).",
    })
  }
  const repo = parseRepository(profile.imageRepository)
  const registry = options.registry ?? ecrRegistry(repo)
  const docker = options.docker ?? new DockerCli()
  let ready = false
  const images: ImageResult[] = []
  for (const spec of specs) {
    const ref = `${repo.uri}:${spec.tag}`
    if (await registry.hasTag(spec.tag)) {
      log(`Image up to date: ${ref}`)
      images.push({...summary(spec), ref, status: 'up-to-date'})
      continue
    }
    if (!ready) {
      await docker.checkEngine()
      await docker.checkBuildx()
      const {username, password} = await registry.credentials()
      await docker.login(repo.registry, username, password)
      ready = true
    }
    const buildArgs: Record<string, string> = spec.base ? {BASE_IMAGE: `${repo.uri}:${spec.base.tag}`} : {}
    await buildStaged(docker, spec, ref, buildArgs, options, log)
    log(`Pushing ${ref}`)
    await docker.push(ref)
    log(`Pushed ${ref}`)
    images.push({...summary(spec), ref, status: 'built'})
  }
  return {ref: images.at(-1)?.ref, images}
}

async function buildLocal(specs: ImageSpec[], options: EnsureOptions, log: (line: string) => void): Promise<EnsureResult> {
  const docker = options.docker ?? new DockerCli()
  await docker.checkEngine()
  await docker.checkBuildx()
  const images: ImageResult[] = []
  for (const spec of specs) {
    const ref = `${LOCAL_REPOSITORY}:${spec.tag}`
    if (await docker.hasImage(ref)) {
      log(`Image up to date: ${ref}`)
      images.push({...summary(spec), ref, status: 'up-to-date'})
      continue
    }
    const buildArgs: Record<string, string> = spec.base ? {BASE_IMAGE: `${LOCAL_REPOSITORY}:${spec.base.tag}`} : {}
    await buildStaged(docker, spec, ref, buildArgs, options, log)
    images.push({...summary(spec), ref, status: 'built'})
  }
  return {ref: images.at(-1)?.ref, images}
}

async function buildStaged(docker: DockerCli, spec: ImageSpec, ref: string, buildArgs: Record<string, string>, options: EnsureOptions, log: (line: string) => void): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `rfm-build-${spec.image}-`))
  try {
    await stageContext(spec, dir)
    log(`Building ${ref} (${spec.files.length} files in the context)`)
    await docker.build({contextDir: dir, ref, buildArgs, platform: options.platform ?? 'linux/amd64'})
  } finally {
    await fs.rm(dir, {recursive: true, force: true})
  }
}
