/**
 * The recorded config, parsed once per runtime process by this image's version of the kind's schema;
 * every hook of the kind (external, retention, train) gets this parsed config. The image's plugin
 * may be another version than the launching machine's: a config it rejects ends the job with exit 2
 * (EXIT_USAGE: no backend retries it), naming the key.
 */
import {ConfigError} from '../errors'
import {validateConfig, type ConfigProblem} from '../config/validate'
import type {JobKind} from '../plugin-api'
import type {RunRecord} from '../runs/record'

export function parseRecordedConfig(kind: JobKind, run: Pick<RunRecord, 'config' | 'kind' | 'plugin'>, pluginVersion?: string): Record<string, unknown> {
  try {
    // strict, as at launch: a key this version does not know is a rejection, not silently dropped
    return validateConfig(kind.schema.strict(), run.config, 'the recorded config') as Record<string, unknown>
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const problems = (error.details?.problems ?? []) as ConfigProblem[]
    const first = problems[0]
    const more =
      problems.length > 1
        ? ` (${problems.length - 1} more: ${problems
            .slice(1)
            .map((p) => p.path)
            .join(', ')})`
        : ''
    const plugin = `${run.plugin.name}${pluginVersion ? ` ${pluginVersion}` : ''}`
    throw new ConfigError(`this image's ${plugin} version rejects the recorded config: ${first ? `${first.path}: ${first.message}` : error.message}${more}`, {
      hint: `Run the ${run.kind} job in an image built with the plugin version it was launched with (rfm build ${run.kind}), or launch it again from a machine with this image's version.`,
      details: {problems},
    })
  }
}
