/**
 * @rfm/plugin-api: the contract between rfm and its plugins, as types (plus the `apiVersion`
 * constant). It imports nothing of rfm's internals; the host (src/plugin-api/conformance.ts) type-checks
 * that its real modules satisfy these interfaces. See README.md for how a plugin is built.
 */
export {apiVersion} from './version'
export type {ApiVersion} from './version'
export type * from './api'
export type * from './job-kind'
export type * from './checkpoints'
export type * from './trainer-context'
export type * from './workload'
export type * from './errors'
export type * from './formats'
export type * from './grader'
export type * from './trainer'
export type * from './trainer-config'
export type * from './external-args'
