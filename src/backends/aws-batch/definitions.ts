/**
 * The image a run needs, in its job definition. SubmitJob cannot override a container's image, so
 * when the resolved image differs from the definition's, rfm uses (or registers once) a revision
 * of the same definition with that image: same properties, retry strategy and tags. A revision is
 * reused only when everything but the image matches the definition the profile names (roles, log
 * group, resources, environment, secrets): after `rfm infra up` changes any of them, a new revision
 * is registered. Registering needs iam:PassRole on the job and execution roles.
 */
import {isDeepStrictEqual} from 'node:util'

import type {BatchClient, JobDefinition, RegisterJobDefinitionCommandInput} from '@aws-sdk/client-batch'

import {NotFoundError} from '../../errors'
import {aws} from './errors'

export type DefinitionPlan = {arn: string; register?: undefined} | {arn?: undefined; register: RegisterJobDefinitionCommandInput}

/** All but the image: what must match for a revision to stand in for the definition. */
function sameButImage(a: JobDefinition, b: JobDefinition): boolean {
  const rest = (d: JobDefinition) => ({
    containerProperties: {...d.containerProperties, image: undefined},
    retryStrategy: d.retryStrategy,
    timeout: d.timeout,
    platformCapabilities: d.platformCapabilities,
    type: d.type,
  })
  return isDeepStrictEqual(rest(a), rest(b))
}

/** Which revision of `definition` runs `image`: an existing one, or the RegisterJobDefinition input for a new one. */
export async function planDefinition(client: BatchClient, definition: string, image: string): Promise<DefinitionPlan> {
  const {DescribeJobDefinitionsCommand} = await import('@aws-sdk/client-batch')
  const described = await aws('reading the job definition', () => client.send(new DescribeJobDefinitionsCommand({jobDefinitions: [definition]})))
  const current = described.jobDefinitions?.[0]
  if (!current?.jobDefinitionName) {
    throw new NotFoundError(`The Batch job definition ${definition} does not exist.`, {
      code: 'AWS_JOB_DEFINITION_MISSING',
      hint: 'Run rfm infra up to (re)create the job definitions, or fix jobDefinitions in the profile (rfm config set).',
    })
  }
  if (current.containerProperties?.image === image) return {arn: current.jobDefinitionArn ?? definition}
  // A revision with this image may exist from an earlier launch: reuse the newest that matches.
  const revisions: JobDefinition[] = []
  let nextToken: string | undefined
  do {
    const page = await aws('listing job definition revisions', () =>
      client.send(new DescribeJobDefinitionsCommand({jobDefinitionName: current.jobDefinitionName, status: 'ACTIVE', ...(nextToken ? {nextToken} : {})})),
    )
    revisions.push(...(page.jobDefinitions ?? []))
    nextToken = page.nextToken
  } while (nextToken)
  const match = revisions.filter((d) => d.containerProperties?.image === image && sameButImage(d, current)).sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0]
  if (match?.jobDefinitionArn) return {arn: match.jobDefinitionArn}
  return {
    register: {
      jobDefinitionName: current.jobDefinitionName,
      type: current.type as 'container',
      containerProperties: {...current.containerProperties, image},
      ...(current.retryStrategy ? {retryStrategy: current.retryStrategy} : {}),
      ...(current.timeout ? {timeout: current.timeout} : {}),
      ...(current.parameters ? {parameters: current.parameters} : {}),
      ...(current.platformCapabilities ? {platformCapabilities: current.platformCapabilities} : {}),
      ...(current.propagateTags !== undefined ? {propagateTags: current.propagateTags} : {}),
      ...(current.tags ? {tags: current.tags} : {}),
    },
  }
}

/** The ARN of a revision of `definition` that runs `image`, registering one when none matches. */
export async function definitionWithImage(client: BatchClient, definition: string, image: string): Promise<{arn: string; registered: boolean}> {
  const plan = await planDefinition(client, definition, image)
  if (plan.arn) return {arn: plan.arn, registered: false}
  const {RegisterJobDefinitionCommand} = await import('@aws-sdk/client-batch')
  const registered = await aws('registering a job definition revision for the image', () => client.send(new RegisterJobDefinitionCommand(plan.register!)))
  return {arn: registered.jobDefinitionArn ?? definition, registered: true}
}
