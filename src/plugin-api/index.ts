/**
 * The plugin contract as host code imports it. The contract itself is the types-only package
 * `@rfm/plugin-api` (packages/plugin-api: no imports of src/*); host.ts builds the object that
 * implements it and type-checks that the trainer, formats, grader and errors modules satisfy it.
 */
export type * from '@rfm/plugin-api'

/** The runtime's "interrupted, retry me" exit code (EX_TEMPFAIL); backends retry on it (see src/runtime/protocol). */
export {EXIT_RETRY} from '../runtime/protocol'
