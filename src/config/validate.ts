import {z} from 'zod'

import {ConfigError} from '../errors'
import {closest, describeValue, dotted, valueAt} from './describe'

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
export function validateConfig<S extends z.ZodTypeAny>(schema: S, data: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(data)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.flatMap((issue) => describeIssue(schema, data, issue))
  const first = problems[0]
  const more = problems.length > 1 ? ` (${problems.length - 1} more: ${problems.slice(1).map((p) => p.path).join(', ')})` : ''
  const hint = first.suggestion
    ? `Did you mean "${first.suggestion}"?`
    : first.known
      ? first.known.length > 0 ? `Keys allowed here: ${first.known.join(', ')}.` : 'No keys are allowed here.'
      : fieldDescription(schema, first.path) ?? 'See the kind\'s config reference with `rfm cloud launch KIND --dry-run`.'
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
    case 'custom':
    default:
      return [problem(issue.message === 'Invalid input' ? 'a different kind of value' : issue.message)]
  }
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
