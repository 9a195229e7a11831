import type {JobKind, PluginApi} from 'rfm/plugin-api'

/** Job kinds of @rfm/plugin-grpo. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  return [
    api.defineJobKind({
      name: 'grpo',
      summary: 'GRPO with format, accuracy, reasoning, spatial and counting rewards (pipelines 001, 003).',
      schema: api.z.object({}).strict(),
      notBuilt: 'the built-in GRPO trainer and its rewards arrive with the grpo plugin (issue 11).',
    }),
  ]
}
