/**
 * The host's OpenAI-compatible scoring helpers as plugins see them (`api.loadGrader()`): the LLM
 * accuracy grader and /embeddings similarity. The host's src/grader satisfies it (src/plugin-api/conformance.ts checks).
 */
export interface LlmGraderConfig {
  baseUrl: string
  model: string
  apiKeyEnv?: string
  timeoutS: number
  maxConcurrency: number
}

export interface GradeQuestion {
  question: string
  gold: string
  answer: string
}

export interface GraderStats {
  asked: number
  requests: number
  graded: number
  fallbacks: number
  cacheHits: number
  lastFailure?: string
}

export interface LlmGrader {
  readonly config: LlmGraderConfig
  readonly stats: GraderStats
  /** true/false: the grader's verdict; undefined: no verdict (the caller falls back to its rule) */
  grade(q: GradeQuestion): Promise<boolean | undefined>
  metrics(): Record<string, number>
}

export interface EmbeddingsConfig {
  baseUrl: string
  model: string
  apiKeyEnv?: string
  timeoutS: number
}

export interface EmbeddingsClient {
  readonly config: EmbeddingsConfig
  requests: number
  fallbacks: number
  /** undefined when the service failed (the caller falls back) */
  embed(texts: string[]): Promise<number[][] | undefined>
}

export interface GraderCore {
  LlmGrader: new (config: LlmGraderConfig) => LlmGrader
  EmbeddingsClient: new (config: EmbeddingsConfig) => EmbeddingsClient
  cosine(a: number[], b: number[]): number
  GRADER_SYSTEM_PROMPT: string
  graderUserMessage(q: GradeQuestion): string
  parseVerdict(content: string | null | undefined): boolean | undefined
}
