import {existsSync, statSync} from 'node:fs'
import * as path from 'node:path'

import type {JobKind, KindEvaluation, PluginApi} from '../plugin-api'

/**
 * The built-in `eval` kind: `rfm eval` as a job. It scores a run's checkpoints (or a staged
 * checkpoint folder) on the benchmarks, commits the results after each checkpoint (an interrupted
 * attempt resumes after the last one) and, as an AWS Batch array job (--array N), child i scores
 * checkpoints i, i+N, … External mode runs the user's evaluation script (seed 003's evaluate.py) on
 * each checkpoint, pulled into a local folder.
 */
export function evalKind(api: PluginApi, evaluations: () => Promise<Map<string, KindEvaluation>>): JobKind {
  const {z} = api
  const path_ = z.string().min(1)
  const schema = z
    .object({
      model: path_.optional().describe('A run id of this store, or a local checkpoint folder (staged at launch into model_dir).'),
      model_dir: path_.optional().describe('A checkpoint folder (or a folder of checkpoint-<step>/ folders), staged at launch.'),
      model_kind: z.string().optional().describe('For a folder: the kind that trained it (its prompt and answer format, e.g. grpo).'),
      checkpoints: z
        .union([z.enum(['all', 'best', 'final', 'latest']), z.number().int().min(0)])
        .default('all')
        .describe('Which checkpoints: all, best, final, latest or a step.'),
      benchmarks: z
        .object({
          cv_bench: path_.optional().describe('CV-Bench parquet file or folder (test_2d.parquet, test_3d.parquet).'),
          vsr: path_.optional().describe('VSR split (.jsonl) or a folder holding test.jsonl and images/.'),
          vqa: path_.optional().describe("A VQA set in the grpo plugin's formats (save_to_disk folder, JSONL + images)."),
        })
        .strict()
        .default({})
        .describe('Benchmark files, staged at launch.'),
      images: path_.optional().describe('VSR images folder, when benchmarks.vsr is a .jsonl file elsewhere.'),
      max_samples: z.number().int().min(1).optional().describe('Only the first N rows of each benchmark.'),
      batch_size: z.number().int().min(1).default(16),
      max_new_tokens: z.number().int().min(1).default(32),
      llm_grader: z
        .object({
          base_url: z.string().url().describe('OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (Ollama).'),
          model: z.string().min(1),
          api_key_env: z.string().optional().describe('Environment variable holding the API key.'),
          timeout_s: z.number().positive().default(30),
          max_concurrency: z.number().int().min(1).default(4),
        })
        .strict()
        .optional()
        .describe('Grade free-form VQA answers with an LLM; the rules decide when it fails (counted).'),
      external: z
        .object({
          command: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe('The evaluation script, run once per checkpoint; {model_path}, {output_dir}, {max_samples} are replaced.'),
          workdir: z.string().default('.').describe("Working directory (the pipeline's checkout), relative to the config file; staged at launch."),
          env: z.record(z.string()).default({}),
        })
        .strict()
        .optional()
        .describe('Run your own evaluation script (e.g. python scripts/evaluate.py --model_path {model_path} --benchmarks VSR CV-Bench) instead of the built-in scorer.'),
    })
    .strict()
  type Config = import('zod').infer<typeof schema>
  return api.defineJobKind<Config>({
    name: 'eval',
    summary: "Evaluate a run's checkpoints on CV-Bench, VSR and a VQA set (rfm eval as a resumable job; --array N splits the checkpoints on AWS Batch).",
    schema,
    launchFlags: {
      'max-samples': {path: 'max_samples', type: 'number', description: 'Quick validation: only the first N rows of each benchmark (external: {max_samples} in the command).'},
    },
    estimate: (c) => (c.external ? {gpus: 1, gpuMemoryGiB: 24, cpus: 8, memoryGiB: 32} : {gpus: 0, gpuMemoryGiB: 0, cpus: 2, memoryGiB: 4}),
    datasetFields: ['model_dir', 'benchmarks.cv_bench', 'benchmarks.vsr', 'benchmarks.vqa', 'images', 'external.workdir'],
    prepare(config, baseDir) {
      const c = {...config}
      if (c.model && existsSync(path.resolve(baseDir, c.model)) && statSync(path.resolve(baseDir, c.model)).isDirectory()) {
        c.model_dir = c.model
        delete c.model
      }
      if ((c.model === undefined) === (c.model_dir === undefined)) throw api.configError('model', 'give exactly one of model (a run id or a folder) and model_dir')
      if (!c.external && Object.values(c.benchmarks).every((v) => v === undefined)) throw api.configError('benchmarks', 'no benchmark given', 'e.g. benchmarks: {cv_bench: ./CV-Bench, vsr: ./vsr}')
      if (c.external) {
        c.external = {...c.external, workdir: api.external.resolveDir(baseDir, c.external.workdir, 'external.workdir')}
      }
      return c
    },
    async train(ctx) {
      // tfjs, the parquet reader and the model load only inside the job
      const {evaluateInJob} = await import('../eval/job.js')
      // ctx.config is parsed once by the runtime (src/runtime/recorded-config.ts)
      return evaluateInJob(ctx, ctx.config, evaluations)
    },
  })
}
