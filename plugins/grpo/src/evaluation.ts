/**
 * The grpo kind's part in `rfm eval`: its checkpoints are asked with the prompt they were trained on
 * (question, options, the JSON answer format), their answer is read from the JSON completion, and
 * `--benchmark vqa=PATH` reads a VQA set in this plugin's formats (save_to_disk, JSONL + images)
 * and scores it with the accuracy reward's rules. rfm reaches these rules only through
 * `JobKind.evaluation` of the public plugin API.
 */
import type {EvalQuestion, KindEvaluation, PluginApi} from '@rfm/plugin-api'

import type {GrpoConfig} from './config'
import {promptFor} from './prompt'
import {answerAccuracy} from './rewards/accuracy'
import {extractAnswer} from './rewards/parse'
import type {RewardSample} from './rewards/types'

const sampleOf = (q: EvalQuestion): RewardSample => ({question: q.question, answer: q.answer, referenceSteps: [], choices: q.choices ?? [], task: q.task})

export function grpoEvaluation(api: PluginApi, parse: (config: unknown) => GrpoConfig): KindEvaluation {
  return {
    prompt: (q) => promptFor(sampleOf(q)),
    answer: (completion) => extractAnswer(completion),
    accuracy(answer, q) {
      const r = answerAccuracy(answer, sampleOf(q))
      // the reward gives 0.5 for a right value without its unit: not a correct answer
      return {correct: r.reward === 1, why: r.why}
    },
    async vqaRows(location, imageSize, limit) {
      const {loadDatasetRows, resolveDatasetLocation, DatasetRowError} = await import('./data.js')
      const formats = await api.loadFormats()
      // the default pixel bounds and image root; rows that do not read are skipped and listed
      const c = parse({skip_invalid: true})
      let resolved: string
      try {
        resolved = resolveDatasetLocation(location, 'test')
      } catch (error) {
        if (error instanceof DatasetRowError)
          throw new api.errors.UsageError(`vqa=${location}: ${error.message}`, {hint: 'A Hugging Face save_to_disk folder, a .jsonl file (+ images) or a folder holding test.jsonl.'})
        throw error
      }
      const loaded = await loadDatasetRows(formats, resolved, 'test', c, imageSize, limit)
      return {
        rows: loaded.rows.map((r) => ({question: r.question, answer: r.answer, choices: r.choices?.length ? r.choices : r.options, task: r.task ?? 'vqa', image: r.image})),
        unreadable: loaded.skippedWhy,
      }
    },
  }
}
