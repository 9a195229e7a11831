import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import Ajv from 'ajv'

import {ROOT} from './cli'

let ajv: Ajv | undefined

/** All checked-in schemas, each with `"$id": "rfm:schemas/<name>"`; they may $ref each other. */
function load(): Ajv {
  if (ajv) return ajv
  ajv = new Ajv({allErrors: true, strict: true})
  const dir = path.join(ROOT, 'src', 'schemas')
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) {
    const schema = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {$id?: string}
    assert.equal(schema.$id, `rfm:schemas/${file.replace('.schema.json', '')}`, `${file} must have $id rfm:schemas/<name>`)
    ajv.addSchema(schema)
  }
  return ajv
}

/**
 * Asserts that `data` matches the checked-in JSON schema src/schemas/<name>.schema.json: the
 * documented, stable shape of a command's --json output.
 */
export function assertSchema(name: string, data: unknown): void {
  const validate = load().getSchema(`rfm:schemas/${name}`)
  assert.ok(validate, `no schema src/schemas/${name}.schema.json`)
  const ok = validate(data)
  assert.ok(ok, `--json output does not match ${name}.schema.json: ${load().errorsText(validate.errors)}\n${JSON.stringify(data, null, 2).slice(0, 2000)}`)
}
