/**
 * A real PyTorch trainer (test/fixtures/torch_trainer.py: PyTorch's own nn/optim/save APIs, HF-layout
 * checkpoint-N/ folders with trainer_state.json written last, --resume_from_checkpoint) under
 * `rfm cloud launch command` with --chaos kills=10,signal=mixed: it finishes, its final weights equal
 * an uninterrupted run's bit for bit, and its outputs come back with `rfm cloud outputs`.
 * Needs Debian's python3-torch under /usr/bin/python3 (.ci/run installs it); skipped without it.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {assertMostKillsLanded} from '../helpers/chaos-run'
import {ROOT, rfmJson, tempHome} from '../helpers/cli'

const PYTHON = '/usr/bin/python3'
const TRAINER = path.join(ROOT, 'test', 'fixtures', 'torch_trainer.py')
const ARGS = ['--max_steps', '40', '--save_steps', '4', '--step_seconds', '0.05']

function hasTorch(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

test(
  'a PyTorch trainer under --chaos kills=10,signal=mixed ends with the weights of an uninterrupted run; its outputs come back',
  {skip: hasTorch() ? false : 'no python3-torch under /usr/bin/python3'},
  async () => {
    const home = tempHome()
    const reference = mkdtempSync(path.join(os.tmpdir(), 'rfm-torch-ref-'))
    execFileSync(PYTHON, [TRAINER, '--output_dir', path.join(reference, 'out'), ...ARGS])
    const expected = readFileSync(path.join(reference, 'out', 'weights.txt'), 'utf8')

    const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-torch-'))
    writeFileSync(
      path.join(dir, 'job.yaml'),
      [
        `command: [${PYTHON}, ${JSON.stringify(TRAINER)}, --output_dir, out, ${ARGS.map((a) => JSON.stringify(a)).join(', ')}]`,
        'checkpoints: {dir: out, resume_args: [--resume_from_checkpoint, "True"], save_total_limit: 2}',
        'outputs: [out]',
      ].join('\n'),
    )
    const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'command', '-c', path.join(dir, 'job.yaml'), '--follow', '--chaos', 'kills=10,seed=4,signal=mixed,min=0.5,max=1.5'], {
      home,
      env: {RFM_CHECKPOINT_POLL_MS: '50'},
      timeoutMs: 240_000,
    })
    assert.equal(code, 0, stderr + JSON.stringify(json).slice(0, 800))
    const run = json.run as {id: string; state: string; attempts: Array<{chaos?: string}>}
    assert.equal(run.state, 'succeeded')
    // a loaded machine finishes before the last kills are due: most must land, as in the other chaos tests
    assertMostKillsLanded(run as never, 10)
    assert.ok(run.attempts.some((a) => a.chaos === 'SIGKILL') && run.attempts.some((a) => a.chaos === 'SIGTERM'))
    assert.equal(readFileSync(path.join(dir, 'out', 'weights.txt'), 'utf8'), expected, "final weights equal the uninterrupted run's")

    // the outputs (final model, weights, logs; not the checkpoint folders) come back from the store
    const listed = await rfmJson(['cloud', 'outputs', run.id], {home})
    assert.equal(listed.code, 0, listed.stderr)
    const files = (listed.json.files as Array<{path: string}>).map((f) => f.path)
    assert.deepEqual(files, ['out/logs/train.log', 'out/pytorch_model.bin', 'out/weights.txt'])
    const pulled = mkdtempSync(path.join(os.tmpdir(), 'rfm-torch-pulled-'))
    const pull = await rfmJson(['cloud', 'outputs', run.id, pulled], {home})
    assert.equal(pull.code, 0, pull.stderr)
    assert.equal(readFileSync(path.join(pulled, 'out', 'weights.txt'), 'utf8'), expected)
  },
)
