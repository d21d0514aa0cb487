// Turns SDK errors into messages that name the operation, the region and the resource, and say
// what to do where that is known.

export type Service = 'ec2' | 'ssm' | 'autoscaling' | 'kms' | 'sts' | 'rbin'

/** An AWS call that failed after the SDK's retries, with where and on what. */
export class AwsError extends Error {
  override name = 'AwsError'
  readonly code: string
  readonly operation: string
  readonly region: string

  constructor(operation: string, region: string, resource: string, cause: unknown, service: Service = 'ec2', account?: string) {
    const code = errorCode(cause)
    const detail = cause instanceof Error ? cause.message : String(cause)
    const hint = hintFor(code, operation, detail, service)
    const where = account === undefined ? region : `${region} (account ${account})`
    super(`${operation} in ${where} for ${resource} failed: ${code}: ${detail}${hint ? ` — ${hint}` : ''}`, { cause })
    this.code = code
    this.operation = operation
    this.region = region
  }
}

/** EC2's error code (`InvalidAMIName.Duplicate`), which the SDK puts in the error's name. */
export function errorCode(error: unknown): string {
  if (error instanceof AwsError) return error.code
  if (error && typeof error === 'object') {
    const { Code, code, name } = error as { Code?: unknown; code?: unknown; name?: unknown }
    for (const candidate of [Code, code, name]) if (typeof candidate === 'string' && candidate !== '') return candidate
  }
  return 'Error'
}

export function hasCode(error: unknown, ...codes: string[]): boolean {
  return codes.includes(errorCode(error))
}

function hintFor(code: string, operation: string, detail: string, service: Service): string | undefined {
  if (/^(UnauthorizedOperation|AccessDenied|AccessDeniedException|AuthFailure)$/.test(code)) {
    return `the credentials lack the IAM permission ${service}:${operation}; add it to the role's policy (the README lists the policy per mode)`
  }
  if (code === 'ThrottlingException') {
    return "SSM kept throttling after every retry; other jobs in this account and region share Parameter Store's request limits"
  }
  if (code === 'ParameterMaxVersionLimitExceeded') {
    return 'SSM keeps 100 versions of a parameter and would have to drop the oldest, which has a label: move the label to a newer version (LabelParameterVersion) or remove it (UnlabelParameterVersion)'
  }
  if (code === 'HierarchyTypeMismatchException' || code === 'UnsupportedParameterType') {
    return 'the existing parameter is of another type; publish writes a String parameter of data type aws:ec2:image: choose another ssm-parameter, or delete the old one first'
  }
  if (/^InvalidLaunchTemplate(Id|Name)\./.test(code)) {
    return 'check launch-template: the name or id must be a launch template of this account in that region'
  }
  if (code === 'InvalidAMIName.Duplicate') {
    return 'the AMI name is taken in this region: choose another name, or set if-exists: reuse to adopt the existing image'
  }
  if (/KMS|kms/.test(code) || /KMS|kms key/i.test(detail)) {
    return 'the KMS key must exist in the destination region and let this role use it (kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext, kms:ReEncrypt*)'
  }
  if (code === 'ResourceLimitExceeded' && operation === 'CopyImage') {
    return 'EC2 limits concurrent AMI copies per destination region; wait for running copies to finish, or ask AWS for a higher quota'
  }
  if (code === 'RequestLimitExceeded' || code === 'Throttling') {
    return 'EC2 kept throttling after every retry; other jobs in this account and region share the same request limits'
  }
  if (code === 'CredentialsProviderError') {
    return 'no AWS credentials: use aws-actions/configure-aws-credentials before this step'
  }
  return undefined
}
