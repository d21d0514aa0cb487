// Launch templates where moto is loose: version numbers only EC2 could have, versions made from a
// SourceVersion shown with the data EC2 gave them, ResolveAlias, and a default version set only to
// a version that exists.
import type { Caller } from '../caller.ts'
import { FrontError, type Reply } from '../protocol.ts'
import { child, items, setText, textOf, type XmlElement } from '../xml.ts'
import { paginated } from './paging.ts'
import { listed } from './requests.ts'

/**
 * DescribeLaunchTemplateVersions (EC2 API Reference): without a template id or name, only $Latest
 * and $Default may be asked ("You cannot specify numbers"); ResolveAlias "If true, and if a Systems
 * Manager parameter is specified for ImageId, the AMI ID is displayed in the response for imageId".
 * MaxResults is 1 to 200. Versions made from a SourceVersion show the data EC2 gave them
 * (DoubleState.launchTemplateVersions), which moto does not keep.
 */
export async function describeLaunchTemplateVersions(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const versions = listed(params, /^LaunchTemplateVersion\.\d+$/)
  const named = params.has('LaunchTemplateId') || params.has('LaunchTemplateName')
  if (!named && (versions.length === 0 || versions.some((v) => v !== '$Latest' && v !== '$Default'))) {
    throw new FrontError(
      400,
      'InvalidParameterValue',
      'Without a launch template id or name, only $Latest and $Default versions can be described.'
    )
  }
  // moto reads version 0 (or -1) as the latest, and fails on a word; EC2 has versions 1, 2, …
  for (const version of versions) refuseVersionNumber(version)
  const max = Number(params.get('MaxResults') ?? 200)
  if (params.has('MaxResults') && (max < 1 || max > 200)) throw new FrontError(400, 'InvalidParameterValue', 'MaxResults must be 1 to 200.')
  const resolve = params.get('ResolveAlias') === 'true'
  const rest = new URLSearchParams(params)
  rest.delete('ResolveAlias')
  return paginated(
    caller,
    rest,
    'launchTemplateVersionSet',
    async (xml) => {
      overlayTemplateVersions(caller, xml)
      if (resolve) await resolveAliases(caller, items(xml, 'launchTemplateVersionSet'))
    },
    true
  )
}

/**
 * ModifyLaunchTemplate (EC2 API Reference): the default version is sent as SetDefaultVersion (the
 * SDK's DefaultVersion), which moto reads. The double looks the template and version up first, so a
 * DryRun is refused as the call would be, and a missing template by id gets EC2's
 * InvalidLaunchTemplateId.NotFound (moto answers InvalidLaunchTemplateName.NotFoundException) and a
 * missing version InvalidLaunchTemplateId.VersionNotFound.
 */
export async function modifyLaunchTemplate(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const version = params.get('SetDefaultVersion')
  if (version !== null) {
    refuseVersionNumber(version)
    if (!/^\d+$/.test(version))
      throw new FrontError(400, 'InvalidParameterValue', `SetDefaultVersion takes a version number; ${version} was given.`)
    const found = await lookUpVersion(caller, params, version)
    if (found.status >= 400) return found
  }
  return caller.send(params)
}

/** A version number EC2 could have: $Latest, $Default, or 1, 2, … */
export function refuseVersionNumber(version: string): void {
  if (version === '$Latest' || version === '$Default' || /^[1-9]\d*$/.test(version)) return
  if (/^-?\d+$/.test(version))
    throw new FrontError(400, 'InvalidLaunchTemplateId.VersionNotFound', `The specified launch template version ${version} does not exist.`)
  throw new FrontError(400, 'InvalidParameterValue', `${version} is not a launch template version number, $Latest or $Default.`)
}

/** moto's answer for one version of the template the request names (by id or by name). */
export function lookUpVersion(caller: Caller, params: URLSearchParams, version: string): Promise<Reply> {
  const lookup = new URLSearchParams({
    Action: 'DescribeLaunchTemplateVersions',
    Version: '2016-11-15',
    'LaunchTemplateVersion.1': version
  })
  for (const key of ['LaunchTemplateId', 'LaunchTemplateName']) if (params.has(key)) lookup.set(key, params.get(key)!)
  return caller.send(lookup)
}

/** Puts the data EC2 gave each version made from a SourceVersion in place of what moto kept. */
export function overlayTemplateVersions(caller: Caller, xml: XmlElement): void {
  for (const version of items(xml, 'launchTemplateVersionSet')) overlayTemplateVersion(caller, version)
}

export function overlayTemplateVersion(caller: Caller, version: XmlElement): void {
  const data = caller.state.launchTemplateVersions.get(`${textOf(version, 'launchTemplateId')}#${textOf(version, 'versionNumber')}`)
  if (!data) return
  version.children = version.children.filter((c) => c.name !== 'launchTemplateData')
  version.children.push(cloneXml(data))
}

/** ResolveAlias: a resolve:ssm: image shows as the image the parameter holds now. */
export async function resolveAliases(caller: Caller, versions: XmlElement[]): Promise<void> {
  for (const version of versions) {
    const data = child(version, 'launchTemplateData')
    const alias = /^resolve:ssm:(.+)$/.exec(data ? (textOf(data, 'imageId') ?? '') : '')?.[1]
    if (!data || alias === undefined) continue
    const answer = await caller.ssm('GetParameter', { Name: alias })
    setText(data, 'imageId', String((answer.Parameter as { Value?: string } | undefined)?.Value ?? ''))
  }
}

export function cloneXml(element: XmlElement): XmlElement {
  return { ...element, children: element.children.map(cloneXml) }
}
