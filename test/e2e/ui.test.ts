/**
 * `rfm ui` end to end: a real local run with a chaos interruption, the real CLI serving the store,
 * its JSON API checked against the --json schemas, the traversal / rebinding / token cases at the
 * HTTP level, and Debian's Chromium (driven by playwright-core, no browser download) looking at
 * the pages: list, curves with the interruption marker, cost, live updates, 404.
 */
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as http from 'node:http'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import type {RunRecord} from '../../src/runs/record'
import {BIN, ROOT, rfmJson, tempHome, waitFor} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

const CHROMIUM = '/usr/bin/chromium'
const home = tempHome('rfm-ui-')
const work = mkdtempSync(path.join(os.tmpdir(), 'rfm-ui-job-'))

// A tiny built-in VLM run (it writes metrics.jsonl), stopped once by chaos SIGTERM 2–3 s in (240 steps: an
// idle machine finished 60 before the kill was due)
const VLM = `name: tiny-vlm
max_steps: 240
trainer: {seed: 1, batch_size: 8, lr: 2.0e-3, save_steps: 20, eval_steps: 60, scheduler: {kind: cosine, warmup_ratio: 0.1}}
model: {width: 32, depth: 1, heads: 2, context_length: 8, vision: {image_size: 16, patch_size: 8, width: 32, depth: 1, heads: 2}}
task: {train_size: 256, eval_size: 32, seed: 3}
retries: {attempts: 3}
`

interface Served {
  child: ChildProcess
  url: string
}

