// build's inputs: the builder instance, the image's name and description, and what to do when the
// name is taken.
import { InputError } from '../errors.ts'
import type { BuildPlan, InputName } from './spec.ts'
import { INSTANCE_ID, parseBoolean } from './values.ts'

const NAME_RULE = "expected 3 to 128 characters of letters, digits, spaces and ( ) [ ] . / - ' @ _"

export function readBuild(raw: (name: InputName) => string): BuildPlan {
  const instanceId = raw('instance-id')
  if (!INSTANCE_ID.test(instanceId)) {
    throw new InputError('instance-id', instanceId, 'build needs the builder instance: i- followed by 8 or 17 hexadecimal digits')
  }
  const name = raw('name')
  if (!/^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/.test(name)) throw new InputError('name', name, NAME_RULE)
  const description = raw('description')
  if (description.length > 255) {
    throw new InputError('description', description, `expected at most 255 characters; it has ${description.length}`)
  }
  const ifExists = raw('if-exists').toLowerCase() || 'fail'
  if (ifExists !== 'fail' && ifExists !== 'reuse' && ifExists !== 'replace') {
    throw new InputError(
      'if-exists',
      raw('if-exists'),
      'expected fail, reuse, or replace (deregister the existing image and its snapshots first, refused if it is in use or protected)'
    )
  }
  return { instanceId, name, description, noReboot: parseBoolean('no-reboot', raw('no-reboot'), false), ifExists }
}
