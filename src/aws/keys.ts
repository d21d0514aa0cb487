// KMS keys, read only: whether the key a snapshot is encrypted with is AWS managed (aws/ebs), which
// no other account can use, or a customer managed key whose policy can let them.
import { DescribeKeyCommand } from '@aws-sdk/client-kms'
import type { Aws } from './client.ts'

/**
 * What another account needs on a customer managed key to copy, or launch from, an image encrypted
 * with it: the key policy (or a grant) must allow these (EC2 User Guide, "Share an AMI with
 * specific AWS accounts", shared encrypted AMIs; AWS KMS Developer Guide, "Allowing users in other
 * accounts to use a KMS key").
 */
export const CROSS_ACCOUNT_KEY_ACTIONS =
  'kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext and kms:ReEncrypt*'

/**
 * AWS KMS API Reference, DescribeKey: KeyMetadata.KeyManager is AWS for an AWS managed key (such
 * as aws/ebs) and CUSTOMER for a customer managed one.
 */
export async function keyManager(aws: Aws, region: string, keyId: string): Promise<string | undefined> {
  const { KeyMetadata } = await aws.kms(region, 'DescribeKey', `key ${keyId}`, (client) =>
    client.send(new DescribeKeyCommand({ KeyId: keyId }))
  )
  return KeyMetadata?.KeyManager
}
