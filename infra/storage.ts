import * as aws from '@pulumi/aws'
import type * as pulumi from '@pulumi/pulumi'

import type {InfraConfig} from './config'
import {tlsOnlyBucketPolicy} from './policies'

/** The bucket for datasets and runs: private, encrypted, TLS-only, with cleanup rules. */
export function storage(config: InfraConfig, opts: pulumi.CustomResourceOptions) {
  const name = `${config.prefix}-data`
  const bucket = new aws.s3.Bucket(name, {bucket: config.bucketName, forceDestroy: config.forceDestroyBucket}, opts)
  const ownership = new aws.s3.BucketOwnershipControls(name, {bucket: bucket.id, rule: {objectOwnership: 'BucketOwnerEnforced'}}, opts)
  const publicAccess = new aws.s3.BucketPublicAccessBlock(name, {bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true}, opts)
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
    name,
    // SSE-S3 with bucket keys: encryption at rest without per-request KMS charges.
    {bucket: bucket.id, rules: [{applyServerSideEncryptionByDefault: {sseAlgorithm: 'AES256'}, bucketKeyEnabled: true}]},
    opts,
  )
  const policy = new aws.s3.BucketPolicy(
    name,
    {bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn)))},
    // S3 rejects a bucket policy while the public access block is being changed.
    {...opts, dependsOn: [publicAccess]},
  )
  const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
    {
      id: 'abort-incomplete-multipart-uploads',
      status: 'Enabled',
      filter: {prefix: ''},
      abortIncompleteMultipartUpload: {daysAfterInitiation: config.multipartAbortDays},
    },
  ]
  // No checkpoint expiry: S3 filters cannot match runs/*/checkpoints/step-*, and nothing tags
  // intermediate checkpoints, so a rule could only expire nothing or everything. Retention is the
  // runtime's (checkpoints.save_total_limit) and rfm ckpt's job.
  const lifecycle = new aws.s3.BucketLifecycleConfiguration(name, {bucket: bucket.id, rules}, opts)
  return {bucket, ownership, publicAccess, encryption, policy, lifecycle}
}
