/**
 * `rfm doctor` on a local profile: what a run on this machine depends on, one finding per check.
 * The store (a probe object written, read back and removed), the built-in trainers' backend and who
 * computes their matrix products, the cores `trainer.workers: auto` uses, and the Python that
 * external-mode trainers run with. Only an unusable store is a problem: the rest run, slower or
 * without external mode, and say so with what would change it.
 */
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import * as os from 'node:os'

import type {Profile} from '../config/profiles'
import type {DoctorFinding} from './checks'

const errorText = (error: unknown) => (error as Error).message ?? String(error)

async function storeCheck(profile: Profile): Promise<DoctorFinding> {
  const check = 'store'
  const key = `doctor/probe-${process.pid}-${randomBytes(4).toString('hex')}`
  const body = `rfm doctor ${new Date().toISOString()}`
  try {
    const {openStore} = await import('../store/open.js')
    const store = await openStore(profile.store, {region: profile.region, endpoint: profile.endpoint})
    await store.put(key, body)
    const back = (await store.get(key))?.toString()
    await store.delete(key)
    if (back !== body) return {check, status: 'problem', message: `${profile.store} gave back other bytes than were written`, fix: 'Check the store (rfm config set store URL).'}
    return {check, status: 'ok', message: `${profile.store} is writable (a probe object written, read back and removed)`}
  } catch (error) {
    return {
      check,
      status: 'problem',
      message: `${profile.store} is not usable: ${errorText(error)}`,
      fix: 'Fix the store URL or its permissions: rfm config set store file:///PATH or s3://BUCKET/PREFIX.',
    }
  }
}

async function trainerChecks(): Promise<DoctorFinding[]> {
  try {
    const {describeBackend, selectBackend} = await import('../trainer/backend.js')
    const backend = await selectBackend('auto')
    const findings: DoctorFinding[] = [{check: 'trainer backend', status: 'ok', message: describeBackend(backend)}]
    if (backend.name === 'wasm') {
      findings.push(
        backend.products === 'openblas'
          ? {check: 'matrix products', status: 'ok', message: `native kernels with ${backend.matmul}`}
          : {
              check: 'matrix products',
              status: 'ok',
              message: `tfjs-wasm's own kernels, about 3× slower than the native ones: ${backend.matmul}`,
              fix: 'Install a C compiler and OpenBLAS (Debian: apt-get install gcc libc6-dev libopenblas0-pthread), then npm run compile.',
            },
      )
    }
    return findings
  } catch (error) {
    return [{check: 'trainer backend', status: 'problem', message: `no tfjs backend starts: ${errorText(error)}`, fix: 'Reinstall rfm (npm ci); RFM_NATIVE=off rules out the native kernels.'}]
  }
}

function coresCheck(): DoctorFinding {
  const cores = os.availableParallelism()
  return {check: 'cores', status: 'ok', message: `${cores} available: builtin.workers auto splits each batch over ${cores} worker thread${cores === 1 ? '' : 's'}`}
}

/** python3 and whether torch imports: external trainers (trainer_mode: external) need them. */
function pythonCheck(): DoctorFinding {
  const check = 'python for external trainers'
  const probe = 'import sys\ntry:\n    import torch\n    t = torch.__version__\nexcept Exception as e:\n    t = "-" + type(e).__name__\nprint(sys.version.split()[0], t)'
  const run = spawnSync('python3', ['-c', probe], {encoding: 'utf8', timeout: 60_000})
  if (run.error || run.status !== 0) {
    return {
      check,
      status: 'skipped',
      message: "python3 not found: external mode (trainer_mode: external) runs the pipeline's own Python script",
      fix: "Install Python 3 and the pipeline's requirements to use external mode; the built-in trainers do not need it.",
    }
  }
  const [python, torch] = run.stdout.trim().split(' ')
  if (torch?.startsWith('-')) return {check, status: 'ok', message: `python3 ${python}; torch does not import (${torch.slice(1)}): external trainers need their own environment`}
  return {check, status: 'ok', message: `python3 ${python}, torch ${torch}`}
}

export async function runLocalDoctor(profile: Profile): Promise<DoctorFinding[]> {
  return [await storeCheck(profile), ...(await trainerChecks()), coresCheck(), pythonCheck()]
}
