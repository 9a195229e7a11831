import {Args, Flags} from '../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../cli/base-command'
import {resolveProfile} from '../config/profiles'
import {ensureImage, type EnsureResult} from '../containers/ensure'
import {DockerCli} from '../containers/docker'
import {UsageError} from '../errors'
import {CORE_PLUGIN, findKind, loadKindsFor} from '../jobs/registry'

export interface BuildResult extends EnsureResult {
  kind?: string
  mode: 'push' | 'local' | 'dry-run'
}

export default class Build extends RfmCommand {
  static override summary = 'Build the container image a job kind runs in and push it to ECR, unless it is already there.'
  static override description = `The tag is a content hash of everything that goes into the image (Dockerfile, lockfile, compiled rfm runtime, plugin code, your requirements file), so an unchanged image is found in the profile's ECR repository (imageRepository) and neither rebuilt nor pushed. Without KIND it builds the base GPU image. The command kind, and any kind with --external, gets the Python/PyTorch external-trainer image. Needs a running Docker engine with buildx, unless every image is already pushed.`
  static override examples = [
    '<%= config.bin %> build sft',
    '<%= config.bin %> build command --requirements requirements.txt',
    '<%= config.bin %> build sft --dry-run --json',
    '<%= config.bin %> build --local',
  ]
  static override args = {
    kind: Args.string({required: false, description: 'Job kind whose image to build (default: the base GPU image only).'}),
  }
  static override flags = {
    external: Flags.boolean({description: 'Build the external-trainer (Python + PyTorch) image for this kind.'}),
    requirements: Flags.string({char: 'r', description: 'pip requirements file baked into the external-trainer image.', helpValue: 'FILE'}),
    'dry-run': Flags.boolean({description: 'Print the images and their content-hash tags; run neither docker nor ECR.'}),
    local: Flags.boolean({description: 'Build into the local Docker engine only (tagged rfm-local:TAG); no ECR, no push.', exclusive: ['dry-run']}),
    profile: profileFlag,
  }

  async run(): Promise<BuildResult> {
    const {args, flags} = await this.parse(Build)
    const entry = args.kind ? findKind(await loadKindsFor(args.kind, this.config.getPluginsList()), args.kind) : undefined
    const {profile} = await resolveProfile(flags.profile)
    if (flags.requirements && !(flags.external || entry?.plugin.name === CORE_PLUGIN)) {
      throw new UsageError('--requirements applies to external-trainer images only.', {hint: 'Add --external, or build the command kind: rfm build command -r requirements.txt'})
    }
    const mode = flags['dry-run'] ? 'dry-run' : flags.local ? 'local' : 'push'
    const result = await ensureImage(entry, profile, {
      external: flags.external,
      requirements: flags.requirements,
      dryRun: flags['dry-run'],
      local: flags.local,
      log: (line) => this.log(line),
      // build output goes to stderr, so stdout stays clean for --json
      docker: new DockerCli({onOutput: (text) => process.stderr.write(text)}),
    })
    if (mode === 'dry-run') {
      for (const image of result.images) this.log(`${image.image.padEnd(16)} ${image.ref ?? image.tag}  (${image.files} files)`)
      if (!profile.imageRepository) this.log('(no imageRepository in the profile: showing tags only)')
    }
    return {...(args.kind ? {kind: args.kind} : {}), mode, ...result}
  }
}
