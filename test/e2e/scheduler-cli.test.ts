/** The real CLI: rfm cloud plan, rfm catalog show, rfm catalog refresh without credentials. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {rfm, rfmJson, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

const EXAMPLE = 'examples/plan/qwen3-vl-4b-lora-sft.yaml'

describe('rfm cloud plan', () => {
  it('ranks plans for a workload file, with --json matching its schema', async () => {
    const home = tempHome()
    const {code, json} = await rfmJson(['cloud', 'plan', '--workload', EXAMPLE, '--regions', 'us-east-1', '--max-price', '6'], {home})
    assert.equal(code, 0)
    assertSchema('cloud-plan', json)
    assert.equal(json.cpuOnly, false)
    assert.ok(json.chosen && json.chosen.rank === 1 && json.chosen.feasible)
    assert.ok(json.plans.every((p: {region: string}) => p.region === 'us-east-1'))
    assert.ok(json.plans.filter((p: {feasible: boolean}) => p.feasible).every((p: {pricePerHour: number}) => p.pricePerHour <= 6))
    assert.equal(json.catalog.stale, true, 'the shipped snapshot is older than 30 days')

    const human = await rfm(['cloud', 'plan', '--workload', EXAMPLE, '--top', '3'], {home})
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /INSTANCE\s+REGION\s+MARKET/)
    assert.match(human.stdout, /Chosen\s+\S+ (spot|on-demand) in/)
    assert.match(human.stdout, /save_steps \d+/)
    assert.match(human.stdout, /rfm catalog refresh/)
  })

  it('--set changes the workload; a job that fits nowhere fails with exit 2 and names what would fit', async () => {
    const home = tempHome()
    const failed = await rfmJson(['cloud', 'plan', '--workload', 'examples/plan/qwen2-vl-7b-grpo-full.yaml', '--families', 'g5,g6'], {home})
    assert.equal(failed.code, 2)
    assertSchema('error', failed.json)
    assert.equal(failed.json.error.code, 'PLAN_NO_FIT')
    assert.match(failed.json.error.message, /LoRA/)
    const lora = await rfmJson(['cloud', 'plan', '--workload', 'examples/plan/qwen2-vl-7b-grpo-full.yaml', '--families', 'g5,g6', '--set', 'method=lora', '--gpus', '1'], {home})
    assert.equal(lora.code, 0)
    assert.equal(lora.json.chosen.batch.perDevice, 2)
    assert.equal(lora.json.chosen.batch.gradientAccumulation, 8)
  })

  it('plans a job kind from its estimate: the command kind needs no GPU', async () => {
    const {code, json} = await rfmJson(['cloud', 'plan', 'command', '-c', 'examples/command/hello.yaml'], {home: tempHome()})
    assert.equal(code, 0)
    assertSchema('cloud-plan', json)
    assert.equal(json.cpuOnly, true)
  })

  it('rejects bad flags with usage errors', async () => {
    const home = tempHome()
    for (const args of [
      ['--deadline', 'soon'],
      ['--max-price', 'free'],
    ]) {
      const {code, json} = await rfmJson(['cloud', 'plan', '--workload', EXAMPLE, ...args], {home})
      assert.equal(code, 2)
      assert.equal(json.error.code, 'USAGE')
      assert.match(json.error.message, new RegExp(args[0]))
    }
    const none = await rfmJson(['cloud', 'plan'], {home})
    assert.equal(none.code, 2)
    const badKey = await rfmJson(['cloud', 'plan', '--workload', EXAMPLE, '--set', 'methd=lora'], {home})
    assert.equal(badKey.code, 2)
    assert.match(badKey.json.error.message, /methd/)
  })
})

describe('rfm catalog', () => {
  it('shows the catalog of a region', async () => {
    const {code, json} = await rfmJson(['catalog', 'show', '--region', 'eu-west-1'], {home: tempHome()})
    assert.equal(code, 0)
    assertSchema('catalog-show', json)
    assert.ok(json.instances.length > 10)
    assert.ok(json.instances.every((i: {spot: number; onDemand: number}) => i.spot < i.onDemand))
    const unknown = await rfmJson(['catalog', 'show', '--region', 'mars-1'], {home: tempHome()})
    assert.equal(unknown.code, 2)
    assert.equal(unknown.json.error.code, 'NOT_FOUND')
  })

  it('refresh without credentials fails with a typed error and a hint', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    }
    const {code, json} = await rfmJson(['catalog', 'refresh', '--regions', 'us-east-1'], {home: tempHome(), env})
    assert.equal(code, 1)
    assertSchema('error', json)
    assert.equal(json.error.code, 'AWS_CREDENTIALS')
    assert.match(json.error.hint, /aws configure/)
  })
})
