/** What every reward function sees of a dataset row, and what it returns. */

/** Task types the combined reward weighs by (the spatial generator's, plus generic VQA). */
export type TaskType = 'relation' | 'count' | 'color' | 'multiple_choice' | 'vqa'

export interface RewardSample {
  question: string
  answer: string
  referenceSteps: string[]
  choices?: string[]
  options?: string[]
  /** task type when the dataset says; otherwise inferred from the question and answer */
  task?: TaskType | string
}

export interface RewardResult {
  reward: number
  /** one line saying why: written to the debug logs */
  why: string
}

/** Scores a batch: completions[i] answers samples[i] (TRL's reward-function shape). */
export type RewardFunction = (completions: string[], samples: RewardSample[]) => RewardResult[]
