/** What `rfm eval` reads, asks and reports; shared by the benchmark readers, the scorer and the job. */

/** How a sample's answer is judged. */
export type AnswerKind = 'choice' | 'truth' | 'vqa'

/** One benchmark question with its image (encoded bytes, decoded per checkpoint input size). */
export interface EvalSample {
  /** the row's own id (CV-Bench idx, VSR line, VQA row) */
  id: string
  /** the task it is scored under: CV-Bench Count/Relation/Depth/Distance, a VSR relation, a VQA task */
  task: string
  /** CV-Bench 2D/3D; undefined elsewhere */
  type?: string
  question: string
  /** multiple choice: the options as released ("(A) left" or plain texts) */
  choices?: string[]
  /** the gold answer: "(A)" for CV-Bench, "true"/"false" for VSR, free text for VQA */
  answer: string
  kind: AnswerKind
  /** encoded PNG/JPEG (its bytes, or a file read when needed), or a model-input image already decoded (VQA rows of a plugin) */
  image: {bytes: Uint8Array; source: string} | {file: string; source: string} | {pixels: Float32Array; size: number}
}

/** A benchmark as read from its files: usable samples and the rows that could not be read. */
export interface Benchmark {
  name: string
  /** what was read (files), for the log and the JSON report */
  source: string
  samples: EvalSample[]
  /** one line per row that could not be read ("file row N: why") */
  unreadable: string[]
  /**
   * Aggregate rows beyond one per task: CV-Bench's 2D, 3D and overall means; the default "all" is
   * the plain accuracy over every scored sample.
   */
  aggregate?: 'cv-bench'
}

/** One row of the results: a checkpoint × benchmark × task. */
export interface ResultRow {
  checkpoint: string
  step: number | null
  benchmark: string
  task: string
  /** null when nothing could be scored (see error) */
  accuracy: number | null
  samples: number
  correct: number
  /** rows of the benchmark that could not be read or answered (task "all" only: the benchmark's count) */
  unreadable: number
  /** task "all": why rows were unreadable ("<file> line N: why"), the first 20 */
  unreadable_rows?: string[]
  /** samples judged by the LLM grader, and how many of them fell back to the rules */
  graded: number
  grader_fallbacks: number
  status: 'ok' | 'error'
  error?: string
}
