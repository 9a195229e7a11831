/**
 * An LLM grader through any OpenAI-compatible endpoint (Ollama, vLLM, LM Studio, OpenAI), with the
 * official `openai` SDK (loaded on first use). It is asked whether an answer matches the gold answer
 * and must reply with the JSON object {"correct": true|false}. A reply that does not parse, a timeout
 * or an unreachable endpoint gives `undefined`: the caller falls back to its rule for that sample and
 * the fallback is counted. Replies are cached by (question, gold, answer) for the grader's lifetime
 * (one run); at most `maxConcurrency` requests are in flight.
 */

export interface LlmGraderConfig {
  baseUrl: string
  model: string
  /** environment variable holding the API key; local servers need none */
  apiKeyEnv?: string
  timeoutS: number
  maxConcurrency: number
}

export interface GradeQuestion {
  question: string
  gold: string
  /** the parsed answer, or the whole completion when none could be parsed */
  answer: string
}

export interface GraderStats {
  /** samples asked (cache hits included) */
  asked: number
  /** HTTP requests sent */
  requests: number
  /** samples whose verdict came from the LLM */
  graded: number
  /** samples that fell back to the rule (bad reply, timeout, unreachable) */
  fallbacks: number
  cacheHits: number
  /** the last reason a sample fell back */
  lastFailure?: string
}

export const GRADER_SYSTEM_PROMPT =
  "You grade answers to visual questions. Given a question, the gold answer and a model's answer, decide whether the model's answer means the same as the gold answer. " +
  'Reply with only a JSON object: {"correct": true} or {"correct": false}.'

export function graderUserMessage(q: GradeQuestion): string {
  return `Question: ${q.question}\nGold answer: ${q.gold}\nModel answer: ${q.answer}\nIs the model answer correct? Reply {"correct": true} or {"correct": false}.`
}

/** The verdict of a reply: a JSON object (optionally inside a ```json fence) with a boolean `correct`. */
export function parseVerdict(content: string | null | undefined): boolean | undefined {
  if (!content) return undefined
  const m = /^\s*(?:```(?:json)?\s*)?(\{[\s\S]*\})\s*(?:```)?\s*$/.exec(content)
  if (!m) return undefined
  try {
    const value = JSON.parse(m[1]) as {correct?: unknown}
    return typeof value.correct === 'boolean' ? value.correct : undefined
  } catch {
    return undefined
  }
}

import {openaiClient, OpenAiClient} from './client'

export class LlmGrader {
  readonly stats: GraderStats = {asked: 0, requests: 0, graded: 0, fallbacks: 0, cacheHits: 0}
  private client?: OpenAiClient
  private readonly cache = new Map<string, Promise<boolean | undefined>>()
  private active = 0
  private readonly waiting: (() => void)[] = []
  /** false once the server refused response_format (then it is asked by the prompt alone) */
  private jsonMode = true

  constructor(readonly config: LlmGraderConfig) {}

  /** The LLM's verdict, or undefined (counted as a fallback) when it gives none. */
  async grade(q: GradeQuestion): Promise<boolean | undefined> {
    this.stats.asked += 1
    const key = JSON.stringify([q.question, q.gold, q.answer])
    let pending = this.cache.get(key)
    if (pending) this.stats.cacheHits += 1
    else this.cache.set(key, (pending = this.limited(() => this.request(q))))
    const verdict = await pending
    if (verdict === undefined) this.stats.fallbacks += 1
    else this.stats.graded += 1
    return verdict
  }

  /** Metrics as logged by trainers and reports: grader/requests, grader/graded, grader/fallbacks, grader/cache_hits. */
  metrics(): Record<string, number> {
    return {'grader/requests': this.stats.requests, 'grader/graded': this.stats.graded, 'grader/fallbacks': this.stats.fallbacks, 'grader/cache_hits': this.stats.cacheHits}
  }

  private async limited<T>(f: () => Promise<T>): Promise<T> {
    while (this.active >= Math.max(1, this.config.maxConcurrency)) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active += 1
    try {
      return await f()
    } finally {
      this.active -= 1
      this.waiting.shift()?.()
    }
  }

  private async openai(): Promise<OpenAiClient> {
    this.client ??= await openaiClient(this.config)
    return this.client
  }

  private async request(q: GradeQuestion): Promise<boolean | undefined> {
    const client = await this.openai()
    const messages = [
      {role: 'system' as const, content: GRADER_SYSTEM_PROMPT},
      {role: 'user' as const, content: graderUserMessage(q)},
    ]
    try {
      this.stats.requests += 1
      let reply
      try {
        reply = await client.chat.completions.create({model: this.config.model, messages, temperature: 0, ...(this.jsonMode ? {response_format: {type: 'json_object' as const}} : {})})
      } catch (error) {
        // a server without JSON mode answers 400 to response_format: ask again without it, once
        if (!this.jsonMode || (error as {status?: number}).status !== 400) throw error
        this.jsonMode = false
        this.stats.requests += 1
        reply = await client.chat.completions.create({model: this.config.model, messages, temperature: 0})
      }
      const verdict = parseVerdict(reply.choices?.[0]?.message?.content)
      if (verdict === undefined) this.stats.lastFailure = `reply is not {"correct": true|false}: ${JSON.stringify(reply.choices?.[0]?.message?.content ?? null).slice(0, 120)}`
      return verdict
    } catch (error) {
      this.stats.lastFailure = `${(error as Error).name}: ${(error as Error).message}`.slice(0, 200)
      return undefined
    }
  }
}
