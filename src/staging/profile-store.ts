import {resolveProfile} from '../config/profiles'
import {openStore} from '../store/open'
import type {ObjectStore} from '../store/types'

/**
 * The object store of a profile (store URL, region, endpoint), without its backend: dataset
 * commands work whatever backend the profile names, including ones not built yet.
 */
export async function storeForProfile(profileName?: string): Promise<ObjectStore> {
  const {profile} = await resolveProfile(profileName)
  return openStore(profile.store, {region: profile.region, endpoint: profile.endpoint})
}
