// DescribeImages as EC2 answers it: the image states the double decides (pending, failed,
// disabled), new images listed only after a moment, other accounts' images shared with the caller,
// and what moto does not record — creation dates set by tests, a copy's source, the snapshots
// RegisterImage was given, encryption, deprecation, deregistration protection and LastLaunchedTime.
import type { Caller } from '../caller.ts'
import type { Reply } from '../protocol.ts'
import type { DoubleState } from '../state.ts'
import { child, items, leaf, node, setText, textOf, type XmlElement } from '../xml.ts'
import { imageStateAt, isVisibleAt, reportedLastLaunch } from './image-state.ts'
import { snapshotIdsIn } from './lookups.ts'
import { paginated } from './paging.ts'
import { takeFilters } from './requests.ts'
import { withSharedImages } from './shared-images.ts'

/**
 * DescribeImages: pending and failed states, creation dates, encryption, deprecation, protection;
 * other accounts' images shared with the caller (shared-images.ts), which these apply to as to the
 * caller's own. `now` is the moment the answer stands for (SSM's check of a value asks as of
 * when it fell due).
 */
export async function describeImages(caller: Caller, params: URLSearchParams, now = caller.now()): Promise<Reply> {
  // moto filters on its own state (always available), so the state filter applies to ours instead;
  // moto lacks the block-device-mapping.snapshot-id filter.
  const { rest, taken } = takeFilters(params, ['state', 'block-device-mapping.snapshot-id'])
  const states = taken.get('state')
  const snapshots = taken.get('block-device-mapping.snapshot-id')
  // EC2 API Reference, DescribeImages, IncludeDisabled: "Default: No disabled AMIs are included in
  // the response." The double hides them from every describe without it, by id too (stricter).
  const includeDisabled = params.get('IncludeDisabled') === 'true'
  const edit = (element: XmlElement): void => {
    const set = child(element, 'imagesSet')
    if (!set) return
    for (const image of items(element, 'imagesSet')) overlayImage(caller.state, image, now)
    set.children = set.children.filter((image) => {
      if (!isVisibleAt(caller.state, textOf(image, 'imageId') ?? '', now)) return false
      return includeDisabled || textOf(image, 'imageState') !== 'disabled'
    })
    if (states) set.children = set.children.filter((image) => states.includes(textOf(image, 'imageState') ?? ''))
    if (snapshots) set.children = set.children.filter((image) => snapshotIdsIn(image).some((id) => snapshots.includes(id)))
  }
  return paginated(caller, rest, 'imagesSet', edit, false, (asked) => withSharedImages(caller, asked))
}

/** Edits one image of moto's answer into what EC2 would say of it at `now`. */
export function overlayImage(state: DoubleState, image: XmlElement, now: number): void {
  const imageId = textOf(image, 'imageId') ?? ''
  const overlay = state.images.get(imageId)
  // Only the double knows when an image last launched (ImageOverlay.lastLaunchedTime): whatever moto
  // might put there is never shown.
  image.children = image.children.filter((c) => c.name !== 'lastLaunchedTime')
  const launched = reportedLastLaunch(overlay, now)
  if (launched) image.children.push(leaf('lastLaunchedTime', launched))
  if (!overlay) return
  const current = imageStateAt(state, imageId, now)
  if (current) {
    setText(image, 'imageState', current.state)
    if (current.reason)
      image.children.push(node('stateReason', [leaf('code', current.reason.code), leaf('message', current.reason.message)]))
  }
  if (overlay.creationDate) setText(image, 'creationDate', overlay.creationDate)
  for (const [name, value] of Object.entries(overlay.inherited ?? {})) setText(image, name, value)
  if (overlay.sourceImageId && !textOf(image, 'sourceImageId')) {
    image.children.push(leaf('sourceImageId', overlay.sourceImageId), leaf('sourceImageRegion', overlay.sourceImageRegion ?? ''))
  }
  if (overlay.snapshotIds) {
    items(image, 'blockDeviceMapping').forEach((mapping, i) => {
      const ebs = child(mapping, 'ebs')
      const id = overlay.snapshotIds![i]
      if (ebs && id) setText(ebs, 'snapshotId', id)
    })
  }
  if (overlay.deprecationTime) setText(image, 'deprecationTime', overlay.deprecationTime)
  if (overlay.protection) setText(image, 'deregistrationProtection', overlay.protection)
  if (overlay.encrypted) {
    for (const mapping of items(image, 'blockDeviceMapping')) {
      const ebs = child(mapping, 'ebs')
      if (!ebs) continue
      setText(ebs, 'encrypted', 'true')
      if (overlay.kmsKeyId) setText(ebs, 'kmsKeyId', overlay.kmsKeyId)
    }
  }
}
