/**
 * What `rfm cloud launch` checks on aws-batch before it stages or submits anything: the profile's
 * queues exist and are ENABLED/VALID, the kind has an ACTIVE job definition, and the run's queue
 * can place what the job asks for (three Batch describe calls). Anything else is `rfm doctor`'s.
 */
import type {Profile} from '../config/profiles'
import {ConfigError} from '../errors'
import {type DoctorOptions, runDoctor} from './checks'

export async function preflight(profile: Profile, kind: string, request?: DoctorOptions['request']): Promise<void> {
  let findings
  try {
    findings = await runDoctor(profile, {kinds: [kind], cheap: true, ...(request ? {request} : {})})
  } catch (error) {
    const {fromAwsError} = await import('../backends/aws-batch/errors.js')
    throw fromAwsError(error as Error, 'checking the queues and job definition before launch')
  }
  const problems = findings.filter((f) => f.status === 'problem')
  if (problems.length === 0) return
  throw new ConfigError(`The stack is not ready for this launch: ${problems.map((p) => `${p.check}: ${p.message}`).join('; ')}.`, {
    hint: `${problems[0].fix} Run rfm doctor for every check.`,
    details: {findings: problems},
  })
}
