import type {RunStore} from '../runs/run-store'
import type {CheckpointSelection} from './checkpoints'
import type {EvalReport} from './report'

/**
 * What both evaluators take (built-in scoring, evaluate.ts, and the user's script, external.ts):
 * the model and its checkpoints, and the job's hooks for sharing, resuming and committing.
 */
export interface EvalRunOptions {
  model: string
  checkpoints: CheckpointSelection
  /** the kind whose prompt/answer format a local folder's model uses */
  kind?: string
  maxSamples?: number
  runs(): Promise<RunStore>
  log(line: string): void
  /** only these checkpoints (an array child's share), by position in the full list */
  share?(names: string[]): string[]
  /** a report an earlier attempt committed: its finished checkpoints are kept, not scored again */
  resume?: EvalReport
  onCheckpoint?(report: EvalReport): Promise<void>
  /** true once the job was asked to stop: return after the current checkpoint */
  stopRequested?(): boolean
  now?: Date
}
