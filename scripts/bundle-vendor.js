#!/usr/bin/env node
// Start-up speed: on Node 20 each CommonJS file costs a path resolution, a read and a compile, and
// @oclif/core (64 files plus ~70 of its dependencies) and yaml (72 files) were a third of the time
// of `rfm cloud launch --dry-run`. Each is bundled here into one file, dist/src/vendor/<name>.js,
// that rfm's code imports through src/vendor/<name>.d.ts (which re-exports the package's types).
// Run by `npm run compile` after tsc. The packages stay dependencies: oclif's plugins and rfm's
// plugin kit load their own @oclif/core, and the bundles are built from the installed versions.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const esbuild = require('esbuild')

const root = path.resolve(__dirname, '..')
const outDir = path.join(root, 'dist', 'src', 'vendor')

// Config.load matches each of the root's dependencies against each `oclif.plugins` entry with
// minimatch (33 × 6 here: ~6 ms of a dry-run, mostly compiling minimatch). An entry without glob
// characters matches only the same name, so such entries are compared as strings; others still go
// to minimatch. If oclif's line changes, the bundle keeps it as it is and the build says so.
const oclifPatches = [
  {
    file: /@oclif\/core\/lib\/config\/plugin-loader\.js$/,
    from: 'return Object.keys(dependencies).filter((p) => patterns.some((w) => (0, minimatch_1.minimatch)(p, w)));',
    to: 'return Object.keys(dependencies).filter((p) => patterns.some((w) => (/[*?[\\]{}()!+#\\\\]/.test(w) ? (0, minimatch_1.minimatch)(p, w) : p === w)));',
  },
]

const patchOclif = {
  name: 'patch-oclif',
  setup(build) {
    build.onLoad({filter: /@oclif\/core\/lib\/config\/plugin-loader\.js$/}, (args) => {
      let contents = fs.readFileSync(args.path, 'utf8')
      for (const patch of oclifPatches.filter((p) => p.file.test(args.path))) {
        if (contents.includes(patch.from)) contents = contents.replace(patch.from, patch.to)
        else console.warn(`bundle-vendor: ${args.path} changed; its plugin matching is bundled unchanged (start-up ~6 ms slower). Update or drop the patch in scripts/bundle-vendor.js.`)
      }
      return {contents, loader: 'js'}
    })
  },
}

const bundles = [
  // loaded by oclif only on request: TypeScript/ts-node/tsx for development mode, semver for the
  // Node engine check that bin/run.js skips (rfm's own engines field is stricter)
  {name: 'oclif-core', entry: '@oclif/core', external: ['typescript', 'ts-node', 'tsx', 'source-map-support', 'semver'], plugins: [patchOclif]},
  {name: 'yaml', entry: 'yaml', external: [], plugins: []},
]

async function main() {
  fs.mkdirSync(outDir, {recursive: true})
  const notices = []
  for (const bundle of bundles) {
    const result = await esbuild.build({
      entryPoints: [require.resolve(bundle.entry, {paths: [root]})],
      outfile: path.join(outDir, `${bundle.name}.js`),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: bundle.external,
      plugins: bundle.plugins,
      // class and function names stay as written: errors are told apart by constructor.name
      keepNames: true,
      legalComments: 'eof',
      metafile: true,
      logLevel: 'warning',
    })
    // the types: src/vendor/<name>.d.ts re-exports the package's, next to the bundle for dist's .d.ts files
    fs.copyFileSync(path.join(root, 'src', 'vendor', `${bundle.name}.d.ts`), path.join(outDir, `${bundle.name}.d.ts`))
    notices.push(...packagesOf(result.metafile))
  }
  fs.writeFileSync(path.join(outDir, 'THIRD-PARTY-NOTICES.txt'), licenseText(notices))
}

/** The package folders whose files went into a bundle. */
function packagesOf(metafile) {
  const dirs = new Set()
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (match) dirs.add(path.resolve(root, match[1]))
  }
  return [...dirs]
}

/** Each bundled package's name, version and license file, as their licenses ask of copies. */
function licenseText(dirs) {
  const seen = new Set()
  const parts = []
  for (const dir of dirs.sort()) {
    const pjson = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    const id = `${pjson.name}@${pjson.version}`
    if (seen.has(id)) continue
    seen.add(id)
    const file = fs.readdirSync(dir).find((f) => /^(licen[sc]e|copying)(\.|$)/i.test(f))
    const text = file ? fs.readFileSync(path.join(dir, file), 'utf8').trim() : `License: ${pjson.license ?? 'see the package'}`
    parts.push(`${id}\n${'-'.repeat(id.length)}\n${text}\n`)
  }
  return `Packages bundled into this folder's files by scripts/bundle-vendor.js:\n\n${parts.join('\n')}`
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
