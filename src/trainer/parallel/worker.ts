/**
 * A data-parallel worker thread: its own tfjs backend (its own wasm instance), the run's model and
 * task rebuilt from a ReplicaSpec, the run's weights assigned; then, per request, one shard's loss
 * and gradients. Started by WorkerPool (pool.ts).
 */
import {parentPort} from 'node:worker_threads'

import type * as tfTypes from '@tensorflow/tfjs-core'

import type {BackendName} from '../backend'
import type {AttentionProducts} from '../nn/layers'
import type {SafeTensor} from '../formats/safetensors'
import type {Replica, ReplicaFactory, ReplicaSpec} from './replica'
import {shardGradients, shardRng} from './shard'

export interface InitMessage {
  type: 'init'
  backend: BackendName
  spec: ReplicaSpec
  names: string[]
  attention: AttentionProducts
  weights: Record<string, SafeTensor>
}

export interface StepMessage {
  type: 'step'
  id: number
  /** the trainable parameters' values, in `names` order, when they changed since the last request */
  params?: Float32Array[]
  /** null: only take the new weights (this worker has no shard this time) */
  indices: number[] | null
  seed: number
  shard: number
}

export type WorkerReply =
  | {type: 'ready'}
  | {type: 'error'; message: string}
  /** stats: what the replica's task gathered in this shard (TrainingTask.drainShardStats) */
  | {type: 'grads'; id: number; loss: number; grads: (Float32Array | null)[]; stats?: unknown}

let replica: Replica | undefined
let tf: typeof tfTypes
let names: string[] = []

async function init(msg: InitMessage): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const trainer = require('../index') as typeof import('../index')
  const backend = await trainer.selectBackend(msg.backend)
  tf = backend.tf
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = (require(msg.spec.module) as Record<string, ReplicaFactory>)[msg.spec.export]
  if (typeof factory !== 'function') throw new Error(`replica: ${msg.spec.module} has no export ${msg.spec.export}`)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loadFormats = async () => require('../../formats/index') as typeof import('../../formats/index')
  replica = await factory(msg.spec.args, {backend, trainer, loadFormats})
  replica.model.store.load(msg.weights)
  // only models built from the core's attention have the switch
  if ('attentionProducts' in replica.model) replica.model.attentionProducts = msg.attention
  names = msg.names
}

function step(msg: StepMessage): WorkerReply {
  const {model, task} = replica!
  if (msg.params) {
    msg.params.forEach((values, i) => {
      const v = model.store.get(names[i])
      tf.tidy(() => v.assign(tf.tensor(values, v.shape, 'float32')))
    })
  }
  if (!msg.indices) return {type: 'grads', id: msg.id, loss: 0, grads: []}
  const {loss, grads} = shardGradients(tf, model, task, names, msg.indices, shardRng(msg.seed, msg.shard))
  const out = names.map((name) => {
    const g = grads.get(name)
    if (!g) return null
    // wasm's dataSync is a fresh copy, safe to transfer; cpu's may be the backend's own storage
    const values = tf.getBackend() === 'wasm' ? (g.dataSync() as Float32Array) : Float32Array.from(g.dataSync())
    g.dispose()
    return values
  })
  return {type: 'grads', id: msg.id, loss, grads: out, stats: task.drainShardStats?.()}
}

parentPort?.on('message', (msg: InitMessage | StepMessage) => {
  if (msg.type === 'init') {
    init(msg).then(
      () => parentPort!.postMessage({type: 'ready'} satisfies WorkerReply),
      (error: Error) => parentPort!.postMessage({type: 'error', message: error.stack ?? error.message} satisfies WorkerReply),
    )
    return
  }
  try {
    const reply = step(msg)
    const transfer = reply.type === 'grads' ? reply.grads.filter((g): g is Float32Array => g !== null).map((g) => g.buffer as ArrayBuffer) : []
    parentPort!.postMessage(reply, transfer)
  } catch (error) {
    parentPort!.postMessage({type: 'error', message: (error as Error).stack ?? (error as Error).message} satisfies WorkerReply)
  }
})
