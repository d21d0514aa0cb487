// DisableImage and EnableImage: moto keeps a disabled image's launch permissions and has no
// disabled state; the double keeps the state (ImageOverlay.disabled) and takes the permissions away.
import type { Caller } from '../caller.ts'
import { FrontError, type Reply } from '../protocol.ts'
import { items, textOf } from '../xml.ts'
import { setAttribute } from './image-attributes.ts'
import { imageStateAt } from './image-state.ts'

/**
 * DisableImage (EC2 API Reference; EC2 User Guide, "Disable an AMI"): "Sets the AMI state to
 * disabled and removes all launch permissions from the AMI ... If an AMI was public or previously
 * shared, it is made private. If an AMI was shared with an AWS account, organization, or
 * Organizational Unit, they lose access". Re-enabling does not give them back ("do not regain access
 * automatically"). moto keeps them, so the double removes them.
 */
export async function disableImage(caller: Caller, params: URLSearchParams): Promise<Reply> {
  // EC2 documents disabling an AMI that can launch instances, not one still being made or one that
  // failed: the double refuses those (IncorrectState), the strict reading.
  const launchable = (imageId: string): void => {
    const state = imageStateAt(caller.state, imageId, caller.now())?.state
    if (state === 'pending' || state === 'failed')
      throw new FrontError(400, 'IncorrectState', `Image ${imageId} is ${state}: only an available image can be disabled.`)
  }
  const reply = await setAttribute(caller, params, 'DisableImage', (image) => void (image.disabled = true), launchable)
  const imageId = params.get('ImageId') ?? ''
  const found = await caller.moto('DescribeImageAttribute', { ImageId: imageId, Attribute: 'launchPermission' })
  const remove: Record<string, string> = {}
  items(found, 'launchPermission').forEach((permission, i) => {
    for (const [element, name] of [
      ['userId', 'UserId'],
      ['group', 'Group'],
      ['organizationArn', 'OrganizationArn'],
      ['organizationalUnitArn', 'OrganizationalUnitArn']
    ] as const) {
      const value = textOf(permission, element)
      if (value) remove[`LaunchPermission.Remove.${i + 1}.${name}`] = value
    }
  })
  if (Object.keys(remove).length > 0) await caller.moto('ModifyImageAttribute', { ImageId: imageId, ...remove })
  return reply
}

/**
 * EC2 API Reference, EnableImage: "Re-enables a disabled AMI." What EC2 answers for an image that
 * is not disabled is not documented; the double refuses it (IncorrectState, "The resource is in an
 * incorrect state for the request"), the strict reading, so code never leans on a no-op.
 */
export function enableImage(caller: Caller, params: URLSearchParams): Promise<Reply> {
  return setAttribute(
    caller,
    params,
    'EnableImage',
    (image) => void (image.disabled = false),
    (imageId) => {
      if (!caller.state.images.get(imageId)?.disabled)
        throw new FrontError(400, 'IncorrectState', `Image ${imageId} is not disabled, so it cannot be re-enabled.`)
    }
  )
}
