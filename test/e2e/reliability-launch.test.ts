/**
 * Reliability report D10, D11: what can be checked at launch is checked at launch (exit 2, before a
 * run is recorded), and `--dry-run` makes every check the real launch makes. The cases are the
 * report's (C31, C33, K4, K5, K14, K37, K42, K56, K59–K61, B6, B14, F6, F8, F21, F22).
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import * as formats from '../../src/formats'
import {rfm, tempHome} from '../helpers/cli'

const home = tempHome()
const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-rel-launch-'))
const write = (name: string, text: string) => {
  const file = path.join(scratch, name)
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, text)
  return file
}
const hello = write('hello.yaml', 'command: [node, -e, "0"]\n')
const noRuns = () => readdirSync(path.join(home, 'store', 'runs'), {withFileTypes: true}).length

async function refused(args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const result = await rfm(args, {home, env})
  assert.equal(result.code, 2, `rfm ${args.join(' ')}\n${result.stdout}${result.stderr}`)
  assert.match(result.stderr, pattern, `rfm ${args.join(' ')}`)
  assert.doesNotMatch(result.stderr, /bug in rfm|Internal error/)
}

test('D11 (C31, K14, K37, K42, K56): dataset paths that do not exist fail the dry run', async () => {
  mkdirSync(path.join(home, 'store', 'runs'), {recursive: true})
  await refused(['cloud', 'launch', 'command', '-c', hello, '--set', 'data=./no-such-folder', '--dry-run'], /data: the dataset path .*no-such-folder does not exist/)
  await refused(['cloud', 'launch', 'sft', '--set', 'dataset_path=/nonexistent/vqa', '--dry-run'], /dataset_path: the dataset path \/nonexistent\/vqa does not exist/)
  await refused(['cloud', 'launch', 'grpo', '--set', 'dataset_name=/nonexistent/ds', '--dry-run'], /dataset_name: the dataset path \/nonexistent\/ds does not exist/)
  await refused(['cloud', 'launch', 'rm-eval', '--set', 'dataset_path=/nonexistent.jsonl', '--dry-run'], /dataset_path: the dataset path \/nonexistent.jsonl does not exist/)
  await refused(['cloud', 'launch', 'vla-sensor', '--set', 'vl_cache=/nonexistent/cache', '--dry-run'], /vl_cache: the dataset path \/nonexistent\/cache does not exist/)
})

test('D10 (C33): a ds: reference that is not in the store fails the launch, and its dry run', async () => {
  for (const dry of [['--dry-run'], []]) {
    await refused(['cloud', 'launch', 'command', '-c', hello, '--set', 'data=ds:nosuch@deadbeef', ...dry], /data: Dataset ds:nosuch@deadbeef does not exist/)
  }
  assert.equal(noRuns(), 0)
})

test('D10 (K4, K5): the vlm model shape is checked at launch', async () => {
  await refused(['cloud', 'launch', 'vlm', '--set', 'model.width=65', '--dry-run'], /model\.width: 65 is not divisible by model\.heads 4/)
  await refused(['cloud', 'launch', 'vlm', '--set', 'model.vision.patch_size=5'], /model\.vision\.image_size: 16 is not divisible by model\.vision\.patch_size 5/)
  await refused(['cloud', 'launch', 'vlm', '--set', 'model.vision.width=65', '--dry-run'], /model\.vision\.width: 65 is not divisible by model\.vision\.heads 4/)
  // the plugins' compact VLM too: width and vision_width by heads
  await refused(
    ['cloud', 'launch', 'sft', '-c', 'examples/sft/spatial-sft.yaml', '--set', 'builtin.model.width=65', '--dry-run'],
    /builtin\.model\.width: 65 is not divisible by builtin\.model\.heads/,
  )
  await refused(['cloud', 'launch', 'grpo', '--set', 'builtin.model.vision_width=66', '--dry-run'], /builtin\.model\.vision_width: 66 is not divisible by builtin\.model\.heads/)
  await refused(['cloud', 'launch', 'rm-eval', '--set', 'builtin.model.patch_size=5', '--dry-run'], /builtin\.model\.image_size: \d+ is not divisible by builtin\.model\.patch_size 5/)
  assert.equal(noRuns(), 0)
})

test('D10 (K59–K61): checkpoints of runs that do not exist fail the launch', async () => {
  await refused(['cloud', 'launch', 'vla-sensor', '--set', 'vl_cache=null', '--set', 'stage1_checkpoint=nosuch-run@best'], /stage1_checkpoint: Run nosuch-run has no best checkpoint/)
  await refused(['cloud', 'launch', 'sft', '-c', 'examples/sft/spatial-dpo.yaml', '--stage', 'dpo', '--sft-checkpoint', 'nosuch-run'], /sft_checkpoint: Run nosuch-run has no committed checkpoint/)
  await refused(['cloud', 'launch', 'grpo', '--sft-checkpoint', 'nosuch-run', '--dry-run'], /sft_checkpoint: Run nosuch-run has no committed checkpoint/)
  assert.equal(noRuns(), 0)
})

/** A PNG of 8×8 pixels. */
const png = () => formats.encodePng({width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(120)})

