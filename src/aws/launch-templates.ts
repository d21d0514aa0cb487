// Launch template calls for publish: find the template, read what image a version launches, add a
// version that differs from another only in its image, and make it the default.
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  ModifyLaunchTemplateCommand,
  type LaunchTemplateBlockDeviceMappingRequest,
  type ResponseLaunchTemplateData
} from '@aws-sdk/client-ec2'
import { TEMPLATE_ID } from '../limits.ts'
import type { Aws } from './client.ts'
import { hasCode } from './errors.ts'

export interface TemplateInfo {
  id: string
  name: string
  defaultVersion: number
  latestVersion: number
}

/**
 * The template named (or with this id) in the region, or undefined if there is none. A name may
 * look like an id (EC2's name rule allows lt- and 17 hexadecimal digits): when no template has that
 * id, the name is tried.
 */
export async function describeTemplate(aws: Aws, region: string, nameOrId: string): Promise<TemplateInfo | undefined> {
  const found = TEMPLATE_ID.test(nameOrId) ? await findTemplate(aws, region, nameOrId, true) : undefined
  return found ?? (await findTemplate(aws, region, nameOrId, false))
}

async function findTemplate(aws: Aws, region: string, nameOrId: string, byId: boolean): Promise<TemplateInfo | undefined> {
  try {
    const { LaunchTemplates } = await aws.call(region, 'DescribeLaunchTemplates', `launch template ${nameOrId}`, (client) =>
      client.send(new DescribeLaunchTemplatesCommand(byId ? { LaunchTemplateIds: [nameOrId] } : { LaunchTemplateNames: [nameOrId] }))
    )
    const found = LaunchTemplates?.[0]
    if (!found?.LaunchTemplateId) return undefined
    return {
      id: found.LaunchTemplateId,
      name: found.LaunchTemplateName ?? '',
      defaultVersion: found.DefaultVersionNumber ?? 0,
      latestVersion: found.LatestVersionNumber ?? 0
    }
  } catch (error) {
    // EC2 API Reference, error codes: a name or id that names no template of this account.
    if (
      hasCode(error, 'InvalidLaunchTemplateName.NotFoundException', 'InvalidLaunchTemplateId.NotFound', 'InvalidLaunchTemplateId.Malformed')
    )
      return undefined
    throw error
  }
}

/**
 * The newest version after `after` that launches `imageId` as written and carries `description`:
 * what a CreateLaunchTemplateVersion whose answer was lost may have made (EC2 API Reference,
 * "Ensuring idempotency": a request may complete even though the caller saw it fail). MinVersion is
 * "the version number after which to describe" (DescribeLaunchTemplateVersions): `after` itself is
 * asked for too, and filtered out, so either reading of "after" finds the next version.
 */
export async function findVersion(
  aws: Aws,
  region: string,
  templateId: string,
  after: number,
  made: { imageId: string; description: string }
): Promise<number | undefined> {
  let newest: number | undefined
  const pages = aws.pages(
    region,
    'DescribeLaunchTemplateVersions',
    `launch template ${templateId} versions after ${after}`,
    (client, token) =>
      client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, MinVersion: String(after), NextToken: token }))
  )
  for await (const page of pages) {
    for (const version of page.LaunchTemplateVersions ?? []) {
      const number = version.VersionNumber ?? 0
      const ours = version.LaunchTemplateData?.ImageId === made.imageId && version.VersionDescription === made.description
      if (ours && number > after && number > (newest ?? 0)) newest = number
    }
  }
  return newest
}

/** The image a version launches: as written, or as EC2 resolves it now (see versionData). */
export async function versionImage(
  aws: Aws,
  region: string,
  templateId: string,
  version: number,
  resolve: boolean
): Promise<string | undefined> {
  return (await versionData(aws, region, templateId, version, resolve))?.ImageId
}

/**
 * A version's launch data; its image as written (`resolve` false: an image id, or `resolve:ssm:…`),
 * or as EC2 resolves it now (ResolveAlias).
 */
export async function versionData(
  aws: Aws,
  region: string,
  templateId: string,
  version: number,
  resolve: boolean
): Promise<ResponseLaunchTemplateData | undefined> {
  const { LaunchTemplateVersions } = await aws.call(
    region,
    'DescribeLaunchTemplateVersions',
    `launch template ${templateId} version ${version}`,
    (client) =>
      client.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: templateId,
          Versions: [String(version)],
          ...(resolve && { ResolveAlias: true })
        })
      )
  )
  return LaunchTemplateVersions?.[0]?.LaunchTemplateData
}

