import {spawn} from 'node:child_process'

import {Flags} from '../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../cli/base-command'
import {UsageError} from '../errors'

export default class Ui extends RfmCommand {
  static override summary = "Serve a dashboard of the profile's runs: curves with interruptions, resumes and checkpoints, attempts, cost, logs."
  static override description = `Serves the active profile's store (file:// or s3://; local and AWS Batch runs alike) on 127.0.0.1 and prints the URL; it keeps serving until interrupted (Ctrl-C). Another address needs --host, and then every request must carry the random access token printed in the URL. Read-only, except cancelling a run (confirmed on the page). With --json it prints {"url": ...} and keeps serving.`
  static override examples = ['<%= config.bin %> ui', '<%= config.bin %> ui --port 8080 --no-open', '<%= config.bin %> ui --host 0.0.0.0   # reachable from other machines, with an access token']
  static override flags = {
    port: Flags.integer({description: 'Port to listen on (0: any free port).', default: 4311, min: 0, max: 65535}),
    host: Flags.string({description: 'Address to bind. Anything but loopback requires the access token in the URL.', default: '127.0.0.1', helpValue: 'HOST'}),
    open: Flags.boolean({description: 'Open the dashboard in a browser (when run in a terminal).', default: true, allowNo: true}),
    profile: profileFlag,
  }

  async run(): Promise<{url: string}> {
    const {flags} = await this.parse(Ui)
    const ctx = await this.context(flags.profile)
    const {startUi, isLoopback} = await import('../ui/server.js')
    const ui = await startUi({runs: ctx.runs, backend: ctx.backend, profile: ctx.profile.name, host: flags.host, port: flags.port, pollMs: ctx.runs.store.url.startsWith('s3://') ? 3000 : 1000}).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') throw new UsageError(`--port ${flags.port}: the port is in use.`, {hint: 'Choose another with --port N, or --port 0 for any free port.'})
        if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
          throw new UsageError(`--host ${flags.host}: not an address of this machine.`, {hint: 'Use 127.0.0.1 (the default), or an address this machine has, e.g. 0.0.0.0.'})
        throw error
      },
    )
    const stop = () => void ui.close().then(() => process.exit(0))
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    this.log(`rfm ui: ${ctx.runs.store.url} (profile ${ctx.profile.name})\n${ui.url}`)
    if (!isLoopback(flags.host)) this.log('Reachable from other machines: share the URL with its token only with people who may see (and cancel) these runs.')
    this.log('Ctrl-C stops it.')
    if (flags.open && !this.jsonEnabled() && process.stdout.isTTY) openBrowser(ui.url)
    return {url: ui.url}
  }
}

function openBrowser(url: string): void {
  const [program, ...args] = process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '', url] : ['xdg-open', url]
  try {
    const child = spawn(program, args, {detached: true, stdio: 'ignore'})
    child.once('error', () => undefined)
    child.unref()
  } catch {
    // No browser here: the URL is printed.
  }
}
