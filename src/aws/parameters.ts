// SSM Parameter Store calls for publish. The SSM SDK is imported here on first use only, so a step
// that does not publish to SSM never loads it.
import { errorMessage } from '../errors.ts'
import type { Aws } from './client.ts'
import { AwsError, hasCode } from './errors.ts'

const sdk = () => import('@aws-sdk/client-ssm')

export interface ParameterState {
  value: string
  version: number
  type: string
  /** text, aws:ec2:image, aws:ssm:integration. */
  dataType: string
  tier?: string
}

/** The parameter as SSM has it now, or undefined if there is none. */
export async function readParameter(aws: Aws, region: string, name: string): Promise<ParameterState | undefined> {
  const { GetParameterCommand } = await sdk()
  try {
    const { Parameter } = await aws.ssm(region, 'GetParameter', `parameter ${name}`, (client) =>
      client.send(new GetParameterCommand({ Name: name }))
    )
    if (!Parameter) return undefined
    const state: ParameterState = {
      value: Parameter.Value ?? '',
      version: Parameter.Version ?? 0,
      type: Parameter.Type ?? '',
      dataType: Parameter.DataType ?? 'text'
    }
    return state
  } catch (error) {
    if (hasCode(error, 'ParameterNotFound')) return undefined
    throw error
  }
}

/** What an overwrite must respect: the tier it repeats, and the pattern SSM holds a new value to. */
export interface ParameterRules {
  tier: string
  /** AllowedPattern: a regular expression every value must match (SSM API Reference, PutParameter). */
  allowedPattern?: string
}

/**
 * The existing parameter's tier and allowed pattern. The tier is repeated on overwrite: without one
 * SSM applies the account's default tier setting (SSM API Reference, PutParameter, Tier), and an
 * advanced parameter never goes back.
 */
export async function parameterRules(aws: Aws, region: string, name: string): Promise<ParameterRules> {
  const { DescribeParametersCommand } = await sdk()
  // A page may hold fewer items than asked, even none, with a NextToken (SSM API Reference,
  // DescribeParameters): the filter is followed to its end.
  let nextToken: string | undefined
  do {
    const token = nextToken
    const page = await aws.ssm(region, 'DescribeParameters', `parameter ${name}`, (client) =>
      client.send(
        new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }], NextToken: token })
      )
    )
    const found = page.Parameters?.find((parameter) => parameter.Name === name)
    if (found?.Tier) return { tier: found.Tier, ...(found.AllowedPattern && { allowedPattern: found.AllowedPattern }) }
    nextToken = page.NextToken || undefined
  } while (nextToken !== undefined)
  // Overwriting without a tier could make it an advanced parameter for good: never guessed.
  throw new Error(
    `DescribeParameters in ${region} does not list the tier of the existing parameter ${name}; publish will not overwrite it without one`
  )
}

/**
 * PutParameter of an image id, data type aws:ec2:image (SSM API Reference, PutParameter: SSM checks
 * that the image exists and is available to the account — asynchronously, after answering). Returns
 * the version SSM announced; the value is stored only if the check passes, which publish confirms.
 */
export async function putImageParameter(
  aws: Aws,
  region: string,
  name: string,
  imageId: string,
  tier: string | undefined
): Promise<number> {
  const { PutParameterCommand } = await sdk()
  const result = await aws.ssm(region, 'PutParameter', `parameter ${name}`, (client) =>
    client.send(
      new PutParameterCommand({
        Name: name,
        Value: imageId,
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: true,
        // Without a tier SSM applies the account's default tier setting, which may be Advanced (and an
        // advanced parameter never goes back): an existing parameter keeps its own.
        ...((tier === 'Standard' || tier === 'Advanced') && { Tier: tier })
      })
    )
  )
  return result.Version ?? 0
}

/**
 * SSM parameters of data type aws:ec2:image that hold these images, for prune when
 * DescribeImageReferences is not available (it covers SSM parameters itself). Every parameter is
 * listed (50 a page) and the image ones read 10 at a time; the listing filters on the client,
 * since not every endpoint takes a DataType filter. When SSM cannot be read, says why instead.
 */
export async function parameterUsers(
  aws: Aws,
  region: string,
  imageIds: readonly string[]
): Promise<{ users: Map<string, string[]> } | { unavailable: string }> {
  const { DescribeParametersCommand, GetParametersCommand } = await sdk()
  const wanted = new Set(imageIds)
  const users = new Map<string, string[]>()
  try {
    const names: string[] = []
    let nextToken: string | undefined
    do {
      const token = nextToken
      const page = await aws.ssm(region, 'DescribeParameters', 'every SSM parameter', (client) =>
        client.send(new DescribeParametersCommand({ MaxResults: 50, NextToken: token }))
      )
      for (const parameter of page.Parameters ?? [])
        if (parameter.DataType === 'aws:ec2:image' && parameter.Name) names.push(parameter.Name)
      nextToken = page.NextToken || undefined
    } while (nextToken !== undefined)
    for (let at = 0; at < names.length; at += 10) {
      const batch = names.slice(at, at + 10)
      const { Parameters } = await aws.ssm(region, 'GetParameters', `parameters ${batch.join(', ')}`, (client) =>
        client.send(new GetParametersCommand({ Names: batch }))
      )
      for (const parameter of Parameters ?? []) {
        if (!parameter.Value || !wanted.has(parameter.Value)) continue
        users.set(parameter.Value, [...(users.get(parameter.Value) ?? []), `SSM parameter ${parameter.Name}`])
      }
    }
    return { users }
  } catch (error) {
    // Credentials without SSM read access are said (and warned about) rather than fatal: the
    // contract's fallback is instances and launch templates. Anything else — throttling past every
    // retry, SSM failing — fails the prune: nothing is retired unchecked.
    if (!(error instanceof AwsError) || !hasCode(error, 'AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation')) throw error
    return { unavailable: errorMessage(error) }
  }
}
