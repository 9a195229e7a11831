import type {JobKind, PluginApi} from 'rfm/plugin-api'

/** Job kinds of @rfm/plugin-sft. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  return [
    api.defineJobKind({
      name: 'sft',
      summary: 'SFT and DPO of compact VLMs on robot-reward and spatial VQA (pipelines 000, 003).',
      schema: api.z.object({}).strict(),
      notBuilt: 'the built-in SFT/DPO trainer and the VQA dataset generator arrive with the sft plugin (issue 10).',
    }),
  ]
}
