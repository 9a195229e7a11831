/**
 * Small deterministic tokenizers fit to the training data and saved with the checkpoint as JSON:
 * word-level (whitespace-split vocabulary) and byte-level BPE (merges learned greedily, ties broken
 * by the pair's ids so the same corpus always gives the same merges).
 * Ids 0..3 are <pad>, <bos>, <eos>, <unk> in both.
 */
export const PAD = 0
export const BOS = 1
export const EOS = 2
export const UNK = 3
const SPECIALS = ['<pad>', '<bos>', '<eos>', '<unk>']

export interface Tokenizer {
  readonly kind: 'word' | 'bpe'
  readonly vocabSize: number
  encode(text: string): number[]
  decode(ids: number[]): string
  /** id of a whole word/piece if it is one token, else undefined */
  tokenId(piece: string): number | undefined
  toJSON(): Record<string, unknown>
}

export class WordTokenizer implements Tokenizer {
  readonly kind = 'word'
  private readonly index: Map<string, number>

  constructor(readonly vocab: string[]) {
    this.index = new Map(vocab.map((w, i) => [w, i]))
  }

  static fit(texts: string[], maxVocab = 50_000): WordTokenizer {
    const counts = new Map<string, number>()
    for (const t of texts) for (const w of split(t)) counts.set(w, (counts.get(w) ?? 0) + 1)
    const words = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w)
    return new WordTokenizer([...SPECIALS, ...words.slice(0, maxVocab - SPECIALS.length)])
  }

  get vocabSize(): number {
    return this.vocab.length
  }

  encode(text: string): number[] {
    return split(text).map((w) => this.index.get(w) ?? UNK)
  }

  decode(ids: number[]): string {
    return ids
      .filter((i) => i > UNK || i === UNK)
      .map((i) => this.vocab[i] ?? '<unk>')
      .join(' ')
  }

  tokenId(piece: string): number | undefined {
    return this.index.get(piece)
  }

  toJSON(): Record<string, unknown> {
    return {kind: 'word', vocab: this.vocab}
  }
}

function split(text: string): string[] {
  return text.split(/\s+/).filter(Boolean)
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe'
  /** token id → bytes */
  private readonly pieces: Uint8Array[]
  private readonly rank = new Map<string, number>()

  /** merges: pairs of token ids, in learned order; merge i creates token id 4 + 256 + i */
  constructor(readonly merges: [number, number][]) {
    this.pieces = SPECIALS.map(() => new Uint8Array(0))
    for (let b = 0; b < 256; b++) this.pieces.push(Uint8Array.of(b))
    merges.forEach(([a, b], i) => {
      this.pieces.push(concat(this.pieces[a], this.pieces[b]))
      this.rank.set(`${a},${b}`, i)
    })
  }

  static fit(texts: string[], vocabSize: number): BpeTokenizer {
    // words keep their leading space (as GPT-2 does) so decoding restores spacing
    const wordCounts = new Map<string, number>()
    for (const t of texts) for (const w of t.match(/ ?[^ ]+| +/g) ?? []) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1)
    const words = [...wordCounts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([w, n]) => ({ids: [...Buffer.from(w, 'utf8')].map((x) => x + 4), n}))
    const merges: [number, number][] = []
    let next = 4 + 256
    while (next < vocabSize) {
      const pairs = new Map<string, number>()
      for (const w of words)
        for (let i = 0; i + 1 < w.ids.length; i++) {
          const key = `${w.ids[i]},${w.ids[i + 1]}`
          pairs.set(key, (pairs.get(key) ?? 0) + w.n)
        }
      let best: string | undefined
      let bestCount = 1
      for (const [key, count] of pairs) {
        if (count > bestCount || (count === bestCount && best !== undefined && comparePairs(key, best) < 0)) {
          best = key
          bestCount = count
        }
      }
      if (!best) break
      const [a, b] = best.split(',').map(Number)
      merges.push([a, b])
      for (const w of words) w.ids = mergePair(w.ids, a, b, next)
      next += 1
    }
    return new BpeTokenizer(merges)
  }

  get vocabSize(): number {
    return this.pieces.length
  }

  encode(text: string): number[] {
    const out: number[] = []
    for (const w of text.match(/ ?[^ ]+| +/g) ?? []) {
      let ids = [...Buffer.from(w, 'utf8')].map((x) => x + 4)
      for (;;) {
        let bestRank = Infinity
        let bestAt = -1
        for (let i = 0; i + 1 < ids.length; i++) {
          const r = this.rank.get(`${ids[i]},${ids[i + 1]}`)
          if (r !== undefined && r < bestRank) {
            bestRank = r
            bestAt = i
          }
        }
        if (bestAt < 0) break
        const [a, b] = this.merges[bestRank]
        ids = mergePair(ids, a, b, 4 + 256 + bestRank)
      }
      out.push(...ids)
    }
    return out
  }

  decode(ids: number[]): string {
    return Buffer.concat(ids.filter((i) => i >= 4 && i < this.pieces.length).map((i) => this.pieces[i])).toString('utf8')
  }

  tokenId(piece: string): number | undefined {
    const ids = this.encode(piece)
    return ids.length === 1 ? ids[0] : undefined
  }

  toJSON(): Record<string, unknown> {
    return {kind: 'bpe', merges: this.merges}
  }
}

function comparePairs(a: string, b: string): number {
  const [a0, a1] = a.split(',').map(Number)
  const [b0, b1] = b.split(',').map(Number)
  return a0 - b0 || a1 - b1
}

function mergePair(ids: number[], a: number, b: number, id: number): number[] {
  const out: number[] = []
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(id)
      i++
    } else out.push(ids[i])
  }
  return out
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

export function tokenizerFromJSON(json: Record<string, unknown>): Tokenizer {
  if (json.kind === 'word') return new WordTokenizer(json.vocab as string[])
  if (json.kind === 'bpe') return new BpeTokenizer(json.merges as [number, number][])
  throw new Error(`unknown tokenizer kind ${String(json.kind)}`)
}
