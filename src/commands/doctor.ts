import {profileFlag, RfmCommand} from '../cli/base-command'
import {resolveProfile} from '../config/profiles'
import type {DoctorFinding} from '../doctor/checks'
import {loadKinds} from '../jobs/registry'

export interface DoctorResult {
  profile: string
  ok: boolean
  findings: DoctorFinding[]
}

export default class Doctor extends RfmCommand {
  static override summary =
    'Check what runs depend on: for aws-batch the live stack (credentials, bucket, queues, compute, job definitions, image, job role, vCPU quotas); locally the store, trainer backend, cores and Python.'
  static override description = `One line per check, ok or the problem and its fix. On a local profile: the store (a probe object written, read back and removed), the built-in trainers' backend and who computes their matrix products (native OpenBLAS kernels or tfjs-wasm's), the cores builtin.workers auto uses, and python3/torch for external trainers. On an aws-batch profile: AWS credentials and account (STS), the bucket, each job queue (exists, ENABLED, VALID), each compute environment (VALID, its instance families offered in its subnets' zones), an ACTIVE job definition per registered job kind, this rfm's base image in ECR, what the job role may do on the exact keys a run uses (iam:SimulatePrincipalPolicy), and the EC2 vCPU quota of each GPU family against the compute environments' maxvCpus (Service Quotas). Exits 1 when a check finds a problem. \`rfm cloud launch\` runs the queue and job-definition checks before it submits.`
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --profile aws --json']
  static override flags = {profile: profileFlag}

  async run(): Promise<DoctorResult> {
    const {flags} = await this.parse(Doctor)
    const {name, profile} = await resolveProfile(flags.profile)
    let findings: DoctorFinding[]
    if (profile.backend === 'aws-batch') {
      const kinds = [...(await loadKinds(this.config.getPluginsList())).keys()]
      const {runDoctor} = await import('../doctor/checks.js')
      const {imagesFor} = await import('../containers/ensure.js')
      findings = await runDoctor(profile, {kinds, imageTag: async () => (await imagesFor(undefined))[0].tag})
    } else {
      findings = await (await import('../doctor/local.js')).runLocalDoctor(profile)
    }
    const mark = {ok: 'ok     ', problem: 'PROBLEM', skipped: 'skipped'} as const
    for (const f of findings) this.log(`${mark[f.status]} ${f.check}: ${f.message}${f.fix ? `\n        fix: ${f.fix}` : ''}`)
    const ok = findings.every((f) => f.status !== 'problem')
    if (!ok) process.exitCode = 1
    return {profile: name, ok, findings}
  }
}
