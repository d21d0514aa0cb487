// Points the action's in-process EC2 layer at a local endpoint for integration tests, and gives
// tests their own SDK client to look at the result.
import {
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
  type Image,
  type Snapshot,
  type Tag
} from '@aws-sdk/client-ec2'

export function useEndpoint(endpoint: string): void {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_EC2: endpoint,
    AWS_ENDPOINT_URL_SSM: endpoint,
    AWS_ENDPOINT_URL_AUTO_SCALING: endpoint,
    AWS_ENDPOINT_URL_STS: endpoint,
    AWS_ENDPOINT_URL_KMS: endpoint,
    AWS_ENDPOINT_URL_RBIN: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true'
  })
}

/** A client that talks to moto directly (not through the front), to check the real state. */
export function inspector(endpoint: string, region: string): EC2Client {
  return new EC2Client({ region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 })
}

export async function ownImages(endpoint: string, region: string): Promise<Image[]> {
  const client = inspector(endpoint, region)
  try {
    return (await client.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []
  } finally {
    client.destroy()
  }
}

export async function ownSnapshots(endpoint: string, region: string): Promise<Snapshot[]> {
  const client = inspector(endpoint, region)
  try {
    return (await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []
  } finally {
    client.destroy()
  }
}

export function tagsOf(resource: { Tags?: Tag[] | undefined }): Record<string, string> {
  return Object.fromEntries((resource.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']))
}

export function snapshotIdsOf(image: Image): string[] {
  return (image.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : []))
}

/** A running builder instance in the region, launched from one of moto's stock images. */
export async function launchBuilder(endpoint: string, region = 'us-east-1'): Promise<string> {
  const client = new EC2Client({ region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })
  try {
    const stock = await client.send(
      new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'architecture', Values: ['x86_64'] }] })
    )
    const imageId = stock.Images?.[0]?.ImageId
    if (!imageId) throw new Error(`moto has no stock image in ${region}`)
    const run = await client.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))
    return run.Instances![0]!.InstanceId!
  } finally {
    client.destroy()
  }
}

/**
 * A client that acts as another account. Given moto's endpoint, it talks to moto directly: moto's
 * STS issues credentials that act in the account of any role ARN (it keeps one backend per
 * account), past the front's trust rules. Given the front's, `role` must be one the front knows.
 */
export async function accountInspector(endpoint: string, region: string, account: string, role = 'inspector'): Promise<EC2Client> {
  const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts')
  const sts = new STSClient({ region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })
  try {
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/${role}`, RoleSessionName: 'inspector' })
    )
    return new EC2Client({
      region,
      endpoint,
      credentials: {
        accessKeyId: Credentials!.AccessKeyId!,
        secretAccessKey: Credentials!.SecretAccessKey!,
        sessionToken: Credentials!.SessionToken!
      },
      maxAttempts: 1
    })
  } finally {
    sts.destroy()
  }
}
