import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import { parse } from 'yaml'
import { INPUTS } from '../../src/inputs/index.ts'
import { BAD_INPUTS } from '../support/bad-inputs.ts'
import { planOf as plan } from '../support/step.ts'

const INSTANCE = 'i-0123456789abcdef0'
const IMAGE = 'ami-0123456789abcdef0'

describe('action.yml', () => {
  const action = parse(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
    inputs: Record<string, { default?: string; description: string }>
    runs: { using: string; main: string }
  }

  it('declares every input the code reads, with the same default', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.keys(INPUTS).sort())
    for (const [name, spec] of Object.entries(INPUTS)) expect([name, action.inputs[name]?.default ?? '']).toEqual([name, spec.default])
  })

  it('runs the bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
  })
})

describe('readPlan', () => {
  it('reads a build, copy and wait step into one typed plan', () => {
    const result = plan({
      mode: 'wait copy,build',
      'instance-id': INSTANCE,
      name: 'web 1.2.3',
      regions: 'us-west-2 eu-west-1',
      tags: 'Team=web'
    })
    expect([...result.modes]).toEqual(['wait', 'copy', 'build'])
    expect(result.region).toBe('us-east-1')
    expect(result.build).toEqual({ instanceId: INSTANCE, name: 'web 1.2.3', description: '', noReboot: false, ifExists: 'fail' })
    expect(result.copy?.regions).toEqual(['us-west-2', 'eu-west-1'])
    expect(result.waitTimeoutMs).toBe(60 * 60_000)
    expect(result.tags).toEqual(new Map([['Team', 'web']]))
  })

  it.each([
    'us-east-1',
    'ap-southeast-7',
    'mx-central-1',
    'cn-northwest-1',
    'us-gov-west-1',
    'us-iso-east-1',
    'us-isob-east-1',
    'us-isof-south-1',
    'eu-isoe-west-1',
    'eusc-de-east-1'
  ])('accepts %s, a region of one of the partitions the AWS SDK knows', (region) => {
    expect(
      plan({ mode: 'copy', region, 'image-id': 'ami-0123456789abcdef0', regions: region === 'us-east-1' ? 'us-west-2' : 'us-east-1' })
        .region
    ).toBe(region)
  })

  it('encrypts copies unless encrypted is unset or false with no key, and takes a key as meaning encrypted', () => {
    const encryption = (given: Record<string, string>) =>
      Object.fromEntries(plan({ mode: 'copy', 'image-id': 'ami-0123456789abcdef0', regions: 'us-west-2', ...given }).copy!.encryption)
    expect(encryption({})).toEqual({ 'us-west-2': { encrypted: false } })
    expect(encryption({ encrypted: 'false' })).toEqual({ 'us-west-2': { encrypted: false } })
    expect(encryption({ encrypted: 'true' })).toEqual({ 'us-west-2': { encrypted: true } })
    expect(encryption({ 'kms-key-id': 'alias/images' })).toEqual({ 'us-west-2': { encrypted: true, kmsKeyId: 'alias/images' } })
  })

  it('falls back to AWS_DEFAULT_REGION when region and AWS_REGION are unset', () => {
    expect(plan({ mode: 'wait', 'image-id': IMAGE }, { AWS_DEFAULT_REGION: 'eu-central-1' }).region).toBe('eu-central-1')
  })

  it('gives each copy region its own key, the shared key, or the encrypted flag', () => {
    const copy = plan({
      mode: 'copy',
      'image-id': IMAGE,
      regions: 'us-east-1 us-west-2 eu-west-1 ap-south-1',
      'kms-key-id': 'alias/images',
      'kms-key-ids': 'eu-west-1=arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    }).copy!
    expect(Object.fromEntries(copy.encryption)).toEqual({
      'us-west-2': { encrypted: true, kmsKeyId: 'alias/images' },
      'eu-west-1': { encrypted: true, kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      'ap-south-1': { encrypted: true, kmsKeyId: 'alias/images' }
    })
  })

  it('takes image-ids from an earlier step as the images to wait for', () => {
    const result = plan({ mode: 'wait', 'image-ids': JSON.stringify({ 'us-east-1': IMAGE, 'eu-west-1': 'ami-0fedcba9876543210' }) })
    expect(Object.fromEntries(result.givenImages)).toEqual({ 'us-east-1': IMAGE, 'eu-west-1': 'ami-0fedcba9876543210' })
  })

  it('reads sharing, deprecation and protection for tag', () => {
    const result = plan({
      mode: 'tag',
      'image-id': IMAGE,
      'share-accounts': '111122223333, 444455556666',
      'share-organizations': 'arn:aws:organizations::111122223333:organization/o-abcdefghij',
      'share-organizational-units': 'arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-ab12-abcdefgh',
      'deprecate-after': '180d',
      'deregistration-protection': 'true'
    })
    expect(result.tag?.share).toEqual({
      shareAccounts: ['111122223333', '444455556666'],
      shareOrganizations: ['arn:aws:organizations::111122223333:organization/o-abcdefghij'],
      shareOrganizationalUnits: ['arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-ab12-abcdefgh'],
      deprecateAfterMs: 180 * 86_400_000,
      deregistrationProtection: true,
      shareSnapshots: false
    })
  })

  it('reads publish: one template name for every region of the release, or region=template lines for some', () => {
    const everywhere = plan({
      mode: 'build copy publish',
      'instance-id': INSTANCE,
      name: 'web-2',
      regions: 'us-west-2',
      'launch-template': 'web'
    })
    expect(everywhere.publish).toEqual({
      launchTemplates: new Map([
        ['us-east-1', 'web'],
        ['us-west-2', 'web']
      ]),
      makeDefault: true
    })
    const some = plan({
      mode: 'publish',
      'image-ids': '{"us-east-1": "ami-0123456789abcdef0", "eu-west-1": "ami-0fedcba9876543210"}',
      'launch-template': 'eu-west-1=lt-0123456789abcdef0',
      'ssm-parameter': '/images/web/latest',
      'launch-template-default': 'false'
    })
    expect(some.publish).toEqual({
      ssmParameter: '/images/web/latest',
      launchTemplates: new Map([['eu-west-1', 'lt-0123456789abcdef0']]),
      makeDefault: false
    })
  })

  it('reads staged retirement: retire and unused-for', () => {
    const result = plan({ mode: 'prune', 'prune-name': 'web-*', retire: 'Disable', 'unused-for': '90d' })
    expect(result.prune).toMatchObject({ retire: 'disable', unusedForMs: 90 * 86_400_000 })
    expect(plan({ mode: 'prune', 'prune-name': 'web-*', 'only-disabled': 'TRUE' }).prune).toMatchObject({
      retire: 'deregister',
      onlyDisabled: true
    })
  })

  it('reads a time-based copy in minutes', () => {
    expect(plan({ mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'copy-completion-duration': '2h' }).copy?.completionMinutes).toBe(
      120
    )
  })

  it('defaults prune regions to the source region plus regions', () => {
    const result = plan({ mode: 'build copy prune', 'instance-id': INSTANCE, name: 'web-2', regions: 'us-west-2', 'prune-name': 'web-*' })
    expect(result.prune).toEqual({
      regions: ['us-east-1', 'us-west-2'],
      name: 'web-*',
      tags: new Map(),
      keep: 3,
      olderThanMs: 0,
      deleteSnapshots: true,
      maxDeletions: 100,
      retire: 'deregister',
      onlyDisabled: false,
      snapshotPrice: new Map([
        ['us-east-1', 0.05],
        ['us-west-2', 0.05]
      ])
    })
  })

  it('reads snapshot-price per prune region, and refuses a region without a price', () => {
    const given = { mode: 'prune', 'prune-name': 'web-*', 'prune-regions': 'us-east-1 eu-west-1' }
    expect(plan({ ...given, 'snapshot-price': 'us-east-1=0.05\neu-west-1=0.055' }).prune?.snapshotPrice).toEqual(
      new Map([
        ['us-east-1', 0.05],
        ['eu-west-1', 0.055]
      ])
    )
    expect(() => plan({ ...given, 'snapshot-price': 'us-east-1=0.05' })).toThrow(
      /Input 'snapshot-price' has the value 'us-east-1=0.05': it gives no price for eu-west-1/
    )
    expect(() => plan({ ...given, 'snapshot-price': 'cheap' })).toThrow(
      /Input 'snapshot-price' has the value 'cheap': 'cheap' is not a price/
    )
  })
})

describe('bad input', () => {
  it('names every bad input at once, each on its own line', () => {
    expect(() =>
      plan({
        mode: 'copy, prune',
        'image-id': 'ami-0123456789abcdef0',
        regions: 'us-west-2',
        encrypted: 'maybe',
        keep: '-1',
        'prune-name': 'web-*',
        'instance-id': 'i-1'
      })
    ).toThrow(
      /^3 inputs are refused:\n- Input 'instance-id' .*it applies to mode build.*\n- Input 'encrypted' has the value 'maybe': expected true or false\n- Input 'keep' has the value '-1'/
    )
  })

  it.each(BAD_INPUTS)('refuses %s, naming the input, the value and what is accepted', (_, given, message) => {
    expect(() => plan(given)).toThrow(message)
  })

  it('has no region at all', () => {
    expect(() => plan({ mode: 'prune', 'prune-name': 'x' }, {})).toThrow(/Input 'region' has no value: expected a region/)
  })
})
