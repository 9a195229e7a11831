/**
 * The image a run needs, in its job definition. SubmitJob cannot override a container's image, so
 * when the resolved image differs from the definition's, rfm uses (or registers once) a revision
 * of the same definition with that image: same properties, retry strategy and tags.
 */
import type {BatchClient, JobDefinition} from '@aws-sdk/client-batch'

import {NotFoundError} from '../../errors'
import {aws} from './errors'

/** The ARN of a revision of `definition` that runs `image`. */
export async function definitionWithImage(client: BatchClient, definition: string, image: string): Promise<{arn: string; registered: boolean}> {
  const {DescribeJobDefinitionsCommand, RegisterJobDefinitionCommand} = await import('@aws-sdk/client-batch')
  const described = await aws('reading the job definition', () => client.send(new DescribeJobDefinitionsCommand({jobDefinitions: [definition]})))
  const current = described.jobDefinitions?.[0]
  if (!current?.jobDefinitionName) {
    throw new NotFoundError(`The Batch job definition ${definition} does not exist.`, {
      code: 'AWS_JOB_DEFINITION_MISSING',
      hint: 'Run rfm infra up to (re)create the job definitions, or fix jobDefinitions in the profile (rfm config set).',
    })
  }
  if (current.containerProperties?.image === image) return {arn: current.jobDefinitionArn ?? definition, registered: false}
  // A revision with this image may exist from an earlier launch: reuse the newest.
  const revisions: JobDefinition[] = []
  let nextToken: string | undefined
  do {
    const page = await aws('listing job definition revisions', () =>
      client.send(new DescribeJobDefinitionsCommand({jobDefinitionName: current.jobDefinitionName, status: 'ACTIVE', ...(nextToken ? {nextToken} : {})})),
    )
    revisions.push(...(page.jobDefinitions ?? []))
    nextToken = page.nextToken
  } while (nextToken)
  const match = revisions.filter((d) => d.containerProperties?.image === image).sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0]
  if (match?.jobDefinitionArn) return {arn: match.jobDefinitionArn, registered: false}
  const registered = await aws('registering a job definition revision for the image', () =>
    client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: current.jobDefinitionName,
        type: current.type as 'container',
        containerProperties: {...current.containerProperties, image},
        ...(current.retryStrategy ? {retryStrategy: current.retryStrategy} : {}),
        ...(current.timeout ? {timeout: current.timeout} : {}),
        ...(current.parameters ? {parameters: current.parameters} : {}),
        ...(current.platformCapabilities ? {platformCapabilities: current.platformCapabilities} : {}),
        ...(current.propagateTags !== undefined ? {propagateTags: current.propagateTags} : {}),
        ...(current.tags ? {tags: current.tags} : {}),
      }),
    ),
  )
  return {arn: registered.jobDefinitionArn ?? definition, registered: true}
}
