/**
 * The contract's version. `apiVersion` is the major version of this package: a host implements one
 * major version and hands it to plugins as `api.apiVersion`. Within a major version the contract
 * only grows (new optional hooks, new members on the API object); removing or changing a member is
 * a new major version. A plugin built against 1.x runs on every host whose `api.apiVersion` is 1.
 */
export const apiVersion = 1 as const
export type ApiVersion = typeof apiVersion
