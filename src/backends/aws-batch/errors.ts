import {BackendError, NotFoundError, RfmError} from '../../errors'

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'TokenRefreshRequired',
])

/**
 * Turns an AWS SDK error into an rfm error that says what to do: credentials (missing, expired,
 * unrecognized), a queue or job definition that does not exist, anything else as a backend error.
 */
export function fromAwsError(error: unknown, doing: string): RfmError {
  if (error instanceof RfmError) return error
  const e = error as {name?: string; message?: string; Code?: string}
  const name = e.name ?? e.Code ?? 'Error'
  const message = e.message ?? String(error)
  if (CREDENTIALS(name, message)) {
    const expired = /expired/i.test(name + message)
    return new BackendError(`AWS credentials ${expired ? 'have expired' : 'are missing or not valid'} (${doing}: ${name}).`, {
      code: 'AWS_CREDENTIALS',
      hint: expired
        ? 'Refresh them: aws sso login (SSO), or new keys with aws configure; then run the command again.'
        : 'Set them up: aws configure (access keys) or aws sso login (SSO); check AWS_PROFILE and AWS_REGION.',
      cause: error,
    })
  }
  if (/job ?queue/i.test(message) && /(not (be )?found|does not exist|not valid|invalid)/i.test(message)) {
    return new NotFoundError(`The Batch job queue does not exist (${doing}): ${message}`, {
      code: 'AWS_QUEUE_MISSING',
      hint: 'Create the stack with rfm infra up, or set the queue ARNs by hand: rfm config set queues \'{"spot":"…","onDemand":"…"}\'.',
      cause: error,
    })
  }
  if (/job ?definition/i.test(message) && /(not (be )?found|does not exist|not valid|invalid|inactive)/i.test(message)) {
    return new NotFoundError(`The Batch job definition does not exist (${doing}): ${message}`, {
      code: 'AWS_JOB_DEFINITION_MISSING',
      hint: 'Run rfm infra up to (re)create the job definitions, or fix jobDefinitions in the profile.',
      cause: error,
    })
  }
  return new BackendError(`AWS Batch failed while ${doing}: ${name}: ${message}`, {
    hint: 'Check the region and permissions of your credentials (rfm config show), then try again.',
    cause: error,
  })
}

function CREDENTIALS(name: string, message: string): boolean {
  return CREDENTIAL_ERRORS.has(name) || /could not load credentials|security token included in the request is (invalid|expired)/i.test(message)
}

/** Runs one SDK call, mapping its errors. */
export async function aws<T>(doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw fromAwsError(error, doing)
  }
}
