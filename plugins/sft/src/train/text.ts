/**
 * Text as the compact VLM's word tokenizer sees it. Numbers are spelled digit by digit ("0.45" →
 * "0 . 4 5"), so a progress answer is a few 10-way choices a small model can learn (tenths first)
 * instead of one of a hundred unrelated words; decoding joins them back.
 */
export function spaced(text: string): string {
  return text
    .replace(/\d+(?:\.\d+)?/g, (n) => ` ${n.split('').join(' ')} `)
    .replace(/\s+/g, ' ')
    .trim()
}

/** The inverse of `spaced` for an answer: digits and their point are joined again. */
export function unspaced(text: string): string {
  return text.replace(/(\d)\s+(?=[\d.])|(\.)\s+(?=\d)/g, (_m, d, p) => d ?? p).trim()
}

/** A progress answer as a number, or NaN when the model wrote something else. */
export function parseProgress(answer: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*$/.exec(answer)
  return m ? Number(m[1]) : NaN
}

/** A wrong progress answer for DPO: far from the right one (≥ 0.3), in the same format. */
export function wrongProgress(answer: string): string {
  const p = parseProgress(answer)
  if (Number.isNaN(p)) return '0.0'
  const decimals = answer.includes('.') ? answer.trim().split('.')[1].length : 1
  const wrong = p < 0.5 ? Math.min(1, p + 0.4) : Math.max(0, p - 0.4)
  return wrong.toFixed(decimals)
}
