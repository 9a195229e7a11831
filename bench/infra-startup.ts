/**
 * What `rfm infra` costs before Pulumi does anything: the CLI must not pay for @pulumi/* until it
 * needs them. Baseline: `rfm --help` in the same run. Also shown: loading @pulumi/aws (what a lazy
 * import saves every other command) and building the whole program under setMocks.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {medianMs, ratioLine} from './_stats'

const ROOT = path.resolve(__dirname, '..', '..')
const BIN = path.join(ROOT, 'bin', 'run.js')

function run(args: string[], env: NodeJS.ProcessEnv = {}): void {
  try {
    execFileSync(process.execPath, args, {cwd: ROOT, env: {...process.env, ...env}, stdio: 'ignore'})
  } catch {
    // the infra commands exit 1 here (no Pulumi CLI): that is the path being measured
  }
}

const MOCKS_PROGRAM = `
const pulumi = require('@pulumi/pulumi');
pulumi.runtime.setMocks({
  newResource: (a) => ({id: a.name + '-id', state: {...a.inputs, arn: 'arn:aws:mock:::' + a.name, bucket: a.name, repositoryUrl: 'r/' + a.name, latestVersion: 1}}),
  call: (a) => ({id: 'vpc-1', ids: ['subnet-1'], accountId: '123456789012'}),
}, 'rfm', 'bench', false).then(async () => {
  const {buildInfrastructure} = require('./dist/infra/index.js');
  const built = buildInfrastructure({region: 'us-east-1', gpuFamilies: ['g5', 'g6', 'g6e', 'p4d', 'p5'], allowMultiNode: true});
  await new Promise((resolve) => built.outputs.jobDefinitions.apply(resolve));
});`

export default async function (args: string[]): Promise<void> {
  const repeats = Number(args[0] ?? 7)
  const home = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-infra-'))
  const noPulumi = {RFM_HOME: home, PATH: path.dirname(process.execPath), HOME: home, PULUMI_HOME: ''}

  const help = await medianMs(() => run([BIN, '--help'], noPulumi), repeats)
  const preview = await medianMs(() => run([BIN, 'infra', 'preview', '--region', 'us-east-1', '--gpu-families', 'g5,g6e'], noPulumi), repeats)
  const nodeOnly = await medianMs(() => run(['-e', '0']), repeats)
  const awsImport = await medianMs(() => run(['-e', "require('@pulumi/aws')"]), repeats)
  const program = await medianMs(() => run(['-e', MOCKS_PROGRAM]), Math.max(3, Math.floor(repeats / 2)))

  console.log(`baseline: rfm --help, median of ${repeats} runs = 1.00×`)
  console.log(ratioLine('rfm infra preview, no pulumi CLI (config + error)', preview / help, '≤ 1.3×: no @pulumi import'))
  console.log(ratioLine('node -e 0', nodeOnly / help))
  console.log(ratioLine('node -e "require(\'@pulumi/aws\')" (what laziness saves)', awsImport / help))
  console.log(ratioLine('build the program under setMocks (5 GPU families)', program / help))
}
