// CreateLaunchTemplateVersion, which moto takes in part: it ignores SourceVersion and ClientToken.
import type { Caller } from '../caller.ts'
import { FrontError, type Reply } from '../protocol.ts'
import { child, items, node, parseXml, serializeXml, textOf, type XmlElement } from '../xml.ts'
import { cloneXml, lookUpVersion, overlayTemplateVersion, refuseVersionNumber, resolveAliases } from './launch-templates.ts'
import { fingerprintOf, isDryRun } from './requests.ts'

/**
 * CreateLaunchTemplateVersion (EC2 API Reference), which moto takes in part:
 * - SourceVersion: "If you specify this parameter, the new version inherits the launch parameters
 *   from the source version. If you specify additional launch parameters for the new version, they
 *   overwrite any corresponding launch parameters inherited from the source version." moto ignores
 *   it, so the double keeps the version's data itself (DoubleState.launchTemplateVersions) and shows
 *   it in every answer. Also from SourceVersion: "Snapshots applied to the block device mapping are
 *   ignored when creating a new version unless they are explicitly included" — so inherited block
 *   device mappings lose their snapshot ids, and mappings given with the call replace the inherited
 *   list whole (whether EC2 merges a partial list device by device is not documented; replacing is
 *   the stricter reading, and the two agree when every mapping is given again). Only ImageId and
 *   BlockDeviceMapping are merged; any other field given with a SourceVersion is refused
 *   (FrontUnsupported) rather than merged wrongly. A source version that does not exist:
 *   InvalidLaunchTemplateId.VersionNotFound (EC2 API Reference, error codes: "The specified launch
 *   template version does not exist").
 * - ClientToken: "Unique, case-sensitive identifier you provide to ensure the idempotency of the
 *   request." The same token with the same parameters answers the first call's version and makes
 *   none; with any parameter different, IdempotentParameterMismatch (as CopyImage).
 * - DryRun: checked after the template and source version are found, then answered by moto
 *   (DryRunOperation, nothing made). A template that does not exist: moto's answer, which is EC2's
 *   documented InvalidLaunchTemplateId.NotFound (by id) or InvalidLaunchTemplateName.NotFoundException
 *   (by name).
 */
export async function createLaunchTemplateVersion(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const dryRun = isDryRun(params)
  const token = params.get('ClientToken')
  const tokenKey = `${caller.scope}|${token}`
  const fingerprint = fingerprintOf(params)
  const earlier = token && !dryRun ? caller.state.templateTokens.get(tokenKey) : undefined
  if (earlier) {
    if (earlier.fingerprint !== fingerprint)
      throw new FrontError(400, 'IdempotentParameterMismatch', `The client token ${token} was used with other parameters.`)
    return { status: 200, body: earlier.body }
  }
  const source = params.get('SourceVersion')
  const inherited = source === null ? undefined : await sourceDataOf(caller, params, source)
  if (inherited && 'refused' in inherited) return inherited.refused
  const sourceData = inherited?.data
  if (dryRun) return caller.send(params)
  const rest = new URLSearchParams(params)
  rest.delete('ResolveAlias')
  const reply = await caller.send(rest)
  if (reply.status >= 400) return reply
  const xml = parseXml(reply.body)
  const made = child(xml, 'launchTemplateVersion')
  if (made && sourceData) {
    caller.state.launchTemplateVersions.set(
      `${textOf(made, 'launchTemplateId')}#${textOf(made, 'versionNumber')}`,
      inherit(sourceData, made)
    )
    overlayTemplateVersion(caller, made)
  }
  if (made && params.get('ResolveAlias') === 'true') await resolveAliases(caller, [made])
  const body = serializeXml(xml)
  if (token) caller.state.templateTokens.set(tokenKey, { fingerprint, body })
  return { status: reply.status, body }
}

/** The source version's launch template data as EC2 holds it, or moto's refusal to find it. */
async function sourceDataOf(caller: Caller, params: URLSearchParams, source: string): Promise<{ data: XmlElement } | { refused: Reply }> {
  const others = [...params.keys()].filter(
    (key) => key.startsWith('LaunchTemplateData.') && !/^LaunchTemplateData\.(ImageId$|BlockDeviceMapping\.)/.test(key)
  )
  if (others.length > 0) {
    throw new FrontError(
      400,
      'FrontUnsupported',
      `The test front merges only LaunchTemplateData.ImageId and BlockDeviceMapping into a SourceVersion; it was also given ${others.join(', ')}.`
    )
  }
  refuseVersionNumber(source)
  if (!/^\d+$/.test(source))
    throw new FrontError(400, 'InvalidParameterValue', `SourceVersion takes a version number; ${source} was given.`)
  const found = await lookUpVersion(caller, params, source)
  if (found.status >= 400) return { refused: found }
  const version = items(parseXml(found.body), 'launchTemplateVersionSet')[0]
  if (!version)
    throw new FrontError(400, 'InvalidLaunchTemplateId.VersionNotFound', `The specified launch template version ${source} does not exist.`)
  overlayTemplateVersion(caller, version)
  return { data: cloneXml(child(version, 'launchTemplateData') ?? node('launchTemplateData', [])) }
}

/** The new version's data: the source's, without inherited snapshot ids, under what the call gave. */
function inherit(sourceData: XmlElement, made: XmlElement): XmlElement {
  for (const mapping of items(sourceData, 'blockDeviceMappingSet')) {
    const ebs = child(mapping, 'ebs')
    if (ebs) ebs.children = ebs.children.filter((c) => c.name !== 'snapshotId')
  }
  // What the call gave, as moto keeps it (moto keeps exactly the fields given), replaces the
  // inherited field of the same name.
  for (const given of child(made, 'launchTemplateData')?.children ?? []) {
    sourceData.children = sourceData.children.filter((c) => c.name !== given.name)
    sourceData.children.push(cloneXml(given))
  }
  return sourceData
}
