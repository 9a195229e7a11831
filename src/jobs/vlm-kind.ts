import type {JobKind, PluginApi} from '../plugin-api'
import {checkModelShape} from './model-shape'
import {maxStepsSchema, movedMaxSteps} from '../trainer/builtin-config'
import {modelSchema, taskSchema, tokenizerSchema, trainerSchema} from '../trainer/config'

/**
 * The built-in `vlm` kind: rfm's compact vision-language model trained with the built-in
 * TensorFlow.js trainer on a task rfm generates (shapes VQA), inside the runtime. It is the smallest
 * real built-in training job, and the reference the plugins' trainers are built from.
 */
export function vlmKind(api: PluginApi): JobKind {
  const schema = api.z
    .object({
      max_steps: maxStepsSchema(),
      // max_steps is top level in every kind (issue 22); trainer.max_steps is refused with that hint
      trainer: trainerSchema
        .omit({max_steps: true})
        .extend({max_steps: movedMaxSteps()})
        .strict()
        .default({})
        .describe('Optimisation keys: epochs, batch_size, lr, lora, scheduler, save_steps, backend, ... (max_steps is top level).'),
      model: modelSchema.strict().default({}).describe('Model size: width, depth, heads, context_length, vision {image_size, patch_size, ...}.'),
      tokenizer: tokenizerSchema.strict().default({}).describe('Tokenizer: kind (word | bpe), vocab_size.'),
      task: taskSchema.strict().default({}).describe('The generated task: train_size, eval_size, seed.'),
    })
    .strict()
  return api.defineJobKind({
    name: 'vlm',
    summary: "Train rfm's built-in compact VLM on a generated visual-QA task (built-in TensorFlow.js trainer).",
    schema,
    launchFlags: {
      'max-samples': {path: 'task.train_size', type: 'number', description: 'Quick validation: train on N generated samples (config key task.train_size).'},
    },
    estimate: () => ({gpus: 0, gpuMemoryGiB: 0, cpus: 2, memoryGiB: 2}),
    prepare(config) {
      const m = (config as {model: {width: number; heads: number; vision: null | {image_size: number; patch_size: number; width: number; heads: number}}}).model
      const at = (key: string, value: number) => ({key: `model.${key}`, value})
      checkModelShape({
        width: at('width', m.width),
        heads: at('heads', m.heads),
        ...(m.vision
          ? {
              vision: {
                image_size: at('vision.image_size', m.vision.image_size),
                patch_size: at('vision.patch_size', m.vision.patch_size),
                width: at('vision.width', m.vision.width),
                heads: at('vision.heads', m.vision.heads),
              },
            }
          : {}),
      })
      return config
    },
    async train(ctx) {
      // tfjs and the model code load only inside the job, never at CLI start-up.
      const {runTraining} = await import('../trainer/index.js')
      const result = await runTraining(ctx)
      return {backend: result.backend, step: result.step, finished: result.finished}
    },
  })
}
