import * as os from 'node:os'
import * as path from 'node:path'

/** rfm's own folder: profiles and the default local store. `RFM_HOME` moves it (tests use this). */
export function rfmHome(): string {
  return process.env.RFM_HOME ? path.resolve(process.env.RFM_HOME) : path.join(os.homedir(), '.rfm')
}
