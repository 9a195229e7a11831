import {checkRunId} from '../runs/run-id'

/** A path parameter is used only when it is a run id (the format of src/runs/run-id.ts): no '/', no '..'. */
export function isRunId(value: string): boolean {
  try {
    checkRunId(value)
    return true
  } catch {
    return false
  }
}
