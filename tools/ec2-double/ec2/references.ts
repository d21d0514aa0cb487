// DescribeImageReferences, which moto lacks: what uses an image — instances, launch template
// versions, SSM parameters — so that code can tell whether an image is still in use.
import type { Caller } from '../caller.ts'
import { FrontError, okBody, type Reply } from '../protocol.ts'
import { child, items, leaf, node, textOf } from '../xml.ts'
import { overlayTemplateVersions } from './launch-templates.ts'

interface Reference {
  imageId: string
  resourceType: string
  arn: string
}

/** What the request asks: the images, and which resource types with which options. */
interface Asked {
  imageIds: Set<string>
  all: boolean
  /** Per resource type (`ec2:Instance`) and option (`ec2:LaunchTemplate:version-depth`), the values given. */
  types: Map<string, string[] | undefined>
  /** ResourceTypeOption version-depth: the newest versions of each launch template to look at. */
  depth: number
}

/**
 * DescribeImageReferences (EC2 API Reference; EC2 User Guide, "Identify your resources referencing
 * specified AMIs"): the instances, launch template versions and SSM parameters that use the images,
 * of the resource types asked.
 */
export async function describeImageReferences(caller: Caller, params: URLSearchParams): Promise<Reply> {
  if (caller.options.imageReferences === false) {
    throw new FrontError(403, 'UnauthorizedOperation', 'You are not authorized to perform this operation. (ec2:DescribeImageReferences)')
  }
  const asked = readRequest(params)
  const wants = (type: string): boolean => asked.all || asked.types.has(type)
  const found: Reference[] = [
    ...(wants('ec2:Instance') ? await instanceReferences(caller, asked.all ? undefined : asked.types.get('ec2:Instance')) : []),
    ...(wants('ec2:LaunchTemplate') ? await templateReferences(caller, asked.depth) : []),
    ...(wants('ssm:Parameter') ? await parameterReferences(caller) : [])
  ]
  const references = found
    .filter((reference) => asked.imageIds.has(reference.imageId))
    .map((r) => node('item', [leaf('imageId', r.imageId), leaf('resourceType', r.resourceType), leaf('arn', r.arn)]))
  return { status: 200, body: okBody('DescribeImageReferences', [node('imageReferenceSet', references)]) }
}

function readRequest(params: URLSearchParams): Asked {
  const imageIds = new Set([...params].filter(([key]) => /^ImageId\.\d+$/.test(key)).map(([, value]) => value))
  if (imageIds.size > 10)
    throw new FrontError(400, 'InvalidParameterValue', `ImageIds takes at most 10 image ids; ${imageIds.size} were given.`)
  const all = params.get('IncludeAllResourceTypes') === 'true'
  const types = new Map<string, string[] | undefined>()
  for (const [key, value] of params) {
    const match = /^ResourceType\.(\d+)\.ResourceType$/.exec(key)
    if (!match) continue
    const prefix = `ResourceType.${match[1]}.ResourceTypeOption.`
    for (const [k, optionName] of params) {
      const option = new RegExp(`^${prefix.replace(/\./g, '\\.')}(\\d+)\\.OptionName$`).exec(k)
      if (!option) continue
      const values = [...params].filter(([v]) => v.startsWith(`${prefix}${option[1]}.OptionValue.`)).map(([, v]) => v)
      types.set(optionName === 'state-name' ? value : `${value}:${optionName}`, values)
    }
    if (!types.has(value)) types.set(value, undefined)
  }
  if (!all && types.size === 0)
    throw new FrontError(400, 'MissingParameter', 'Either IncludeAllResourceTypes or ResourceTypes must be specified.')
  // ResourceTypeOption: "version-depth ... Valid values: Integers between 1 and 10000. Default: 10",
  // counted from the most recent version (EC2 User Guide, "Identify your resources referencing
  // specified AMIs").
  const depthText = types.get('ec2:LaunchTemplate:version-depth')?.[0]
  const depth = depthText === undefined ? 10 : Number(depthText)
  if (!Number.isInteger(depth) || depth < 1 || depth > 10_000)
    throw new FrontError(400, 'InvalidParameterValue', `version-depth must be an integer from 1 to 10000; got ${depthText}.`)
  return { imageIds, all, types, depth }
}

