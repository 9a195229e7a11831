/**
 * The `rfm data` commands through the real CLI: --json shapes, progress output, the S3 store
 * chosen by a profile (store URL + endpoint), and staging runs killed with SIGKILL (no dataset
 * visible, only whole objects; resumed without re-sending them).
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {manifestKey, OBJECTS_PREFIX} from '../../src/staging/layout'
import {S3Store} from '../../src/store/s3-store'
import {BIN, rfm, rfmJson, tempHome, waitFor} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../helpers/s3rver'

let s3: S3rverHandle
const homes: string[] = []
before(async () => {
  s3 = await startS3rver()
})
after(async () => {
  await s3.stop()
  for (const home of homes) rmSync(home, {recursive: true, force: true})
})

function home(): string {
  const h = tempHome('rfm-data-cli-')
  homes.push(h)
  return h
}

function makeTree(root: string, files: number, size = 3000): string {
  for (let i = 0; i < files; i++) {
    mkdirSync(path.join(root, `part-${i % 5}`), {recursive: true})
    writeFileSync(path.join(root, `part-${i % 5}`, `s-${i}.npz`), randomBytes(size + i))
  }
  return root
}

describe('rfm data on the default file store', () => {
  test('stage, ls, show, pull, rm and gc print documented --json', async () => {
    const h = home()
    const tree = makeTree(path.join(h, 'vqa'), 30)
    const staged = await rfmJson(['data', 'stage', tree, '--name', 'vqa'], {home: h})
    assert.equal(staged.code, 0, staged.stderr)
    assertSchema('data-stage', staged.json)
    assert.equal(staged.stderr, '', 'no progress output under --json')
    assert.equal(staged.json.uploadedFiles, 30)

    const ls = await rfmJson(['data', 'ls'], {home: h})
    assertSchema('data-ls', ls.json)
    assert.deepEqual(
      ls.json.datasets.map((d: {ref: string}) => d.ref),
      [staged.json.ref],
    )

    const show = await rfmJson(['data', 'show', 'ds:vqa'], {home: h})
    assertSchema('data-show', show.json)
    assert.equal(show.json.dataset.hash, staged.json.hash)
    assert.equal(show.json.files.length, 30)

    const out = path.join(h, 'out')
    const pulled = await rfmJson(['data', 'pull', staged.json.ref, out], {home: h})
    assert.equal(pulled.code, 0, pulled.stderr)
    assertSchema('data-pull', pulled.json)
    for (const file of show.json.files as Array<{path: string; sha256: string}>) {
      assert.equal(
        createHash('sha256')
          .update(readFileSync(path.join(out, file.path)))
          .digest('hex'),
        file.sha256,
      )
    }

    const rm = await rfmJson(['data', 'rm', staged.json.ref], {home: h})
    assertSchema('data-rm', rm.json)
    assert.equal(rm.json.manifestRemoved, true)
    const gc = await rfmJson(['data', 'gc', '--min-age', '0'], {home: h})
    assertSchema('data-gc', gc.json)
    assert.equal(gc.json.deleted, 30)

    const missing = await rfmJson(['data', 'show', staged.json.ref], {home: h})
    assert.equal(missing.code, 2)
    assertSchema('error', missing.json)
  })

  test('without --json: the reference on stdout, plain progress lines on stderr (not a terminal)', async () => {
    const h = home()
    const tree = makeTree(path.join(h, 'set'), 12)
    const result = await rfm(['data', 'stage', tree], {home: h, env: {RFM_PROGRESS_INTERVAL_MS: '20'}})
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout.split('\n')[0], /^ds:set@[0-9a-f]{12}$/)
    assert.match(result.stdout, /12 files, .*uploaded 12/)
    assert.match(result.stderr, /^Staging: \d+%  .* \d+\/12 files  .*\/s  ETA /m)
    assert.doesNotMatch(result.stderr, /\r|\u001B/, 'no terminal control codes when stderr is not a terminal')
  })

  test('a staging run SIGKILLed mid-way leaves no dataset, only whole objects; run again it completes', async () => {
    const h = home()
    const tree = makeTree(path.join(h, 'many'), 1500, 6000)
    const storeRoot = path.join(h, 'store')
    const objectFiles = () => {
      const dir = path.join(storeRoot, ...OBJECTS_PREFIX.split('/'))
      if (!existsSync(dir)) return []
      return readdirSync(dir).flatMap((sub) => readdirSync(path.join(dir, sub)).map((name) => path.join(dir, sub, name)))
    }
    const child = spawn(process.execPath, [BIN, 'data', 'stage', tree, '--name', 'many', '--concurrency', '2', '--json'], {
      env: {...process.env, RFM_HOME: h, NO_COLOR: '1'},
      stdio: 'ignore',
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    await waitFor('some objects staged', () => (objectFiles().filter((f) => !path.basename(f).startsWith('.rfm-tmp-')).length >= 50 ? true : undefined))
    child.kill('SIGKILL')
    assert.equal(await exited, null, 'killed before it finished')

    const ls = await rfmJson(['data', 'ls'], {home: h})
    assert.deepEqual(ls.json.datasets, [], 'no dataset is visible')
    const whole = objectFiles().filter((f) => !path.basename(f).startsWith('.rfm-tmp-'))
    assert.ok(whole.length >= 50 && whole.length < 1500)
    // Whatever holds an object's name holds all of its bytes (temp files are gc's business).
    for (const file of whole) assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), path.basename(file))

    const again = await rfmJson(['data', 'stage', tree, '--name', 'many'], {home: h})
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.files, 1500)
    assert.ok(again.json.uploadedFiles <= 1500 - whole.length, 'objects already stored are not sent again')
    const pulled = await rfmJson(['data', 'pull', again.json.ref, path.join(h, 'out')], {home: h})
    assert.equal(pulled.code, 0, pulled.stderr)
    assert.equal(pulled.json.downloadedFiles, 1500)
  })

  test('mistakes are errors that name the problem', async () => {
    const h = home()
    const bad = await rfmJson(['data', 'stage', path.join(h, 'nope')], {home: h})
    assert.equal(bad.code, 2)
    assertSchema('error', bad.json)
    assert.match(bad.json.error.message, /does not exist/)
    const ref = await rfmJson(['data', 'show', 'ds:bad name'], {home: h})
    assert.equal(ref.code, 2)
    assert.match(ref.json.error.message, /Invalid dataset reference/)
  })
})

test('the data commands and the store opener do not load the AWS SDK until an s3:// store is used', async () => {
  const script = `for (const m of ['stage', 'ls', 'show', 'pull', 'rm', 'gc']) require('./dist/src/commands/data/' + m + '.js');
    require('./dist/src/store/open.js');
    console.log(Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length)`
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {cwd: path.resolve(__dirname, '..', '..', '..')})
    let text = ''
    child.stdout.on('data', (d: Buffer) => (text += d))
    child.once('exit', (code) => (code === 0 ? resolve(text.trim()) : reject(new Error(`exit ${code}`))))
  })
  assert.equal(out, '0')
})

describe('rfm data on an S3 store set in the profile', () => {
  async function s3Home(prefix: string): Promise<{h: string; env: NodeJS.ProcessEnv; store: S3Store}> {
    const h = home()
    // backend aws-batch (not built yet): dataset commands need only the profile's store.
    for (const [key, value] of [
      ['store', `s3://${s3.bucket}/${prefix}`],
      ['endpoint', s3.endpoint],
      ['backend', 'aws-batch'],
    ]) {
      const set = await rfm(['config', 'set', key, value], {home: h})
      assert.equal(set.code, 0, set.stderr)
    }
    const store = await S3Store.open(`s3://${s3.bucket}/${prefix}`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS})
    return {h, env: s3.env, store}
  }

  test('stage uses the profile endpoint; an unchanged re-stage uploads nothing', async () => {
    const {h, env, store} = await s3Home('cli-a')
    const tree = makeTree(path.join(h, 'episodes'), 20)
    const first = await rfmJson(['data', 'stage', tree], {home: h, env})
    assert.equal(first.code, 0, first.stdout + first.stderr)
    assert.equal(first.json.uploadedFiles, 20)
    assert.ok(await store.head(manifestKey(first.json.hash)), 'the manifest is in the bucket')
    const second = await rfmJson(['data', 'stage', tree], {home: h, env})
    assert.equal(second.json.hash, first.json.hash)
    assert.equal(second.json.uploadedFiles, 0)
  })

  test('a staging run killed halfway finishes when started again, without re-uploading', async () => {
    const {h, env, store} = await s3Home('cli-kill')
    const tree = makeTree(path.join(h, 'big'), 400, 8000)
    const child = spawn(process.execPath, [BIN, 'data', 'stage', tree, '--concurrency', '2', '--json'], {
      env: {...process.env, ...env, RFM_HOME: h, NO_COLOR: '1'},
      stdio: 'ignore',
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    await waitFor('some objects uploaded', async () => ((await store.list(OBJECTS_PREFIX)).objects.length >= 30 ? true : undefined))
    child.kill('SIGKILL')
    await exited
    const present = (await store.list(OBJECTS_PREFIX)).objects.length
    assert.ok(present >= 30)

    const again = await rfmJson(['data', 'stage', tree], {home: h, env})
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.files, 400)
    // `<=`: s3rver may still finish an upload whose body it had received when the client died.
    assert.ok(again.json.uploadedFiles <= 400 - present, 'nothing already stored is uploaded again')
    assert.equal((await store.list(OBJECTS_PREFIX)).objects.length, 400)
    const pulled = await rfmJson(['data', 'pull', again.json.ref, path.join(h, 'out')], {home: h, env})
    assert.equal(pulled.code, 0, pulled.stderr)
    assert.equal(pulled.json.downloadedFiles, 400)
  })
})