/**
 * CreateLaunchTemplateVersion with SourceVersion ignores the snapshots of the source's block device
 * mappings "unless they are explicitly included" (EC2 API Reference, SourceVersion). That is right
 * for a mapping of the old image's own snapshot (a template made from an instance names its root
 * snapshot): carried over, the new version would launch the new image on the old image's disk. A
 * snapshot the old image does not have (a data volume someone added) is meant to stay: when there
 * is one, every mapping is given again, without the old image's snapshots. `oldSnapshots` undefined
 * (the old image could not be described) leaves EC2's rule alone.
 */
export function mappingsToKeep(
  source: ResponseLaunchTemplateData | undefined,
  oldSnapshots: ReadonlySet<string> | undefined
): LaunchTemplateBlockDeviceMappingRequest[] | undefined {
  const mappings = source?.BlockDeviceMappings ?? []
  const added = (snapshotId: string | undefined): boolean =>
    snapshotId !== undefined && oldSnapshots !== undefined && !oldSnapshots.has(snapshotId)
  if (!mappings.some((mapping) => added(mapping.Ebs?.SnapshotId))) return undefined
  return mappings.map(({ Ebs, ...mapping }) => {
    if (!Ebs) return mapping
    const { SnapshotId, ...ebs } = Ebs
    return { ...mapping, Ebs: added(SnapshotId) ? { ...ebs, SnapshotId } : ebs }
  })
}

/** Whether a version's mappings name snapshots that a new version from it would lose. */
export function namesSnapshots(source: ResponseLaunchTemplateData | undefined): boolean {
  return (source?.BlockDeviceMappings ?? []).some((mapping) => mapping.Ebs?.SnapshotId)
}

export interface NewVersion {
  templateId: string
  sourceVersion: number
  imageId: string
  /** The source's block device mappings, when they name snapshots (see mappingsToKeep). */
  blockDeviceMappings?: LaunchTemplateBlockDeviceMappingRequest[] | undefined
  description: string
  /** Same token, same request: EC2 answers a repeat with the version it made the first time. */
  clientToken: string
}

/**
 * CreateLaunchTemplateVersion from `sourceVersion` with only the image changed; returns its number
 * (0 in a dry run, which only checks).
 */
export async function createVersion(aws: Aws, region: string, version: NewVersion): Promise<number> {
  const input = {
    LaunchTemplateId: version.templateId,
    SourceVersion: String(version.sourceVersion),
    LaunchTemplateData: {
      ImageId: version.imageId,
      ...(version.blockDeviceMappings && { BlockDeviceMappings: version.blockDeviceMappings })
    },
    VersionDescription: version.description,
    ClientToken: version.clientToken
  }
  const resource = `launch template ${version.templateId} (from version ${version.sourceVersion})`
  const result = await aws.change(region, 'CreateLaunchTemplateVersion', resource, (client, DryRun) =>
    client.send(new CreateLaunchTemplateVersionCommand({ ...input, DryRun }))
  )
  if (result === undefined) return 0
  const number = result.LaunchTemplateVersion?.VersionNumber
  if (!number) throw new Error(`CreateLaunchTemplateVersion in ${region} for ${resource} returned no version number`)
  // EC2 API Reference, CreateLaunchTemplateVersion, Warning: a version whose parameters are not
  // valid is still made, with an error per issue. Such a version is never made the default.
  const problems = (result.Warning?.Errors ?? []).map((problem) => `${problem.Code ?? 'error'}: ${problem.Message ?? ''}`.trim())
  if (problems.length > 0) throw new InvalidVersion(number, problems)
  return number
}

/** EC2 made the version but says its parameters are not valid. */
export class InvalidVersion extends Error {
  readonly version: number
  constructor(version: number, problems: readonly string[]) {
    super(`EC2 made version ${version} but reports it not valid: ${problems.join('; ')}`)
    this.version = version
  }
}

export async function setDefaultVersion(aws: Aws, region: string, templateId: string, version: number): Promise<void> {
  await aws.change(region, 'ModifyLaunchTemplate', `launch template ${templateId} (default version ${version})`, (client, DryRun) =>
    client.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: templateId, DefaultVersion: String(version), DryRun }))
  )
}
