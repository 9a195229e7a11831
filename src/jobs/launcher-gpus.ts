/**
 * The GPU count a distributed launcher command line asks for: `torchrun --nproc_per_node N`,
 * `python -m torch.distributed.run --nproc-per-node N`, `accelerate launch --num_processes N`
 * (`--multi_gpu` without a count: every GPU of the machine, which rfm cannot know: undefined),
 * `deepspeed --num_gpus N`, each as `--x N` or `--x=N`. Undefined when the command names no count.
 */
const COUNT_FLAGS = ['--nproc_per_node', '--nproc-per-node', '--num_processes', '--num-processes', '--num_gpus', '--num-gpus']

export function launcherGpus(argv: readonly string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    const eq = token.indexOf('=')
    const name = eq < 0 ? token : token.slice(0, eq)
    if (!COUNT_FLAGS.includes(name)) continue
    const value = eq < 0 ? argv[i + 1] : token.slice(eq + 1)
    const n = Number(value)
    if (Number.isInteger(n) && n >= 1) return n
  }
  return undefined
}
