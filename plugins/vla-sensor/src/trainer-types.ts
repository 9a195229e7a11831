/** Types of the host's trainer core, reached only through the plugin API (a plugin imports no core code). */
import type {PluginApi} from 'rfm/plugin-api'

export type TrainerModule = Awaited<ReturnType<PluginApi['loadTrainer']>>
export type RngCtor = TrainerModule['Rng']
export type Rng = InstanceType<RngCtor>
export type Vlm = InstanceType<TrainerModule['Vlm']>
export type Tf = Vlm['tf']
export type Tensor = ReturnType<Tf['tensor']>
export type Variable = ReturnType<Tf['variable']>
