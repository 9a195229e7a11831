import {z} from 'zod'

import {ConfigError} from '../errors'
import {closest, describeValue, dotted, valueAt} from './describe'

/** An error that names a config key (dotted path), rendered like schema errors (`api.configError`). */
export function configErrorAt(where: string, message: string, hint?: string): ConfigError {
  return new ConfigError(`Config error at ${where}: ${message}.`, {hint, details: {path: where, reason: message}})
}

export interface ConfigProblem {
  path: string
  message: string
  expected?: string
  received?: string
  suggestion?: string
  /** for an unknown key: the keys allowed at that place */
  known?: string[]
}

/**
 * Validates plain config data against a zod schema. On failure throws one ConfigError whose message
 * is one paragraph about the first problem (dotted path, what was expected, what was given) and whose
 * details list every problem as data.
 */
export function validateConfig<S extends z.ZodTypeAny>(schema: S, data: unknown, source: string, options: {reference?: string} = {}): z.output<S> {
  const parsed = schema.safeParse(data)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.flatMap((issue) => describeIssue(schema, data, issue))
  // A misspelt key shows as "X is required" plus "unknown key Y": lead with the one that has a did-you-mean.
  const suggested = problems.findIndex((p) => p.suggestion)
  if (suggested > 0) problems.unshift(...problems.splice(suggested, 1))
  const first = problems[0]
  const more =
    problems.length > 1
      ? ` (${problems.length - 1} more: ${problems
          .slice(1)
          .map((p) => p.path)
          .join(', ')})`
      : ''
  const hint = first.suggestion
    ? `Did you mean "${first.suggestion}"?`
    : first.known
      ? first.known.length > 0
        ? `Keys allowed here: ${first.known.join(', ')}.`
        : 'No keys are allowed here.'
      : (fieldDescription(schema, first.path) ?? options.reference ?? 'Check the value against the documented keys.')
  throw new ConfigError(`Config error in ${source} at ${first.path}: ${first.message}.${more}`, {
    hint,
    details: {source, problems},
  })
}

function describeIssue(schema: z.ZodTypeAny, data: unknown, issue: z.ZodIssue): ConfigProblem[] {
  const given = valueAt(data, issue.path)
  const at = dotted(issue.path)
  const problem = (expected: string): ConfigProblem => ({
    path: at,
    message: `expected ${expected}, got ${describeValue(given)}`,
    expected,
    received: describeValue(given),
  })
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = Object.keys(objectShapeAt(schema, issue.path) ?? {})
      return issue.keys.map((key) => {
        const suggestion = closest(key, known)
        const keyPath = dotted([...issue.path, key])
        return {
          path: keyPath,
          message: `unknown key "${key}"`,
          suggestion,
          known,
        }
      })
    }
    case 'invalid_type':
      if (given === undefined) return [{path: at, message: `is required (expected ${expectedOf(issue.expected)})`, expected: issue.expected}]
      return [problem(expectedOf(issue.expected))]
    case 'too_small':
    case 'too_big': {
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum)
      const op = issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<'
      const what = issue.type === 'array' ? `a list with ${op} ${bound} items` : issue.type === 'string' ? `text with ${op} ${bound} characters` : `a number ${op} ${bound}`
      return [problem(what)]
    }
    case 'invalid_enum_value':
      return [problem(`one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`)]
    case 'invalid_literal':
      return [problem(JSON.stringify(issue.expected))]
    case 'invalid_union':
      return [problem(unionExpected(issue) ?? 'a different kind of value')]
    case 'invalid_string':
      if (issue.validation === 'url') return [problem('a URL such as http://127.0.0.1:9000')]
      return [problem(issue.message.startsWith('Invalid') ? `a ${typeof issue.validation === 'string' ? issue.validation : 'differently formed'} string` : issue.message)]
    case 'custom':
    default:
      return [problem(issue.message === 'Invalid input' ? 'a different kind of value' : issue.message)]
  }
}

/** What the members of a union take, from each member's first issue: "a string, a number or a boolean". */
function unionExpected(issue: z.ZodInvalidUnionIssue): string | undefined {
  const options = new Set<string>()
  for (const error of issue.unionErrors) {
    const first = error.issues[0]
    if (!first) continue
    if (first.code === 'invalid_type' && first.path.length === issue.path.length) options.add(expectedOf(first.expected))
    else if (first.code === 'invalid_enum_value') for (const o of first.options) options.add(JSON.stringify(o))
    else if (first.code === 'invalid_literal') options.add(JSON.stringify(first.expected))
    else return undefined
  }
  const list = [...options]
  return list.length === 0 ? undefined : list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} or ${list.at(-1)}`
}

function expectedOf(type: string): string {
  const article = /^[aeiou]/.test(type) ? 'an' : 'a'
  return type === 'array' ? 'a list' : type === 'object' ? 'a mapping' : `${article} ${type}`
}

/** Follows a path through a schema, unwrapping optional/default/effects, to the object shape there. */
function objectShapeAt(schema: z.ZodTypeAny, pathParts: ReadonlyArray<string | number>): z.ZodRawShape | undefined {
  const node = schemaAt(schema, pathParts)
  return node instanceof z.ZodObject ? node.shape : undefined
}

function fieldDescription(schema: z.ZodTypeAny, dottedPath: string): string | undefined {
  const node = schemaAt(schema, dottedPath === '(top level)' ? [] : dottedPath.split('.'), true)
  return node?.description
}

function schemaAt(schema: z.ZodTypeAny, pathParts: ReadonlyArray<string | number>, keepDescription = false): z.ZodTypeAny | undefined {
  let node: z.ZodTypeAny | undefined = schema
  for (const part of [...pathParts, null]) {
    // Unwrap wrappers, but stop at one that carries a description when that is what we want.
    for (;;) {
      if (!node || (keepDescription && part === null && node.description)) break
      if (node instanceof z.ZodOptional || node instanceof z.ZodNullable) node = node.unwrap()
      else if (node instanceof z.ZodDefault) node = node._def.innerType
      else if (node instanceof z.ZodEffects) node = node.innerType()
      else if (node instanceof z.ZodPipeline) node = node._def.in
      else break
    }
    if (part === null || !node) break
    if (node instanceof z.ZodObject) node = node.shape[part] as z.ZodTypeAny | undefined
    else if (node instanceof z.ZodArray) node = node.element
    else if (node instanceof z.ZodRecord) node = node.valueSchema
    else if (node instanceof z.ZodUnion) node = (node.options as z.ZodTypeAny[]).find((o) => o instanceof z.ZodObject || o instanceof z.ZodArray)
    else return undefined
  }
  return node
}
