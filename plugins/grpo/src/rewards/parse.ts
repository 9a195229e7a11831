/**
 * Reading a completion: the strict JSON format the prompt asks for
 * (`{"reasoning_steps": [...], "answer": "..."}`), and the answer text when the JSON is broken.
 */

export interface ParsedCompletion {
  reasoningSteps: string[]
  answer: string
}

export type ParseResult = {ok: true; value: ParsedCompletion} | {ok: false; why: string}

/** The completion without one surrounding ```json fence (models often add one; the JSON inside must still be exact). */
function unfence(text: string): string {
  const m = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/.exec(text.trim())
  return m ? m[1] : text.trim()
}

/** Strict: one JSON object with exactly the keys reasoning_steps (a list of strings) and answer (a non-empty string). */
export function parseCompletion(text: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(unfence(text))
  } catch (error) {
    return {ok: false, why: `not valid JSON (${(error as Error).message})`}
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {ok: false, why: 'JSON is not an object'}
  const keys = Object.keys(value).sort()
  if (keys.join(',') !== 'answer,reasoning_steps') return {ok: false, why: `keys are [${keys.join(', ')}], expected exactly [reasoning_steps, answer]`}
  const {reasoning_steps: steps, answer} = value as Record<string, unknown>
  if (!Array.isArray(steps) || !steps.every((s) => typeof s === 'string')) return {ok: false, why: 'reasoning_steps is not a list of strings'}
  if (typeof answer !== 'string') return {ok: false, why: 'answer is not a string'}
  if (answer.trim() === '') return {ok: false, why: 'answer is empty'}
  return {ok: true, value: {reasoningSteps: steps as string[], answer}}
}

/** The answer of a completion: from valid JSON, else from an `"answer": "..."` fragment; undefined when none. */
export function extractAnswer(text: string): string | undefined {
  const parsed = parseCompletion(text)
  if (parsed.ok) return parsed.value.answer
  const m = /"answer"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text)
  if (!m) return undefined
  try {
    return JSON.parse(`"${m[1]}"`) as string
  } catch {
    return m[1]
  }
}

const ARTICLES = new Set(['a', 'an', 'the'])

/** Lower case, punctuation to spaces (keeping decimal points and % inside numbers), articles dropped, spaces collapsed. */
export function normalizeText(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/(\d),(\d{3})\b/g, '$1$2')
      .replace(/(\d)\.(\d)/g, '$1\u0000$2')
      // eslint-disable-next-line no-control-regex -- NUL holds a decimal point while punctuation goes
      .replace(/[^a-z0-9%\u0000\s]/g, ' ')
      // eslint-disable-next-line no-control-regex
      .replace(/\u0000/g, '.')
      .split(/\s+/)
      .filter((w) => w && !ARTICLES.has(w))
      .join(' ')
  )
}
