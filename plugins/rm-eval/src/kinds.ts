import type {JobKind, PluginApi} from 'rfm/plugin-api'

/** Job kinds of @rfm/plugin-rm-eval. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  return [
    api.defineJobKind({
      name: 'rm-eval',
      summary: 'Reward-model training and evaluation of every checkpoint (pipeline 004).',
      schema: api.z.object({}).strict(),
      notBuilt: 'reward-model training and checkpoint evaluation arrive with the rm-eval plugin (issue 12).',
    }),
  ]
}
