import type {JobKind, PluginApi} from 'rfm/plugin-api'

/** Job kinds of @rfm/plugin-vla-sensor. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  return [
    api.defineJobKind({
      name: 'vla-sensor',
      summary: 'Vision-language-action training with optional force/OCT sensor fusion (pipeline 002).',
      schema: api.z.object({}).strict(),
      notBuilt: 'the VLA trainer with sensor fusion arrives with the vla-sensor plugin (issue 13).',
    }),
  ]
}
