/**
 * Learning-rate schedules as pure functions of the optimizer step, so resuming needs only the step
 * (plus the steps at which the run resumed, for the optional re-warm).
 *   constant:            warmup → 1
 *   cosine:              linear warmup → cosine decay to min_lr
 *   warmup_hold_cosine:  warmup → hold at peak for hold_ratio of the run → cosine to min_lr
 * With `per: 'epoch'` the factor changes only at epoch boundaries.
 */
export interface ScheduleConfig {
  kind: 'constant' | 'cosine' | 'warmup_hold_cosine'
  warmupSteps?: number
  warmupRatio?: number
  holdRatio?: number
  /** floor of the decay, as a fraction of each group's peak learning rate */
  minLrRatio: number
  per: 'step' | 'epoch'
  /** after a resume, ramp linearly back up over this many steps (0 = off; breaks bitwise resume equality by design) */
  rewarmSteps: number
}

export interface ScheduleState {
  /** global steps at which this run resumed */
  resumedAt: number[]
}

export function warmupSteps(c: ScheduleConfig, totalSteps: number): number {
  if (c.warmupSteps !== undefined && c.warmupSteps > 0) return c.warmupSteps
  return Math.round((c.warmupRatio ?? 0) * totalSteps)
}

/**
 * Multiplier of the peak learning rate for optimizer step `step` (0-based: the step being taken).
 */
export function lrFactor(c: ScheduleConfig, step: number, totalSteps: number, stepsPerEpoch: number, state?: ScheduleState): number {
  const s = c.per === 'epoch' ? Math.floor(step / stepsPerEpoch) * stepsPerEpoch : step
  const warm = warmupSteps(c, totalSteps)
  let factor: number
  if (warm > 0 && s < warm) {
    factor = (s + 1) / warm
  } else if (c.kind === 'constant') {
    factor = 1
  } else {
    const hold = c.kind === 'warmup_hold_cosine' ? Math.round((c.holdRatio ?? 0) * totalSteps) : 0
    const decayStart = warm + hold
    if (s < decayStart) {
      factor = 1
    } else {
      const span = Math.max(1, totalSteps - decayStart)
      const progress = Math.min(1, (s - decayStart) / span)
      factor = c.minLrRatio + (1 - c.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress))
    }
  }
  const lastResume = state?.resumedAt.length ? state.resumedAt[state.resumedAt.length - 1] : undefined
  if (c.rewarmSteps > 0 && lastResume !== undefined && step >= lastResume) {
    factor *= Math.min(1, (step - lastResume + 1) / c.rewarmSteps)
  }
  return factor
}
