#!/usr/bin/env node
// `oclif manifest` lists commands in the order its parallel file loads finish, so every build
// rewrote oclif.manifest.json in another order and left git dirty. This sorts the commands by id
// (root and plugins), keeping oclif's formatting, so that a build with unchanged commands changes
// nothing. Run by `npm run manifest` after `oclif manifest`.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const plugins = fs.readdirSync(path.join(root, 'plugins')).map((name) => path.join(root, 'plugins', name))
for (const dir of [root, ...plugins]) {
  const file = path.join(dir, 'oclif.manifest.json')
  if (!fs.existsSync(file)) continue
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8'))
  const ids = Object.keys(manifest.commands ?? {}).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  manifest.commands = Object.fromEntries(ids.map((id) => [id, manifest.commands[id]]))
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2))
}
