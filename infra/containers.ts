/**
 * What runs on each instance and in each job container, as pure functions: the launch template's
 * user data and the Batch job definition's container properties and retry strategy.
 */
import {BUILTIN_RETRY_RULES, CONTAINER_WORKDIR, RUNTIME_ENV} from '../src/runtime/protocol'
import type {InfraConfig, JobKindInfra} from './config'

const BOUNDARY = '==RFM-BOUNDARY=='

/**
 * Instance user data (Batch wants MIME multi-part in a launch template). Spot draining marks the
 * instance DRAINING on the 2-minute interruption notice, so no new attempt is placed on it; it does
 * NOT stop Batch jobs (standalone tasks "are unaffected", ECS container-instance draining guide).
 * What checkpoints on a reclaim is the runtime's own IMDS poll (src/runtime/interruption.ts). The
 * stop timeout is the SIGTERM→SIGKILL grace of TerminateJob (rfm cloud cancel) and of a timeout;
 * cached images save the multi-GB pull when a retried job lands on an instance that already ran it.
 */
export function userData(config: Pick<InfraConfig, 'stopTimeoutSeconds'>): string {
  const settings = ['ECS_ENABLE_SPOT_INSTANCE_DRAINING=true', `ECS_CONTAINER_STOP_TIMEOUT=${config.stopTimeoutSeconds}s`, 'ECS_IMAGE_PULL_BEHAVIOR=prefer-cached']
  return [
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`,
    '',
    `--${BOUNDARY}`,
    'Content-Type: text/x-shellscript; charset="us-ascii"',
    '',
    '#!/bin/bash',
    'set -euo pipefail',
    ...settings.map((line) => `echo '${line}' >> /etc/ecs/ecs.config`),
    '',
    `--${BOUNDARY}--`,
    '',
  ].join('\n')
}

/**
 * The definition's retry strategy: the runtime protocol's built-in rules, and EXIT on anything else.
 * It applies only to jobs submitted without a retryStrategy (by hand): rfm's SubmitJob always sends
 * its own, which replaces this one (SubmitJob API: it "overrides the retry strategy defined in the
 * job definition"), so rfm jobs retry crashes while attempts remain, as the README says.
 */
export function retryStrategy(config: Pick<InfraConfig, 'retryAttempts'>) {
  return {
    attempts: config.retryAttempts,
    evaluateOnExits: [
      ...BUILTIN_RETRY_RULES.map((rule) => ({
        ...(rule.onStatusReason ? {onStatusReason: rule.onStatusReason} : {}),
        ...(rule.onExitCode ? {onExitCode: rule.onExitCode} : {}),
        action: rule.action === 'retry' ? 'RETRY' : 'EXIT',
      })),
      {onReason: '*', action: 'EXIT'},
    ],
  }
}

export interface ContainerInputs {
  kind: JobKindInfra
  imageUri: string
  jobRoleArn: string
  executionRoleArn: string
  logGroup: string
  region: string
  bucket: string
}

/** Container properties of a kind's job definition (Batch takes them as a JSON string). */
export function containerProperties(config: InfraConfig, input: ContainerInputs): Record<string, unknown> {
  const {kind} = input
  const resources = [{type: 'VCPU', value: String(kind.vcpus)}, {type: 'MEMORY', value: String(kind.memoryMiB)}, ...(kind.gpus > 0 ? [{type: 'GPU', value: String(kind.gpus)}] : [])]
  return {
    image: input.imageUri,
    resourceRequirements: resources,
    jobRoleArn: input.jobRoleArn,
    executionRoleArn: input.executionRoleArn,
    // Plain environment holds only non-secret settings; secrets are references resolved by the agent.
    environment: [
      {name: RUNTIME_ENV.store, value: `s3://${input.bucket}`},
      // where the runtime materialises a staged workdir: the images' WORKDIR, owned by their user
      {name: RUNTIME_ENV.workdir, value: CONTAINER_WORKDIR},
      {name: 'AWS_REGION', value: input.region},
    ],
    secrets: config.secrets.map((secret) => ({name: secret.name, valueFrom: secret.valueFrom})),
    logConfiguration: {
      logDriver: 'awslogs',
      options: {'awslogs-group': input.logGroup, 'awslogs-region': input.region, 'awslogs-stream-prefix': kind.name},
    },
    // init reaps the trainer's children and forwards SIGTERM to the runtime (PID 1 ignores it otherwise).
    linuxParameters: {initProcessEnabled: true, sharedMemorySize: kind.sharedMemoryMiB},
    ulimits: [{name: 'nofile', softLimit: 65_536, hardLimit: 65_536}],
  }
}
