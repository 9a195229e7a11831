/**
 * Compile-time proof that the host's modules implement the plugin contract (`@rfm/plugin-api`):
 * if src/trainer, src/formats, src/grader, src/errors or the checkpoint/trainer-context types drift
 * from what the contract declares, this file stops compiling. Types only: nothing here runs.
 *
 * Constructors are compared with their parameters checked both ways, like methods: the contract
 * declares instances (Rng, Vlm) structurally, the host's classes have private state, and a plugin
 * only ever passes instances this host made (`new trainer.Rng(...)`) back into them.
 */
import type * as contract from '@rfm/plugin-api'

import type * as checkpointTypes from '../checkpoint/types'
import type {RetentionPolicy} from '../checkpoint/store'
import type {ExternalCheckpointSpec} from '../checkpoint/sync'
import type {CheckpointRow} from '../checkpoint/rows'
import type * as errorsModule from '../errors'
import type * as formatsModule from '../formats/index'
import type * as graderModule from '../grader/index'
import type {WorkloadInput} from '../scheduler/workload'
import type * as trainerModule from '../trainer/index'
import type * as replicaTypes from '../trainer/parallel/replica'
import type {TrainerContext, TrainOutcome} from '../trainer/context'
import type * as protocol from '../runtime/protocol'
import type {externalArgsKit} from '../jobs/external-args'

type Construct<C> = C extends abstract new (...args: infer A) => infer R ? {construct(...args: A): R}['construct'] : C
type Bivariant<T> = {[K in keyof T]: Construct<T[K]>}
/** the statics of a class (Rng.derive, WordTokenizer.fit), compared as they are */
type Statics<T> = {[K in keyof T]: Omit<T[K], 'prototype'>}

/** `Actual` implements `Contract` (compile error otherwise). */
type Implements<Contract, Actual extends Contract> = Actual

export type TrainerConforms = Implements<Bivariant<contract.TrainerCore>, Bivariant<Pick<typeof trainerModule, keyof contract.TrainerCore>>>
export type TrainerStaticsConform = Implements<Statics<Pick<contract.TrainerCore, 'Rng' | 'WordTokenizer'>>, Statics<Pick<typeof trainerModule, 'Rng' | 'WordTokenizer'>>>
export type FormatsConform = Implements<Bivariant<contract.FormatsCore>, Bivariant<Pick<typeof formatsModule, keyof contract.FormatsCore>>>
export type GraderConforms = Implements<Bivariant<contract.GraderCore>, Bivariant<Pick<typeof graderModule, keyof contract.GraderCore>>>
export type ErrorsConform = Implements<Bivariant<contract.ErrorsCore>, Bivariant<Pick<typeof errorsModule, keyof contract.ErrorsCore>>>

// the shapes both sides declare, each way
export type CheckpointIOConforms = Implements<contract.CheckpointIO, checkpointTypes.CheckpointIO> & Implements<checkpointTypes.CheckpointIO, contract.CheckpointIO>
export type SavedCheckpointConforms = Implements<contract.SavedCheckpoint, checkpointTypes.SavedCheckpoint> & Implements<checkpointTypes.SavedCheckpoint, contract.SavedCheckpoint>
export type RetentionConforms = Implements<contract.RetentionPolicy, RetentionPolicy> & Implements<RetentionPolicy, contract.RetentionPolicy>
export type ExternalSpecConforms = Implements<contract.ExternalCheckpointSpec, ExternalCheckpointSpec> & Implements<ExternalCheckpointSpec, contract.ExternalCheckpointSpec>
export type CheckpointRowConforms = Implements<contract.CheckpointRow, CheckpointRow> & Implements<CheckpointRow, contract.CheckpointRow>
export type WorkloadConforms = Implements<contract.WorkloadInput, WorkloadInput> & Implements<WorkloadInput, contract.WorkloadInput>
export type TrainerContextConforms = Implements<contract.TrainerContext, TrainerContext> & Implements<TrainerContext, contract.TrainerContext>
export type TrainOutcomeConforms = Implements<contract.TrainOutcome, TrainOutcome> & Implements<TrainOutcome, contract.TrainOutcome>
export type TrainResultConforms = Implements<contract.TrainResult, trainerModule.TrainResult>
export type ExternalArgsConform = Implements<contract.ExternalArgsKit, typeof externalArgsKit>
export type RuntimeKitConforms = Implements<contract.RuntimeKit, Pick<typeof protocol, keyof contract.RuntimeKit>>
export type ArraySlotConforms = Implements<contract.ArraySlot, protocol.ArraySlot> & Implements<protocol.ArraySlot, contract.ArraySlot>
// replica recipes (trainer.workers > 1): the spec both ways, and what a worker hands a plugin's
// factory has all the contract promises (what the factory returns is checked like trainWith's parts:
// instances this host made, whose private state the contract does not declare)
export type ReplicaSpecConforms = Implements<contract.ReplicaSpec, replicaTypes.ReplicaSpec> & Implements<replicaTypes.ReplicaSpec, contract.ReplicaSpec>
export type ReplicaEnvConforms = Implements<Bivariant<Omit<contract.ReplicaEnv, 'trainer'>>, Bivariant<Omit<replicaTypes.ReplicaEnv, 'trainer'>>>
export type ReplicaEnvTrainerConforms = Implements<Bivariant<contract.TrainerCore>, Bivariant<Pick<replicaTypes.ReplicaEnv['trainer'], keyof contract.TrainerCore>>>
