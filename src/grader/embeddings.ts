/**
 * Sentence embeddings through an OpenAI-compatible `/embeddings` endpoint (the `openai` SDK, loaded
 * on first use), cached by text for the client's lifetime. A failed request gives undefined: the
 * caller falls back to its own similarity and counts it.
 */
import {openaiClient, OpenAiClient} from './client'

export interface EmbeddingsConfig {
  baseUrl: string
  model: string
  apiKeyEnv?: string
  timeoutS: number
}

export class EmbeddingsClient {
  private client?: OpenAiClient
  private readonly cache = new Map<string, number[]>()
  requests = 0
  fallbacks = 0

  constructor(readonly config: EmbeddingsConfig) {}

  /** Vectors for the texts (one request for the ones not cached), or undefined when the endpoint fails. */
  async embed(texts: string[]): Promise<number[][] | undefined> {
    const missing = [...new Set(texts.filter((t) => !this.cache.has(t)))]
    if (missing.length > 0) {
      try {
        this.client ??= await openaiClient(this.config)
        this.requests += 1
        const reply = await this.client.embeddings.create({model: this.config.model, input: missing})
        if (reply.data.length !== missing.length) throw new Error(`${reply.data.length} embeddings for ${missing.length} texts`)
        for (const d of reply.data) this.cache.set(missing[d.index], d.embedding)
      } catch {
        this.fallbacks += 1
        return undefined
      }
    }
    return texts.map((t) => this.cache.get(t)!)
  }
}

export function cosine(a: number[], b: number[]): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0
}
