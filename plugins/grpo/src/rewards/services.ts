/**
 * Rewards that ask a server (seed 001's optional parts), through an OpenAI-compatible endpoint:
 * `llm_grader` judges the accuracy reward's answers with an LLM ({"correct": true|false}); a reply
 * that does not parse, a timeout or an unreachable endpoint leaves the rule-based accuracy for that
 * completion and is counted (grader/fallbacks). `reasoning_embeddings` computes the reasoning
 * reward's Match F1 over sentence-embedding cosines instead of character trigrams (a failed request
 * keeps the trigram score, counted in embeddings/fallbacks). The clients come from rfm's
 * `api.loadGrader()`; the `openai` SDK loads only when one of these keys is set.
 */
import type {PluginApi} from '@rfm/plugin-api'

import {extractAnswer, parseCompletion} from './parse'
import {DEFAULT_THRESHOLD, matchF1With} from './reasoning'
import type {Scored} from './index'
import type {RewardSample} from './types'

export function llmGraderSchema(z: PluginApi['z']) {
  return z
    .object({
      base_url: z.string().url().describe('OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (Ollama).'),
      model: z.string().min(1),
      api_key_env: z.string().nullable().default(null).describe('Environment variable holding the API key (local servers need none).'),
      timeout_s: z.coerce.number().positive().default(30),
      max_concurrency: z.coerce.number().int().min(1).default(4),
    })
    .strict()
    .nullable()
    .default(null)
    .describe("Grade the accuracy reward with an LLM (seed 001's use_llm_grader); the rules decide when it fails, counted as grader/fallbacks.")
}

export function reasoningEmbeddingsSchema(z: PluginApi['z']) {
  return z
    .object({
      base_url: z.string().url(),
      model: z.string().min(1),
      api_key_env: z.string().nullable().default(null),
      timeout_s: z.coerce.number().positive().default(30),
    })
    .strict()
    .nullable()
    .default(null)
    .describe('Reasoning reward similarity from an OpenAI-compatible /embeddings endpoint (semantic Match F1); character trigrams otherwise.')
}

type GraderModule = Awaited<ReturnType<PluginApi['loadGrader']>>
export interface ServiceKeys {
  llm_grader: {base_url: string; model: string; api_key_env: string | null; timeout_s: number; max_concurrency: number} | null
  reasoning_embeddings: {base_url: string; model: string; api_key_env: string | null; timeout_s: number} | null
  reasoning_threshold: number
}

export class RewardServices {
  private constructor(
    private readonly grader: InstanceType<GraderModule['LlmGrader']> | undefined,
    private readonly embeddings: InstanceType<GraderModule['EmbeddingsClient']> | undefined,
    private readonly cosine: GraderModule['cosine'],
    private readonly threshold: number,
  ) {}

  /** undefined when the config asks no server */
  static async create(api: PluginApi, c: ServiceKeys): Promise<RewardServices | undefined> {
    if (!c.llm_grader && !c.reasoning_embeddings) return undefined
    const g = await api.loadGrader()
    const grader = c.llm_grader
      ? new g.LlmGrader({
          baseUrl: c.llm_grader.base_url,
          model: c.llm_grader.model,
          apiKeyEnv: c.llm_grader.api_key_env ?? undefined,
          timeoutS: c.llm_grader.timeout_s,
          maxConcurrency: c.llm_grader.max_concurrency,
        })
      : undefined
    const embeddings = c.reasoning_embeddings
      ? new g.EmbeddingsClient({
          baseUrl: c.reasoning_embeddings.base_url,
          model: c.reasoning_embeddings.model,
          apiKeyEnv: c.reasoning_embeddings.api_key_env ?? undefined,
          timeoutS: c.reasoning_embeddings.timeout_s,
        })
      : undefined
    return new RewardServices(grader, embeddings, g.cosine, c.reasoning_threshold ?? DEFAULT_THRESHOLD)
  }

  /** Counters so far: grader/requests, grader/graded, grader/fallbacks, grader/cache_hits, embeddings/requests, embeddings/fallbacks. */
  metrics(): Record<string, number> {
    return {...(this.grader ? this.grader.metrics() : {}), ...(this.embeddings ? {'embeddings/requests': this.embeddings.requests, 'embeddings/fallbacks': this.embeddings.fallbacks} : {})}
  }

  /** Re-scores the accuracy and reasoning rewards of `scored` in place (totals updated with their weights). */
  async apply(completions: string[], samples: RewardSample[], names: string[], weights: number[], scored: Scored): Promise<void> {
    const replace = (name: string, i: number, reward: number, why: string) => {
      const k = names.indexOf(name)
      scored.total[i] += weights[k] * (reward - scored.perFunction[name][i].reward)
      scored.perFunction[name][i] = {reward, why}
    }
    const jobs: Promise<void>[] = []
    if (this.grader && names.includes('accuracy')) {
      const grader = this.grader
      completions.forEach((completion, i) => {
        const answer = extractAnswer(completion)
        jobs.push(
          grader.grade({question: samples[i].question, gold: samples[i].answer, answer: answer ?? completion}).then((verdict) => {
            if (verdict !== undefined) replace('accuracy', i, verdict ? 1 : 0, `LLM grader: ${verdict ? 'correct' : 'incorrect'}`)
          }),
        )
      })
    }
    if (this.embeddings && names.includes('reasoning')) {
      const embeddings = this.embeddings
      completions.forEach((completion, i) => {
        const parsed = parseCompletion(completion)
        const ref = samples[i].referenceSteps
        if (!parsed.ok || parsed.value.reasoningSteps.length === 0 || ref.length === 0) return
        const steps = parsed.value.reasoningSteps
        jobs.push(
          embeddings.embed([...steps, ...ref]).then((vectors) => {
            if (!vectors) return
            const m = matchF1With((p, r) => this.cosine(vectors[p], vectors[steps.length + r]), steps.length, ref.length, this.threshold)
            replace('reasoning', i, m.f1, `embeddings: ${m.matched.length} of ${steps.length} predicted / ${ref.length} reference steps matched at τ=${this.threshold}: F1=${m.f1.toFixed(3)}`)
          }),
        )
      })
    }
    await Promise.all(jobs)
  }
}
