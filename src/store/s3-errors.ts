/** How S3 errors are told apart (shared by S3Store and its transfer helpers). */
export function status(error: unknown): number | undefined {
  return (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
}

export function isNotFound(error: unknown): boolean {
  const name = (error as {name?: string}).name
  return name === 'NoSuchKey' || name === 'NotFound' || (status(error) === 404 && name !== 'NoSuchBucket')
}
