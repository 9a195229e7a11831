import {BackendError, type RfmErrorOptions} from '../errors'

/** The docker CLI is not installed (or not on PATH). */
export class DockerMissingError extends BackendError {
  constructor(options: RfmErrorOptions = {}) {
    super('The docker command was not found on PATH.', {
      code: 'DOCKER_MISSING',
      hint: 'Install Docker (Docker Desktop, or Docker Engine with the buildx plugin), or use an image that is already in the registry.',
      ...options,
    })
  }
}

/** The docker CLI answers but no engine (daemon) does. */
export class DockerEngineError extends BackendError {
  constructor(detail: string, options: RfmErrorOptions = {}) {
    super(`No Docker engine is running: ${detail}`, {
      code: 'DOCKER_ENGINE',
      hint: 'Start Docker Desktop or the docker service (sudo systemctl start docker), or point DOCKER_HOST at a running engine, then try again.',
      ...options,
    })
  }
}

/** `docker buildx` is not installed. */
export class BuildxMissingError extends BackendError {
  constructor(options: RfmErrorOptions = {}) {
    super('Docker buildx is missing: rfm builds images with `docker buildx build`.', {
      code: 'DOCKER_BUILDX',
      hint: 'Install the buildx plugin (Debian/Ubuntu: apt-get install docker-buildx-plugin; it ships with Docker Desktop).',
      ...options,
    })
  }
}

/** Getting an ECR token or `docker login` with it failed. */
export class EcrLoginError extends BackendError {
  constructor(detail: string, options: RfmErrorOptions = {}) {
    super(`Logging in to ECR failed: ${detail}`, {
      code: 'ECR_LOGIN',
      hint: "Check your AWS credentials (aws sts get-caller-identity), that they allow ecr:GetAuthorizationToken, and that the profile's region and imageRepository are right.",
      ...options,
    })
  }
}

/** ECR answered something other than found / not found for the image. */
export class EcrError extends BackendError {
  constructor(message: string, options: RfmErrorOptions = {}) {
    super(message, {code: 'ECR', ...options})
  }
}

/** `docker buildx build` or `docker push` failed. */
export class DockerBuildError extends BackendError {
  constructor(step: 'build' | 'push', image: string, detail: string, options: RfmErrorOptions = {}) {
    super(`docker ${step} of ${image} failed: ${detail}`, {
      code: step === 'build' ? 'DOCKER_BUILD' : 'DOCKER_PUSH',
      hint: step === 'build' ? 'The build log above says which step failed.' : 'Check that you may push to the repository (ecr:PutImage, ecr:InitiateLayerUpload, ...).',
      ...options,
    })
  }
}
