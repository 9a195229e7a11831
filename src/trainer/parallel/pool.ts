/**
 * Data parallel over worker threads. Shard 0 of each micro-batch runs on the main thread, shards
 * 1..N-1 in N-1 workers (each its own wasm instance: tfjs's threaded wasm build does not run in
 * Node); the shard gradients are combined in shard order, weighted by shard size, so a run with a
 * given N is deterministic. Each shard's RNG derives from one seed the run's RNG draws per micro-batch.
 */
import * as path from 'node:path'
import {Worker} from 'node:worker_threads'

import type * as tfTypes from '@tensorflow/tfjs-core'

import type {SelectedBackend} from '../backend'
import type {TrainableModel, TrainingTask} from '../task'
import type {ReplicaSpec} from './replica'
import {shards} from './replica'
import {shardGradients, shardRng} from './shard'
import type {InitMessage, StepMessage, WorkerReply} from './worker'

type GradsReply = Extract<WorkerReply, {type: 'grads'}>

class ShardWorker {
  /** replies come in request order */
  private readonly pending: {resolve: (r: GradsReply) => void; reject: (e: Error) => void}[] = []
  private failure?: Error

  constructor(readonly thread: Worker) {
    thread.on('message', (reply: WorkerReply) => {
      if (reply.type === 'grads') this.settle(undefined, reply)
      else if (reply.type === 'error') this.settle(new Error(`trainer worker: ${reply.message}`))
    })
    thread.on('error', (error) => this.settle(error))
    thread.on('exit', (code) => this.settle(new Error(`trainer worker exited (${code})`)))
  }

  private settle(error?: Error, reply?: GradsReply): void {
    if (error) {
      this.failure ??= error
      for (const p of this.pending.splice(0)) p.reject(error)
      return
    }
    this.pending.shift()?.resolve(reply!)
  }

  request(msg: StepMessage): Promise<GradsReply> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      this.pending.push({resolve, reject})
      this.thread.postMessage(msg)
    })
  }
}

export class WorkerPool {
  private nextId = 0

  private constructor(
    private readonly workers: ShardWorker[],
    readonly size: number,
  ) {}

  /** Starts n-1 worker threads holding the model's current weights (n counts the main thread). */
  static async start(n: number, backend: SelectedBackend, spec: ReplicaSpec, model: TrainableModel, names: string[]): Promise<WorkerPool> {
    const weights = model.store.toSafe()
    const started = await Promise.all(
      Array.from({length: n - 1}, () => {
        const thread = new Worker(path.join(__dirname, 'worker.js'))
        // a worker never keeps the process alive: the run ends (or is stopped) on the main thread
        thread.unref()
        return new Promise<ShardWorker>((resolve, reject) => {
          const onMessage = (reply: WorkerReply) => {
            thread.off('message', onMessage)
            if (reply.type === 'ready') resolve(new ShardWorker(thread))
            else reject(new Error(`trainer worker failed to start: ${reply.type === 'error' ? reply.message : reply.type}`))
          }
          thread.on('message', onMessage)
          thread.once('error', reject)
          thread.postMessage({type: 'init', backend: backend.name, spec, names, attention: model.attentionProducts ?? 'batched', weights} satisfies InitMessage)
        })
      }),
    )
    return new WorkerPool(started, n)
  }

  /**
   * Loss and gradients of one micro-batch: Σ_k scale · (w_k / w) · (loss, grads) of
   * shard k, summed in shard order (w_k: shard k's TrainingTask.lossWeight, by default its size). `params` (the trainable values) go to the workers when they changed.
   */
  async microBatch<M extends TrainableModel>(
    tf: typeof tfTypes,
    model: M,
    task: TrainingTask<M>,
    names: string[],
    indices: number[],
    seed: number,
    scale: number,
    params?: Float32Array[],
  ): Promise<{loss: number; grads: Map<string, tfTypes.Tensor>}> {
    const parts = shards(indices, this.size)
    const requests = parts.slice(1).map((shard, i) => this.workers[i].request({type: 'step', id: this.nextId++, params, indices: shard, seed, shard: i + 1}))
    // a worker that gets no shard this time still needs the new weights for the next one
    for (let i = parts.length - 1; params && i < this.workers.length; i++)
      void this.workers[i].request({type: 'step', id: this.nextId++, params, indices: null, seed, shard: i + 1}).catch(() => undefined)
    // if the main thread's shard throws, the run ends and the workers' answers are never awaited
    for (const r of requests) r.catch(() => undefined)
    const own = shardGradients(tf, model, task, names, parts[0], shardRng(seed, 0))
    const replies = await Promise.all(requests)
    // the workers' task statistics join the run's task's own, in shard order
    if (task.mergeShardStats) for (const r of replies) if (r.stats !== undefined) task.mergeShardStats(r.stats)
    // each shard's loss is its own (weighted) mean: combine them by their share of the batch's weight
    const sizes = parts.map((p) => (task.lossWeight ? task.lossWeight(p) : p.length))
    const total = sizes.reduce((a, b) => a + b, 0)
    const weight = (k: number) => (total > 0 ? sizes[k] / total : parts[k].length / indices.length) * scale
    let loss = own.loss * weight(0)
    replies.forEach((r, i) => (loss += r.loss * weight(i + 1)))
    const grads = new Map<string, tfTypes.Tensor>()
    names.forEach((name, j) => {
      const terms: tfTypes.Tensor[] = []
      const mine = own.grads.get(name)
      if (mine) terms.push(tf.mul(mine, weight(0)))
      replies.forEach((r, i) => {
        const g = r.grads[j]
        if (g) terms.push(tf.tidy(() => tf.mul(tf.tensor(g, model.store.get(name).shape, 'float32'), weight(i + 1))))
      })
      mine?.dispose()
      if (terms.length === 0) return
      let sum = terms[0]
      for (const t of terms.slice(1)) {
        const next = tf.add(sum, t)
        sum.dispose()
        t.dispose()
        sum = next
      }
      grads.set(name, sum)
    })
    return {loss, grads}
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.thread.terminate()))
  }
}
