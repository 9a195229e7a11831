/** An `openai` SDK client for an OpenAI-compatible endpoint, loaded on first use (never at CLI start-up). */
export async function openaiClient(config: {baseUrl: string; apiKeyEnv?: string; timeoutS: number}) {
  const {OpenAI} = await import('openai')
  const key = config.apiKeyEnv ? process.env[config.apiKeyEnv] : undefined
  // local servers (Ollama, vLLM) accept any key; the SDK insists on one. No retries: a failed
  // request falls back to the rules at once instead of stalling the run.
  return new OpenAI({baseURL: config.baseUrl, apiKey: key || 'none', timeout: config.timeoutS * 1000, maxRetries: 0})
}

export type OpenAiClient = Awaited<ReturnType<typeof openaiClient>>
