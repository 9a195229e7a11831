/**
 * Sampling for prompts of different lengths in one batch. The core's generate() needs equal
 * lengths; here each row is right-padded and its next token read at its own last position
 * (attention is causal, so padding after a row's end never changes its logits). One forward per
 * new token for the whole batch instead of one per prompt length.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'
import type {PluginApi, TrainingTask} from '@rfm/plugin-api'

type TrainerModule = Awaited<ReturnType<PluginApi['loadTrainer']>>
type Vlm = Parameters<TrainingTask['loss']>[0]
type Sampling = Parameters<TrainerModule['sampleToken']>[1]

const PAD = 0
const EOS = 2

/** New tokens for each prompt (with EOS when it ended), at most maxNewTokens, never past the context length. */
export function generateRagged(trainer: TrainerModule, model: Vlm, prompts: number[][], patches: Float32Array, s: Sampling): number[][] {
  const tf = model.tf as typeof tfTypes
  const b = prompts.length
  const seqs = prompts.map((p) => [...p])
  const out: number[][] = prompts.map(() => [])
  const done = new Array<boolean>(b).fill(false)
  const v = model.config.vision!
  const patchLen = v.patchSize * v.patchSize * v.channels
  const patchTensor = tf.tensor3d(patches, [b, patches.length / b / patchLen, patchLen])
  try {
    for (let n = 0; n < s.maxNewTokens; n++) {
      const live = seqs.map((q, i) => (!done[i] && q.length <= model.config.contextLength ? i : -1)).filter((i) => i >= 0)
      if (live.length === 0) break
      const t = Math.max(...live.map((i) => seqs[i].length))
      // only rows still generating are run: finished ones would cost a forward each for nothing
      const rows = tf.tidy(() => {
        const tokens = tf.tensor2d(
          live.flatMap((i) => Array.from({length: t}, (_, j) => (j < seqs[i].length ? seqs[i][j] : PAD))),
          [live.length, t],
          'int32',
        )
        const p = live.length === b ? patchTensor : tf.gather(patchTensor, tf.tensor1d(live, 'int32'))
        // a model whose image tokens are modulated by the prompt (sft's prompt_film) needs each row's prompt length
        const logits = model.forward({tokens, patches: p, promptLengths: live.map((i) => prompts[i].length)}, false).logits!
        // each row's logits at its own last position
        const at = tf.tensor1d(
          live.map((i, r) => r * t + seqs[i].length - 1),
          'int32',
        )
        return tf.gather(tf.reshape(logits, [live.length * t, -1]), at)
      })
      const values = rows.dataSync() as Float32Array
      rows.dispose()
      const vocab = values.length / live.length
      for (const [r, i] of live.entries()) {
        const id = trainer.sampleToken(values.subarray(r * vocab, (r + 1) * vocab), s)
        seqs[i].push(id)
        out[i].push(id)
        if (id === EOS) done[i] = true
      }
    }
  } finally {
    patchTensor.dispose()
  }
  return out
}
