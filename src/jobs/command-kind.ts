import * as path from 'node:path'

import type {JobKind, PluginApi} from '../plugin-api'

/** The built-in `command` kind: any command line as the trainer ("bring your own trainer"). */
export function commandKind(api: PluginApi): JobKind {
  const {z} = api
  const schema = z
    .object({
      command: z
        .union([z.string().min(1), z.array(z.string()).min(1)], {
          errorMap: () => ({message: 'a command line: a string (run by /bin/sh) or a list of arguments'}),
        })
        .describe('The command to run: a string run by /bin/sh -c, or a list [program, arg, ...] run directly.'),
      workdir: z.string().default('.').describe('Working directory, relative to the config file.'),
      env: z
        .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.union([z.string(), z.number(), z.boolean()]).transform(String))
        .default({})
        .describe('Extra environment variables for the command.'),
      data: z.string().min(1).optional().describe('A dataset: a local folder (staged to the store at launch) or a ds:NAME@HASH reference; the command finds it at $RFM_DATA_DIR.'),
      outputs: z
        .array(
          z
            .string()
            .min(1)
            .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'), 'a path relative to workdir, inside it'),
        )
        .default([])
        .describe("Files or folders (relative to workdir) uploaded to the run's store at the end of every attempt: the final model, logs, TensorBoard. rfm cloud outputs RUN pulls them."),
      checkpoints: z
        .object({
          dir: z.string().min(1).describe('Folder the trainer writes checkpoints to, relative to workdir.'),
          layout: z.enum(['hf', 'file']).default('hf').describe('hf: a folder checkpoint-<step>/ per save; file: one file overwritten at each save.'),
          file: z.string().min(1).optional().describe('With layout file: the file name inside dir.'),
          complete_marker: z.string().min(1).default('trainer_state.json').describe('With layout hf: a folder is complete once this file exists in it.'),
          resume_args: z.array(z.string()).default([]).describe('Arguments added when a checkpoint was restored, e.g. [--resume_from_checkpoint, "True"].'),
          save_total_limit: z.number().int().min(1).optional().describe('Keep this many newest checkpoints in the store (plus best and final).'),
          metric_for_best_model: z.string().optional().describe('Metric (from trainer_state.json log_history) that picks the best checkpoint.'),
          greater_is_better: z.boolean().default(false),
          save_on_sigterm: z.boolean().default(false).describe('The command saves a checkpoint when it gets SIGTERM; the planner then credits a spot notice with a checkpoint.'),
        })
        .strict()
        .refine((c) => c.layout !== 'file' || c.file !== undefined, 'with layout file, a file name in checkpoints.file')
        .optional()
        .describe('Where the command writes checkpoints, so rfm can upload them and resume after an interruption.'),
    })
    .strict()
  type Config = import('zod').infer<typeof schema>

  return api.defineJobKind<Config>({
    name: 'command',
    summary: 'Run any command line as the trainer, with its working directory and environment.',
    schema,
    // A command's needs are unknown: a launch asks Batch only for what the core `resources` key names
    // (requestedResources); this placeholder is for `rfm cloud plan`, with `resources` applied over it.
    resourcesFromConfigOnly: true,
    estimate: () => ({gpus: 0, gpuMemoryGiB: 0, cpus: 1, memoryGiB: 1}),
    datasetFields: ['data'],
    prepare(config, baseDir) {
      return {...config, workdir: api.external.resolveDir(baseDir, config.workdir, 'workdir', "workdir is resolved relative to the config file's folder.")}
    },
    external(config) {
      const argv = typeof config.command === 'string' ? ['/bin/sh', '-c', config.command] : config.command
      const c = config.checkpoints
      const checkpoints = c && {
        dir: path.resolve(config.workdir, c.dir),
        layout: c.layout,
        file: c.file,
        completeMarker: c.complete_marker,
        resumeArgs: c.resume_args,
        retention: {saveTotalLimit: c.save_total_limit, bestMetric: c.metric_for_best_model, greaterIsBetter: c.greater_is_better},
      }
      const env = config.data ? {...config.env, RFM_DATA_DIR: config.data} : config.env
      return {argv, cwd: config.workdir, env, ...(config.outputs.length > 0 ? {outputs: config.outputs} : {}), ...(checkpoints ? {checkpoints} : {})}
    },
  })
}
