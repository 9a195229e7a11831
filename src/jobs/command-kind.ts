import {statSync} from 'node:fs'
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
    })
    .strict()
  type Config = import('zod').infer<typeof schema>

  return api.defineJobKind<Config>({
    name: 'command',
    summary: 'Run any command line as the trainer, with its working directory and environment.',
    schema,
    estimate: () => ({gpus: 0, gpuMemoryGiB: 0, cpus: 1, memoryGiB: 1}),
    prepare(config, baseDir) {
      const workdir = path.resolve(baseDir, config.workdir)
      let isDir = false
      try {
        isDir = statSync(workdir).isDirectory()
      } catch {}
      if (!isDir) throw api.configError('workdir', `${workdir} is not a directory`, 'workdir is resolved relative to the config file\'s folder.')
      return {...config, workdir}
    },
    external(config) {
      const argv = typeof config.command === 'string' ? ['/bin/sh', '-c', config.command] : config.command
      return {argv, cwd: config.workdir, env: config.env}
    },
  })
}
