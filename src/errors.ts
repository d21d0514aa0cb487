/** Bad input: found before any call that changes anything, and always names input, value and rule. */
export class InputError extends Error {
  override name = 'InputError'
  constructor(input: string, value: string, accepted: string) {
    super(`Input '${input}' has ${value === '' ? 'no value' : `the value '${clip(value)}'`}: ${accepted}`)
  }
}

/** Several bad inputs, each its own line: a workflow is fixed in one go, not one input per run. */
export class InputErrors extends Error {
  override name = 'InputError'
  readonly errors: readonly InputError[]
  constructor(errors: readonly InputError[]) {
    super(`${errors.length} inputs are refused:\n${errors.map((error) => `- ${error.message}`).join('\n')}`)
    this.errors = errors
  }
}

/** A failure that should read as one plain sentence to the user, without a stack. */
export class StepError extends Error {
  override name = 'StepError'
}

/** Text of anything thrown: a non-Error throw must still fail the step with something readable. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  if (typeof error === 'string') return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/** One line, and not the whole of a long value: the message must stay readable in an annotation. */
function clip(value: string): string {
  const line = value.replace(/\r?\n/g, '\\n')
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}
