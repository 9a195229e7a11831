/**
 * The ECR side of a build: is a tag already there (DescribeImages), and a login token for docker
 * (GetAuthorizationToken). The SDK client is imported lazily, never at CLI start-up.
 */
import {ConfigError} from '../errors'
import {EcrError, EcrLoginError} from './errors'

export interface RepositoryRef {
  /** ACCOUNT.dkr.ecr.REGION.amazonaws.com */
  registry: string
  registryId: string
  region: string
  /** the repository name inside the registry, e.g. rfm or team/rfm */
  name: string
  /** registry/name, what docker tags with */
  uri: string
}

const ECR_URI = /^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9][a-z0-9._/-]*)$/

export function parseRepository(uri: string): RepositoryRef {
  const match = ECR_URI.exec(uri)
  if (!match) {
    throw new ConfigError(`imageRepository "${uri}" is not an ECR repository URI.`, {
      hint: 'Expected ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/rfm.',
    })
  }
  const [, registryId, region, cn, name] = match
  const registry = `${registryId}.dkr.ecr.${region}.amazonaws.com${cn ?? ''}`
  return {registry, registryId, region, name, uri: `${registry}/${name}`}
}

export interface Registry {
  /** true when the repository holds an image with this tag */
  hasTag(tag: string): Promise<boolean>
  /** user name and password for `docker login` */
  credentials(): Promise<{username: string; password: string}>
}

/** The ECR registry of a repository, through @aws-sdk/client-ecr. */
export function ecrRegistry(repo: RepositoryRef): Registry {
  let client: Promise<import('@aws-sdk/client-ecr').ECRClient> | undefined
  const ecr = async () => {
    // rfm supports Node 20 on purpose; the SDK's notice about its own future Node support is noise here.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    const sdk = await import('@aws-sdk/client-ecr')
    client ??= Promise.resolve(new sdk.ECRClient({region: repo.region}))
    return {sdk, client: await client}
  }
  return {
    async hasTag(tag) {
      const {sdk, client} = await ecr()
      try {
        const out = await client.send(new sdk.DescribeImagesCommand({registryId: repo.registryId, repositoryName: repo.name, imageIds: [{imageTag: tag}]}))
        return (out.imageDetails ?? []).some((image) => image.imageTags?.includes(tag))
      } catch (error) {
        const name = (error as Error).name
        if (name === 'ImageNotFoundException') return false
        if (name === 'RepositoryNotFoundException') {
          throw new EcrError(`The ECR repository ${repo.uri} does not exist.`, {hint: 'Create it with rfm infra up, or set imageRepository to an existing one: rfm config set imageRepository URI.'})
        }
        throw new EcrError(`Cannot look up ${repo.uri}:${tag} in ECR: ${(error as Error).message}`, {
          hint: 'Check your AWS credentials and that they allow ecr:DescribeImages on the repository.',
        })
      }
    },
    async credentials() {
      const {sdk, client} = await ecr()
      let token: string | undefined
      try {
        const out = await client.send(new sdk.GetAuthorizationTokenCommand({}))
        token = out.authorizationData?.[0]?.authorizationToken
      } catch (error) {
        throw new EcrLoginError(`GetAuthorizationToken: ${(error as Error).message}`)
      }
      if (!token) throw new EcrLoginError('GetAuthorizationToken returned no token')
      // The token is base64 of "AWS:<password>".
      const decoded = Buffer.from(token, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon < 1) throw new EcrLoginError('the authorization token is not of the form user:password')
      return {username: decoded.slice(0, colon), password: decoded.slice(colon + 1)}
    },
  }
}
