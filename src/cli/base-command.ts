import {Command, Flags} from '../vendor/oclif-core'

import {backendFor, type Backend} from '../backends'
import {resolveProfile, type ResolvedProfile} from '../config/profiles'
import {RunStore} from '../runs/run-store'
import {openStore} from '../store/open'
import {renderError, toRfmError} from './errors'

export const profileFlag = Flags.string({
  description: 'Profile to use (default: the active profile, or $RFM_PROFILE).',
  helpValue: 'NAME',
})

export interface Context {
  profile: ResolvedProfile
  runs: RunStore
  backend: Backend
}

/**
 * Base of every rfm command: --json on, and every error rendered the same way — one paragraph and
 * a hint on stderr, or `{"error": {...}}` on stdout under --json — with exit code 2 for user
 * mistakes and 1 for failures.
 */
export abstract class RfmCommand extends Command {
  static override enableJsonFlag = true

  protected get color(): boolean {
    return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR
  }

  protected async context(profileName?: string): Promise<Context> {
    const profile = await resolveProfile(profileName)
    const runs = new RunStore(await openStore(profile.profile.store, profile.profile))
    return {profile, runs, backend: await backendFor(profile.profile.backend)}
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if ((error as {code?: string}).code === 'EEXIT') throw error
    const rfmError = toRfmError(error, this.id)
    process.exitCode = rfmError.exitCode
    if (this.jsonEnabled()) {
      this.logJson({error: rfmError.toJSON()})
      return undefined
    }
    process.stderr.write(renderError(rfmError, Boolean(process.stderr.isTTY) && !process.env.NO_COLOR))
    return this.exit(rfmError.exitCode)
  }
}
