import {runTraining} from '../src/trainer'
import {MemoryCheckpoints, trainerContext} from './helpers/trainer-context'
async function main() {
  const cp = new MemoryCheckpoints()
  const ctx = trainerContext({trainer: {backend: process.argv[2] ?? 'wasm', max_steps: Number(process.argv[3] ?? 200), batch_size: 32, lr: 3e-3, eval_steps: 50, tensorboard: false, scheduler: {kind: 'cosine', warmup_ratio: 0.05}}, model: {}, task: {}}, cp)
  const t0 = Date.now()
  const r = await runTraining(ctx)
  console.log(ctx.logs.join('\n'))
  for (const m of ctx.metrics) if ('eval_accuracy' in m.values || m.step % 25 === 0) console.log(m.step, JSON.stringify(m.values))
  console.log(r, (Date.now() - t0) / 1000, 's')
}
main()
