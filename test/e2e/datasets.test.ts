import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {rfm, rfmJson, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

test('a local dataset is staged at launch, recorded as a ref, pulled and verified by the runtime, and read by the trainer', async () => {
  const home = tempHome()
  const env = {RFM_DATA_CACHE: path.join(home, 'data-cache')}
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-data-e2e-'))
  mkdirSync(path.join(dir, 'data', 'shards'), {recursive: true})
  writeFileSync(path.join(dir, 'data', 'a.txt'), 'alpha')
  writeFileSync(path.join(dir, 'data', 'shards', 'b.txt'), 'beta')
  const reader = `const fs=require('fs'),p=require('path');const d=process.env.RFM_DATA_DIR;console.log('DATA '+d);for(const f of ['a.txt','shards/b.txt'])console.log(f+'='+fs.readFileSync(p.join(d,f),'utf8'))`
  writeFileSync(path.join(dir, 'job.yaml'), `command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(reader)}]\ndata: data\n`)

  const text = await rfm(['cloud', 'launch', 'command', '-c', path.join(dir, 'job.yaml'), '--follow'], {home, env})
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /Staged data: .*data → ds:data@[0-9a-f]{12} \(2 of 2 files uploaded/)
  assert.match(text.stdout, /\[rfm\] dataset data: ds:data@[0-9a-f]{12} → .* \(2 files verified, 2 downloaded\)/)
  assert.match(text.stdout, /a\.txt=alpha\nshards\/b\.txt=beta/)
  assert.doesNotMatch(text.stdout, new RegExp(`DATA ${dir}`), 'the trainer reads the staged copy, not the original folder')

  // The record keeps the reference; launching again uploads nothing and reuses the pulled copy.
  const again = await rfmJson(['cloud', 'launch', 'command', '-c', path.join(dir, 'job.yaml'), '--follow'], {home, env})
  assert.match(again.json.run.config.data, /^ds:data@[0-9a-f]{12}$/)
  // … and where it was staged from, as the config gave it (the runtime's messages name it so).
  assert.deepEqual(again.json.run.source.stagedFrom, {[again.json.run.config.data]: 'data'})
  assertSchema('run', again.json.run)
  const events = readFileSync(path.join(home, 'store', 'runs', again.json.run.id, 'events.jsonl'), 'utf8')
  assert.match(events, /"type":"dataset_pulled","time":"[^"]+","attempt":1,"field":"data","ref":"ds:data@[0-9a-f]{12}","files":2,"downloadedBytes":0/)
})