/** Instances in the states asked (without state-name options EC2 counts every state, terminated included). */
async function instanceReferences(caller: Caller, states: string[] | undefined): Promise<Reference[]> {
  const instances = await caller.moto('DescribeInstances', { MaxResults: '1000000' })
  return items(instances, 'reservationSet').flatMap((reservation) =>
    items(reservation, 'instancesSet')
      .filter((instance) => !states || states.includes(textOf(child(instance, 'instanceState') ?? leaf('x', ''), 'name') ?? ''))
      .map((instance) => ({
        imageId: textOf(instance, 'imageId') ?? '',
        resourceType: 'ec2:Instance',
        arn: caller.arn('ec2', `instance/${textOf(instance, 'instanceId')}`)
      }))
  )
}

/** The newest `depth` versions of every launch template, by their literal image. */
async function templateReferences(caller: Caller, depth: number): Promise<Reference[]> {
  const templates = await caller.moto('DescribeLaunchTemplates', { MaxResults: '1000000' })
  const references: Reference[] = []
  for (const template of items(templates, 'launchTemplates')) {
    const id = textOf(template, 'launchTemplateId') ?? ''
    const listed = await caller.moto('DescribeLaunchTemplateVersions', { LaunchTemplateId: id })
    overlayTemplateVersions(caller, listed)
    const versions = items(listed, 'launchTemplateVersionSet')
    const newest = versions.sort((a, b) => Number(textOf(b, 'versionNumber')) - Number(textOf(a, 'versionNumber'))).slice(0, depth)
    for (const version of newest) {
      references.push({
        imageId: textOf(child(version, 'launchTemplateData') ?? leaf('x', ''), 'imageId') ?? '',
        resourceType: 'ec2:LaunchTemplate',
        arn: caller.arn('ec2', `launch-template/${id}`)
      })
    }
  }
  return references
}

/**
 * ssm:Parameter: which parameters count is not documented (EC2 User Guide, "Identify your
 * resources referencing specified AMIs"), nor whether a launch template's resolve:ssm: image is
 * resolved. The double takes the narrowest reading — only parameters of data type aws:ec2:image
 * whose value is the image, and launch templates by their literal image — so code that leans on
 * references is never given more than EC2 promises.
 */
async function parameterReferences(caller: Caller): Promise<Reference[]> {
  // Every page: moto serves DescribeParameters 10 at a time whatever MaxResults says.
  const names: string[] = []
  let nextToken: string | undefined
  do {
    const listed = await caller.ssm('DescribeParameters', { MaxResults: 50, ...(nextToken && { NextToken: nextToken }) })
    names.push(...((listed.Parameters as { Name: string }[] | undefined) ?? []).map((parameter) => parameter.Name))
    nextToken = typeof listed.NextToken === 'string' && listed.NextToken ? listed.NextToken : undefined
  } while (nextToken !== undefined)
  const references: Reference[] = []
  for (let at = 0; at < names.length; at += 10) {
    const found = await caller.ssm('GetParameters', { Names: names.slice(at, at + 10) })
    for (const parameter of (found.Parameters as { Name: string; Value: string; DataType?: string }[] | undefined) ?? []) {
      if (parameter.DataType !== 'aws:ec2:image') continue
      references.push({
        imageId: parameter.Value,
        resourceType: 'ssm:Parameter',
        arn: caller.arn('ssm', `parameter${parameter.Name.startsWith('/') ? '' : '/'}${parameter.Name}`)
      })
    }
  }
  return references
}