test('D10 (B14, B15): grpo data is read at launch; a lone .jsonl naming images is refused', async () => {
  const dir = path.join(scratch, 'grpo-ds')
  mkdirSync(dir, {recursive: true})
  writeFileSync(path.join(dir, 'a.png'), png())
  const row = JSON.stringify({image: 'a.png', question: 'What is shown?', answer: 'a square', reference_steps: ['look']})
  writeFileSync(path.join(dir, 'train.jsonl'), `${row}\n${row}\n`)
  const config = write('grpo.yaml', `dataset_name: grpo-ds/train.jsonl\n`)
  await refused(['cloud', 'launch', 'grpo', '-c', config, '--dry-run'], /dataset_name: .*train\.jsonl is a single \.jsonl file whose rows name image files .*only the file is staged/)
  writeFileSync(path.join(dir, 'train.jsonl'), `${row}\n${row.slice(0, 20)}\n`)
  const folder = write('grpo-folder.yaml', `dataset_name: grpo-ds\n`)
  await refused(['cloud', 'launch', 'grpo', '-c', folder, '--dry-run'], /train\.jsonl:2: not valid JSON/)
  assert.equal(noRuns(), 0)
})

test('D10: an rm-eval job on a lone .jsonl naming images is refused at launch', async () => {
  const dir = path.join(scratch, 'rm')
  mkdirSync(path.join(dir, 'images'), {recursive: true})
  writeFileSync(path.join(dir, 'images', '0.png'), png())
  const record = JSON.stringify({prompt: 'q', chosen: 'a', rejected: 'b', images: ['images/0.png']})
  writeFileSync(path.join(dir, 'prefs.jsonl'), `${record}\n${record}\n`)
  const config = write('rm.yaml', 'dataset_path: rm/prefs.jsonl\n')
  await refused(['cloud', 'launch', 'rm-eval', '-c', config, '--dry-run'], /dataset_path: .*prefs\.jsonl is a single \.jsonl file whose records name image files .*a job stages only the file/)
  const folder = write('rm-folder.yaml', 'dataset_path: rm\n')
  const ok = await rfm(['cloud', 'launch', 'rm-eval', '-c', folder, '--dry-run'], {home})
  assert.equal(ok.code, 0, ok.stderr)
})

test('D10, D15 (B6): an sft dataset with an empty Arrow shard fails the launch, naming the shard', async () => {
  const dir = path.join(scratch, 'vqa')
  await formats.writeHfDataset(dir, [{sample_type: 'progress'}], {sample_type: {_type: 'Value', dtype: 'string'}})
  const shard = readdirSync(dir).find((f) => f.endsWith('.arrow'))!
  writeFileSync(path.join(dir, shard), '')
  await refused(['cloud', 'launch', 'sft', '--set', `dataset_path=${dir}`, '--dry-run'], new RegExp(`${shard}: not an Arrow IPC file: no schema`))
})

test('D11 (F6, F8, F21, F22): backend flags are checked by the dry run too', async () => {
  // multi-node jobs were removed (issue 18, B6): --nodes is no flag at all
  await refused(['cloud', 'launch', 'command', '-c', hello, '--nodes', '2', '--dry-run'], /Nonexistent flag: --nodes/)
  await refused(['cloud', 'launch', 'command', '-c', hello, '--chaos', 'kills=1,seed=1', '--array', '3', '--dry-run'], /--array and --queue work on the aws-batch backend only/)
  const batchHome = tempHome()
  writeFileSync(path.join(batchHome, 'config.json'), JSON.stringify({active: 'cloud', profiles: {cloud: {backend: 'aws-batch', store: `file://${batchHome}/store`, region: 'us-east-1'}}}))
  const onBatch = async (args: string[], pattern: RegExp) => {
    const result = await rfm(args, {home: batchHome})
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, pattern)
  }
  await onBatch(['cloud', 'launch', 'command', '-c', hello, '--chaos', 'kills=1,seed=1', '--dry-run'], /--chaos works on the local backend only/)
})
