// The images a step is given (image-id, image-ids) instead of building one, and which modes need one.
import { InputError } from '../errors.ts'
import type { InputName, Mode } from './spec.ts'
import { parseImageId, parseMap, parseRegion } from './values.ts'

export function readGivenImages(
  raw: (name: InputName) => string,
  region: string,
  modes: ReadonlySet<Mode>,
  accountImagesGiven = false
): Map<string, string> {
  const images = new Map<string, string>()
  const idsText = raw('image-ids')
  for (const [imageRegion, id] of parseMap('image-ids', idsText)) {
    parseRegion('image-ids', imageRegion)
    images.set(imageRegion, parseImageId('image-ids', id))
  }
  const idText = raw('image-id')
  if (idText !== '') {
    const id = parseImageId('image-id', idText)
    const listed = images.get(region)
    if (listed !== undefined && listed !== id) {
      throw new InputError('image-ids', idsText, `it names ${listed} in ${region}, but image-id is ${id}: give one or make them agree`)
    }
    images.set(region, id)
  }
  if (modes.has('build') && images.size > 0) {
    const input = idText !== '' ? 'image-id' : 'image-ids'
    throw new InputError(input, raw(input), 'build makes the source image, so image-id and image-ids are not used with it')
  }
  const needsImage = ['wait', 'tag', 'copy', 'publish'].some((mode) => modes.has(mode as Mode))
  // account-image-ids alone is enough: a step may publish (or roll back) only in the target accounts.
  if (needsImage && !modes.has('build') && images.size === 0 && !accountImagesGiven) {
    throw new InputError(
      'image-id',
      '',
      'wait, tag, copy and publish need an image: run build in the same step, or give image-id or image-ids'
    )
  }
  if (modes.has('copy') && !modes.has('build') && !images.has(region)) {
    throw new InputError('image-id', idText, `copy needs the source image in region ${region}: give image-id, or image-ids with ${region}`)
  }
  return images
}
