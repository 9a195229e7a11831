import {UsageError} from '../errors'

/** Refuses keys that could escape the store's root or alias another key. */
export function checkKey(key: string): string {
  const bad = key.length === 0 || key.startsWith('/') || key.includes('\\') || key.split('/').some((segment, i, all) => segment === '..' || segment === '.' || (segment === '' && i !== all.length - 1))
  if (bad) throw new UsageError(`Invalid object key "${key}".`, {hint: 'Keys are relative paths without "." or ".." segments.'})
  return key
}