/** Starts the real `rfm ui --json` and waits for the {url} it prints (it keeps serving). */
function serve(args: string[], options: {home: string; env?: NodeJS.ProcessEnv} = {home}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'ui', '--port', '0', '--no-open', '--json', ...args], {
    cwd: ROOT,
    env: {...process.env, RFM_HOME: options.home, NO_COLOR: '1', RFM_PROFILE: undefined, ...options.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rfm ui printed no URL:\n${out}\n${err}`)), 30_000)
    child.stdout!.on('data', (d) => {
      out += d
      try {
        const {url} = JSON.parse(out) as {url: string}
        clearTimeout(timer)
        resolve({child, url})
      } catch {
        // not all of it yet
      }
    })
    child.once('exit', (code) => reject(new Error(`rfm ui exited ${code}:\n${out}\n${err}`)))
  })
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** A raw HTTP request (the path is sent as given: no URL normalization on the way). */
function request(base: string, rawPath: string, options: {method?: string; headers?: Record<string, string>; body?: string} = {}): Promise<Reply> {
  const {hostname, port} = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request({host: hostname, port, path: rawPath, method: options.method ?? 'GET', headers: options.headers}, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, body}))
    })
    req.once('error', reject)
    req.end(options.body)
  })
}

const json = async (base: string, p: string) => {
  const reply = await request(base, p)
  assert.equal(reply.status, 200, `${p}: ${reply.body}`)
  return JSON.parse(reply.body)
}

describe('rfm ui', () => {
  let run: RunRecord
  let ui: Served

  before(async () => {
    writeFileSync(path.join(work, 'vlm.yaml'), VLM)
    const launched = await rfmJson(['cloud', 'launch', 'vlm', '-c', path.join(work, 'vlm.yaml'), '--follow', '--chaos', 'kills=1,seed=1,signal=TERM,min=2,max=3'], {home, timeoutMs: 120_000})
    assert.equal(launched.code, 0, launched.stderr)
    run = launched.json.run
    assert.ok(
      run.attempts.some((a) => a.chaos),
      'the chaos kill landed',
    )
    ui = await serve([])
  })
  after(() => {
    ui?.child.kill()
  })

  test("serves on 127.0.0.1; the API has the shapes of the CLI's --json output", async () => {
    assert.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
    const list = await json(ui.url, '/api/runs')
    assertSchema('cloud-ls', list)
    assert.deepEqual(
      list.runs.map((r: {id: string}) => r.id),
      [run.id],
    )
    const dashboard = await json(ui.url, '/api/dashboard')
    assertSchema('ui-dashboard', dashboard)
    assert.equal(dashboard.runs[0].interruptions, 1)
    assertSchema('cloud-status', await json(ui.url, `/api/runs/${run.id}`))
    const cost = await json(ui.url, `/api/runs/${run.id}/cost`)
    assertSchema('cloud-cost', cost)
    assert.equal(cost.runs[0].applicable, false)
    const logs = await json(ui.url, `/api/runs/${run.id}/logs`)
    assertSchema('cloud-logs', logs)
    // the last attempt trained to the end, or (when the interruption came after the last save) found nothing left to train
    assert.match(logs.attempts.at(-1).log, /training finished at step 240|resumed from checkpoint at step 240 of 240/)
    assertSchema('ckpt-ls', await json(ui.url, `/api/runs/${run.id}/checkpoints`))
    assertSchema('ui-results', await json(ui.url, `/api/runs/${run.id}/results`))
    const metrics = await json(ui.url, `/api/runs/${run.id}/metrics`)
    assertSchema('ui-metrics', metrics)
    const loss = metrics.series.find((s: {metric: string}) => s.metric === 'loss')
    assert.ok(loss && loss.value.length >= 60, 'every logged loss comes back (no downsampling at 60 points)')
    const interruption = metrics.markers.find((m: {kind: string}) => m.kind === 'interruption')
    assert.match(interruption.label, /interrupted: chaos SIGTERM/)
    assert.ok(metrics.markers.some((m: {kind: string}) => m.kind === 'resume'))
  })

  test('only run ids and known assets are served: traversal, unknown runs, DNS rebinding, methods', async () => {
    for (const p of [
      '/runs/..%2F..%2Fpackage.json',
      '/runs/../../package.json',
      `/runs/${run.id}%2F..%2F..%2Fconfig`,
      '/api/runs/..%2Frun.json',
      `/api/runs/${run.id}/..%2F..%2F..%2Fpackage.json`,
      '/assets/..%2F..%2F..%2Fpackage.json',
      '/assets/../../package.json',
      '/assets/server.js',
      '/etc/passwd',
    ]) {
      const reply = await request(ui.url, p)
      assert.equal(reply.status, 404, `${p} → ${reply.status}`)
      assert.doesNotMatch(reply.body, /"dependencies"|root:/, p)
    }
    const unknown = await request(ui.url, '/runs/vlm-20200101-000000-abcd')
    assert.equal(unknown.status, 404)
    assert.match(unknown.body, /does not exist/)
    assert.equal((await request(ui.url, '/api/runs/vlm-20200101-000000-abcd/metrics')).status, 404)
    assert.equal((await request(ui.url, '/', {headers: {Host: 'attacker.example:80'}})).status, 403)
    assert.equal((await request(ui.url, `/api/runs/${run.id}`, {method: 'DELETE'})).status, 405)
    const post = {method: 'POST', headers: {'Content-Type': 'application/json'}}
    assert.equal((await request(ui.url, `/api/runs/${run.id}/cancel`, {...post, body: '{}'})).status, 400, 'cancel needs the confirmation')
    assert.equal((await request(ui.url, `/api/runs/${run.id}/cancel`, {...post, headers: {...post.headers, Origin: 'http://attacker.example'}, body: JSON.stringify({confirm: run.id})})).status, 403)
    assert.equal((await request(ui.url, `/api/runs/${run.id}/cancel`, {method: 'POST', headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({confirm: run.id})})).status, 415)
    const confirmed = await request(ui.url, `/api/runs/${run.id}/cancel`, {...post, body: JSON.stringify({confirm: run.id})})
    assert.equal(confirmed.status, 200)
    assertSchema('cloud-cancel', JSON.parse(confirmed.body))
    assert.equal(JSON.parse(confirmed.body).alreadyFinished, true)
  })

  test('another address needs --host and then the token on every request', async () => {
    const open = await serve(['--host', '0.0.0.0'])
    try {
      const url = new URL(open.url)
      const token = url.searchParams.get('token')
      assert.ok(token && token.length >= 20, open.url)
      const base = `http://127.0.0.1:${url.port}/`
      // the token with its last character changed (a random token may already end in x)
      const wrongToken = token.slice(0, -1) + (token.endsWith('x') ? 'y' : 'x')
      for (const p of ['/', `/runs/${run.id}`, '/api/runs', `/api/runs/${run.id}/metrics`, '/api/stream', '/assets/app.css']) {
        assert.equal((await request(base, p)).status, 403, `${p} without the token`)
        assert.equal((await request(base, `${p}${p.includes('?') ? '&' : '?'}token=${wrongToken}`)).status, 403, `${p} with a wrong token`)
      }
      const first = await request(base, `/api/runs?token=${token}`)
      assert.equal(first.status, 200)
      const cookie = String(first.headers['set-cookie']).split(';')[0]
      assert.equal((await request(base, `/runs/${run.id}`, {headers: {Cookie: cookie}})).status, 200, 'the cookie set by the token URL')
    } finally {
      open.child.kill()
    }
  })

  test('in Chromium: the list, the curves with the interruption, the cost, live updates and a 404', async (t) => {
    if (!existsSync(CHROMIUM)) return t.skip(`${CHROMIUM} is absent (CI installs Debian's chromium; apt-get install -y chromium)`)
    const {chromium} = await import('playwright-core')
    // A fresh profile folder (playwright passes it as --user-data-dir).
    const browser = await chromium.launchPersistentContext(mkdtempSync(path.join(os.tmpdir(), 'rfm-ui-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: {width: 1400, height: 1000},
    })
    try {
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))

      await page.goto(ui.url)
      const row = page.locator(`tr[data-run="${run.id}"]`)
      await row.waitFor({timeout: 15_000})
      assert.match(await row.innerText(), /tiny-vlm[\s\S]*succeeded[\s\S]*local/)

      await page.goto(new URL(`/runs/${run.id}`, ui.url).href)
      await page.waitForSelector('body[data-loaded]', {timeout: 20_000})
      // The loss chart's canvas: curve pixels (blue) and the interruption marker (red, #dc2626).
      const pixels = await page.$eval('.chart[data-metric="loss"] canvas', (canvas) => {
        const c = canvas as any
        const data: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
        let blue = 0
        let red = 0
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] < 200) continue
          if (data[i + 2] > 180 && data[i] < 90) blue++
          if (data[i] > 190 && data[i + 1] < 80 && data[i + 2] < 80) red++
        }
        return {blue, red}
      })
      assert.ok(pixels.blue > 100, `the loss curve is drawn (${pixels.blue} curve pixels)`)
      assert.ok(pixels.red > 20, `the interruption marker is drawn (${pixels.red} marker pixels)`)
      assert.match(await page.locator('#marker-list').innerText(), /attempt 1 interrupted: chaos SIGTERM/)
      assert.match(await page.locator('#cost').innerText(), /Cost not applicable — runs on this machine/)
      assert.match(await page.locator('#checkpoints').innerText(), new RegExp(`rfm ckpt pull ${run.id} \\S+ --step 240`))
      const shot = path.join(mkdtempSync(path.join(os.tmpdir(), 'rfm-ui-artifacts-')), 'run-page.png')
      await page.screenshot({path: shot, fullPage: true})
      console.log(`screenshot of the run page: ${shot}`)

      // Live: a second run started while the list is open appears, runs, and ends, without a reload.
      await page.goto(ui.url)
      await row.waitFor()
      const trainer = path.join(ROOT, 'test', 'fixtures', 'counting-trainer.js')
      writeFileSync(
        path.join(work, 'count.yaml'),
        `name: counting\ncommand: [${JSON.stringify(process.execPath)}, ${JSON.stringify(trainer)}, --output_dir, out, --max_steps, "30", --save_steps, "10"]\nenv: {STEP_MS: 150}\ncheckpoints: {dir: out, resume_args: [--resume_from_checkpoint, "True"]}\n`,
      )
      const second = await rfmJson(['cloud', 'launch', 'command', '-c', path.join(work, 'count.yaml')], {home})
      assert.equal(second.code, 0, second.stderr)
      const id = second.json.run.id as string
      await page.locator(`tr[data-run="${id}"][data-state="running"]`).waitFor({timeout: 15_000})
      await page.goto(new URL(`/runs/${id}`, ui.url).href)
      await page.waitForSelector('body[data-loaded]')
      await waitFor(
        'the log and state to update live',
        async () => ((await page.locator('#log').innerText()).includes('done at step 30') && (await page.locator('#run-state').innerText()) === 'succeeded' ? true : undefined),
        30_000,
      )
      assert.ok(Number(await page.getAttribute('body', 'data-loaded')) > 1, 'the page reloaded its data on server events')
      await page.goto(ui.url)
      await page.locator(`tr[data-run="${id}"][data-state="succeeded"]`).waitFor()

      // Cancel, confirmed in the page's dialog, stops a running run.
      writeFileSync(
        path.join(work, 'long.yaml'),
        `name: long\ncommand: [${JSON.stringify(process.execPath)}, ${JSON.stringify(trainer)}, --output_dir, out, --max_steps, "2000", --save_steps, "50"]\nenv: {STEP_MS: 50}\ncheckpoints: {dir: out, resume_args: [--resume_from_checkpoint, "True"]}\n`,
      )
      const long = await rfmJson(['cloud', 'launch', 'command', '-c', path.join(work, 'long.yaml')], {home})
      assert.equal(long.code, 0, long.stderr)
      const longId = long.json.run.id as string
      await page.goto(new URL(`/runs/${longId}`, ui.url).href)
      await page.locator('#run-state .s-running').waitFor({timeout: 15_000})
      const dialogs: string[] = []
      page.once('dialog', (dialog) => {
        dialogs.push(dialog.message())
        void dialog.accept()
      })
      await page.click('#cancel')
      await page.locator('#run-state .s-cancelled').waitFor({timeout: 30_000})
      assert.match(dialogs[0], new RegExp(`Cancel run ${longId}\\?`))

      // Compare: both runs' loss curves on one chart.
      await page.goto(new URL(`/compare?runs=${run.id},${id}`, ui.url).href)
      await page.waitForSelector('body[data-drawn="2"]', {timeout: 15_000})
      assert.equal(await page.locator('.chart[data-metric="loss"] canvas').count(), 1)

      const missing = await page.goto(new URL('/runs/command-20200101-000000-abcd', ui.url).href)
      assert.equal(missing?.status(), 404)
      assert.match(await page.locator('main').innerText(), /404 · not found[\s\S]*does not exist/)
      assert.deepEqual(errors, [], 'no script errors on the pages')
    } finally {
      await browser.close()
    }
  })
})
