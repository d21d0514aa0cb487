// publish's inputs: the SSM parameter and the launch templates that point consumers at the images.
import { InputError } from '../errors.ts'
import { TEMPLATE_ID } from '../limits.ts'
import type { InputName, PublishPlan } from './spec.ts'
import { parseBoolean, parseMap, parseRegion } from './values.ts'

/**
 * SSM parameter names (SSM User Guide, "Requirements and constraints for parameter names"):
 * letters, digits and . - _ , with / between the levels of a hierarchy (which must then start with
 * /), at most 15 levels, never beginning with aws or ssm. The 1011-character limit counts the ARN
 * before the name too ("arn:aws-iso-b:ssm:us-isob-east-1:111122223333:parameter" and the like, up
 * to about 60 characters), so names are held to 950.
 */
const PARAMETER = /^[A-Za-z0-9_.\-/]{1,950}$/
const PARAMETER_RULE =
  'expected a parameter name such as /images/web/latest: at most 950 letters, digits, . - _ and / (a name with / starts with /), at most 15 levels, not starting with aws or ssm'

/** EC2 API Reference, CreateLaunchTemplate: names are 3–128 of letters, digits and ( ) . / - _. */
const TEMPLATE_NAME = /^[A-Za-z0-9().\-/_]{3,128}$/
const TEMPLATE_RULE = 'expected a launch template name (3–128 letters, digits and ( ) . / - _) or id (lt- and 17 hexadecimal digits)'

export function readPublish(raw: (name: InputName) => string, releaseRegions: readonly string[]): PublishPlan {
  const parameter = raw('ssm-parameter')
  const templateText = raw('launch-template')
  if (parameter === '' && templateText === '') {
    throw new InputError('ssm-parameter', '', 'publish needs ssm-parameter, launch-template, or both: it has nowhere to publish to')
  }
  const plan: PublishPlan = {
    launchTemplates: readTemplates(templateText, releaseRegions),
    makeDefault: parseBoolean('launch-template-default', raw('launch-template-default'), true)
  }
  if (parameter !== '') plan.ssmParameter = readParameter(parameter)
  return plan
}

function readParameter(name: string): string {
  const bare = name.replace(/^\//, '')
  const levels = name.split('/').filter(Boolean).length
  if (
    !PARAMETER.test(name) ||
    /^(aws|ssm)/i.test(bare) ||
    (name.includes('/') && !name.startsWith('/')) ||
    levels > 15 ||
    name.includes('//')
  ) {
    throw new InputError('ssm-parameter', name, PARAMETER_RULE)
  }
  return name
}

/**
 * One template for every region (by name: an id names a template in one region only), or
 * region=template lines for the regions to publish in.
 */
function readTemplates(text: string, releaseRegions: readonly string[]): Map<string, string> {
  if (text === '') return new Map()
  const lines = text.includes('=') || text.startsWith('{') ? parseMap('launch-template', text) : undefined
  if (!lines) {
    checkTemplate(text, text)
    if (TEMPLATE_ID.test(text) && releaseRegions.length > 1) {
      throw new InputError(
        'launch-template',
        text,
        `a launch template id names one template in one region, and this release has ${releaseRegions.length} (${releaseRegions.join(', ')}): give its name, or region=template lines`
      )
    }
    return new Map(releaseRegions.map((region) => [region, text]))
  }
  for (const [region, template] of lines) {
    parseRegion('launch-template', region)
    checkTemplate(text, template)
    if (!releaseRegions.includes(region)) {
      throw new InputError(
        'launch-template',
        text,
        `it names ${region}, which is not a region of this release (${releaseRegions.join(', ')})`
      )
    }
  }
  return lines
}

function checkTemplate(text: string, template: string): void {
  if (!TEMPLATE_NAME.test(template) && !TEMPLATE_ID.test(template)) throw new InputError('launch-template', text, TEMPLATE_RULE)
}
