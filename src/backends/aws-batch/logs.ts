/** CloudWatch Logs of Batch attempts: each attempt writes one log stream of the job's log group. */
import type {CloudWatchLogsClient} from '@aws-sdk/client-cloudwatch-logs'

import {aws} from './errors'

/** Batch's default log group, used when the profile names none. */
export const DEFAULT_LOG_GROUP = '/aws/batch/job'

/** Reads a log stream from where the last read stopped; remembers the position per stream. */
export class LogStreamReader {
  private readonly tokens = new Map<string, string>()

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly logGroup: string,
  ) {}

  /** New lines of a stream since the last call (all of it the first time). */
  async read(stream: string): Promise<string> {
    const {GetLogEventsCommand} = await import('@aws-sdk/client-cloudwatch-logs')
    let text = ''
    for (;;) {
      const token = this.tokens.get(stream)
      const page = await aws("reading the job's logs", async () => {
        try {
          return await this.client.send(new GetLogEventsCommand({logGroupName: this.logGroup, logStreamName: stream, startFromHead: true, ...(token ? {nextToken: token} : {})}))
        } catch (error) {
          // The stream appears only once the container has written its first line.
          if ((error as {name?: string}).name === 'ResourceNotFoundException') return {events: [], nextForwardToken: token}
          throw error
        }
      })
      for (const event of page.events ?? []) text += (event.message ?? '') + '\n'
      // The end of a stream: the same forward token comes back.
      if (!page.nextForwardToken || page.nextForwardToken === token) break
      this.tokens.set(stream, page.nextForwardToken)
      if ((page.events ?? []).length === 0) break
    }
    return text
  }
}
