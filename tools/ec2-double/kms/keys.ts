// KMS keys as data (DoubleState.kmsKeys), and the little of KMS the action asks: DescribeKey. Each
// account has an AWS managed key for EBS, aws/ebs, in each region, made the first time it is needed;
// a test makes customer managed keys (Front.kmsKey) and says which other accounts their key policy
// lets use them. EC2 reads the same data: the key a copy is encrypted with, as EC2 records it, and
// whether the account copying may use the keys involved.
import { createHash } from 'node:crypto'
import type { Caller } from '../caller.ts'
import { FrontError, KMS_CONTENT_TYPE, type Reply } from '../protocol.ts'
import type { DoubleState, KmsKey } from '../state.ts'
import { principalOf } from '../sts/roles.ts'

export type KmsHandler = (caller: Caller, input: Record<string, unknown>) => Promise<Reply>

export const KMS_HANDLERS: Record<string, KmsHandler> = {
  DescribeKey: describeKey
}

/** A key's ARN (KMS Developer Guide, "Key identifiers (KeyId)"): arn:aws:kms:REGION:ACCOUNT:key/ID or …:alias/NAME. */
const KMS_ARN = /^arn:aws[\w-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/
const DEFAULT_EBS_ALIAS = 'alias/aws/ebs'

/** A UUID made from `seed`, so a key's id is the same in every run (and per account and region for aws/ebs). */
function uuidFrom(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

function keyArn(region: string, account: string, keyId: string): string {
  return `arn:aws:kms:${region}:${account}:key/${keyId}`
}

/**
 * The account's AWS managed key for EBS in the region (KMS Developer Guide, "AWS managed keys"),
 * made the first time it is asked for, as KMS makes it the first time EBS encryption needs it.
 */
export function defaultEbsKey(state: DoubleState, account: string, region: string, now: number): KmsKey {
  const keyId = uuidFrom(`aws/ebs|${account}|${region}`)
  const arn = keyArn(region, account, keyId)
  let key = state.kmsKeys.get(arn)
  if (!key) {
    key = {
      arn,
      keyId,
      account,
      region,
      manager: 'AWS',
      usableBy: [],
      // The description KMS gives the aws/ebs key.
      description: 'Default master key that protects my EBS volumes when no other key is defined',
      createdAt: now
    }
    state.kmsKeys.set(arn, key)
  }
  return key
}

/** A new customer managed key (Front.kmsKey); `usableBy`: other accounts its key policy lets use it. */
export function makeKmsKey(state: DoubleState, account: string, region: string, usableBy: string[], now: number): KmsKey {
  for (const other of usableBy)
    if (!/^\d{12}$/.test(other)) throw new Error(`kmsKey: usableBy takes 12-digit account ids; '${other}' is not one`)
  const keyId = uuidFrom(`customer|${account}|${region}|${++state.kmsKeysMade}`)
  const key: KmsKey = {
    arn: keyArn(region, account, keyId),
    keyId,
    account,
    region,
    manager: 'CUSTOMER',
    usableBy: [...usableBy],
    description: '',
    createdAt: now
  }
  state.kmsKeys.set(key.arn, key)
  return key
}

/** Whether the key is an AWS managed aws/ebs key (by its ARN, or as an alias). */
export function isDefaultKey(state: DoubleState, key: string): boolean {
  return /(^|:)alias\/aws\/ebs$/.test(key) || state.kmsKeys.get(key)?.manager === 'AWS'
}

/**
 * The key EC2 records for an encrypted snapshot: its ARN (EC2 API Reference, Snapshot, KmsKeyId:
 * "The Amazon Resource Name (ARN) of the KMS key"). A key ARN is recorded as given; aws/ebs (the
 * alias, or its alias ARN) is the account's default key there; another alias, or a bare key id, is
 * named by an ARN in the account and region built from it (the double knows no other aliases).
 */
export function recordedKey(caller: Caller, given: string, region: string): string {
  if (given === DEFAULT_EBS_ALIAS) return defaultEbsKey(caller.state, caller.account, region, caller.now()).arn
  const arn = KMS_ARN.exec(given)
  if (arn) {
    const [, keyRegion, account, kind, name] = arn
    if (kind === 'alias' && name === 'aws/ebs') return defaultEbsKey(caller.state, account!, keyRegion!, caller.now()).arn
    return given
  }
  if (given.startsWith('alias/')) return `arn:aws:kms:${region}:${caller.account}:${given}`
  return keyArn(region, caller.account, given)
}

/**
 * Why `account` cannot encrypt with the key (an ARN, as recordedKey gives) in `region`, if it
 * cannot. CopyImage, KmsKeyId (EC2 API Reference): "The specified KMS key must exist in the Region
 * that the AMI is being copied to"; a key of another account only if its key policy lets this one
 * use it (KMS Developer Guide, "Allowing users in other accounts to use a KMS key"), which no AWS
 * managed key's does. A key of the account's own that the double was not told of is taken to exist.
 */
export function keyProblem(state: DoubleState, keyArnText: string, account: string, region: string): string | undefined {
  const arn = KMS_ARN.exec(keyArnText)
  if (!arn) return undefined
  const [, keyRegion, owner] = arn
  if (keyRegion !== region) return `the KMS key ${keyArnText} is in ${keyRegion}, not in ${region}`
  if (owner === account) return undefined
  const key = state.kmsKeys.get(keyArnText)
  if (key?.manager === 'CUSTOMER' && key.usableBy.includes(account)) return undefined
  return `the KMS key ${keyArnText} of account ${owner} does not let account ${account} use it`
}

/**
 * Why `account` cannot decrypt a snapshot of another account encrypted with `key`, if it cannot: an
 * AWS managed key serves its own account only (EBS User Guide, "Share an Amazon EBS snapshot": "You
 * can't share snapshots that are encrypted with the default AWS managed key"), and a customer managed
 * key only the accounts its key policy names ("you must also share the customer managed key").
 */
export function sourceKeyProblem(state: DoubleState, key: string, account: string): string | undefined {
  if (isDefaultKey(state, key)) return `its snapshots are encrypted with the AWS managed key ${key}, which no other account can use`
  const known = state.kmsKeys.get(key)
  if (known?.account === account || known?.usableBy.includes(account)) return undefined
  return `its snapshots are encrypted with the KMS key ${key}, whose key policy does not let account ${account} use it`
}

/** The key DescribeKey names, as the caller may see it; NotFoundException or AccessDeniedException if it may not. */
function keyFor(caller: Caller, keyId: string): KmsKey {
  const { state } = caller
  const denied = (arn: string): FrontError =>
    new FrontError(
      400,
      'AccessDeniedException',
      `User: ${principalOf(caller).arn} is not authorized to perform: kms:DescribeKey on resource: ${arn} because no resource-based policy allows the kms:DescribeKey action`
    )
  if (keyId === DEFAULT_EBS_ALIAS) return defaultEbsKey(state, caller.account, caller.region, caller.now())
  if (keyId.startsWith('arn:')) {
    const arn = KMS_ARN.exec(keyId)
    if (!arn) throw new FrontError(400, 'InvalidArnException', `${keyId} is not a valid KMS key or alias ARN.`)
    const [, region, account, kind, name] = arn
    // KMS is regional: a key of another region is not found by this region's endpoint.
    if (region !== caller.region) throw new FrontError(400, 'NotFoundException', `Invalid arn ${region}`)
    if (kind === 'alias') {
      if (account !== caller.account) throw denied(keyId)
      if (name === 'aws/ebs') return defaultEbsKey(state, account, region, caller.now())
      throw new FrontError(400, 'NotFoundException', `Alias ${keyId} is not found.`)
    }
    const key = state.kmsKeys.get(keyId)
    if (account === caller.account) {
      if (!key) throw new FrontError(400, 'NotFoundException', `Key '${keyId}' does not exist`)
      return key
    }
    if (key?.manager === 'CUSTOMER' && key.usableBy.includes(caller.account)) return key
    throw denied(keyId)
  }
  if (keyId.startsWith('alias/'))
    throw new FrontError(400, 'NotFoundException', `Alias arn:aws:kms:${caller.region}:${caller.account}:${keyId} is not found.`)
  const arn = keyArn(caller.region, caller.account, keyId)
  const key = state.kmsKeys.get(arn)
  if (!key) throw new FrontError(400, 'NotFoundException', `Key '${arn}' does not exist`)
  return key
}

/**
 * DescribeKey (KMS API Reference): KeyId as a key id, key ARN, alias name or alias ARN; "To specify
 * a KMS key in a different AWS account, you must use the key ARN or alias ARN", and the key's policy
 * must let the caller's account use it. "If you call the DescribeKey operation on a predefined AWS
 * alias, that is, an AWS alias with no key ID, AWS KMS creates an AWS managed key": alias/aws/ebs
 * answers the account's aws/ebs key in the region, made if need be.
 */
async function describeKey(caller: Caller, input: Record<string, unknown>): Promise<Reply> {
  const keyId = typeof input.KeyId === 'string' ? input.KeyId : ''
  if (!keyId)
    throw new FrontError(
      400,
      'ValidationException',
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    )
  const key = keyFor(caller, keyId)
  return {
    status: 200,
    body: JSON.stringify({
      KeyMetadata: {
        AWSAccountId: key.account,
        KeyId: key.keyId,
        Arn: key.arn,
        CreationDate: key.createdAt / 1000,
        Enabled: true,
        Description: key.description,
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeyState: 'Enabled',
        Origin: 'AWS_KMS',
        KeyManager: key.manager,
        CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
        KeySpec: 'SYMMETRIC_DEFAULT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        MultiRegion: false
      }
    }),
    contentType: KMS_CONTENT_TYPE
  }
}
