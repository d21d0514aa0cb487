// Bad values for every input, each with the message it must produce: the message names the input
// and the value, and says what is accepted. Used in-process and against the bundle.
import type { InputName } from '../../src/inputs/index.ts'

const INSTANCE = 'i-0123456789abcdef0'
const IMAGE = 'ami-0123456789abcdef0'

export const BAD_INPUTS: [string, Partial<Record<InputName, string>>, RegExp][] = [
  ['no mode', { mode: '' }, /Input 'mode' has no value: expected one or more of build, copy, wait, tag, publish, prune/],
  ['an unknown mode', { mode: 'build, deploy' }, /Input 'mode' .*'deploy' is not a mode/],
  [
    'a bad region',
    { mode: 'prune', 'prune-name': 'x*', region: 'US-EAST-1' },
    /Input 'region' has the value 'US-EAST-1': expected an AWS region code/
  ],
  ['build without instance-id', { mode: 'build', name: 'web-1' }, /Input 'instance-id' has no value: build needs the builder instance/],
  ['a malformed instance id', { mode: 'build', name: 'web-1', 'instance-id': 'i-123' }, /Input 'instance-id' has the value 'i-123'/],
  ['a short name', { mode: 'build', 'instance-id': INSTANCE, name: 'ab' }, /Input 'name' has the value 'ab': expected 3 to 128 characters/],
  ['a name with a bad character', { mode: 'build', 'instance-id': INSTANCE, name: 'web#1' }, /Input 'name' has the value 'web#1'/],
  ['a long name', { mode: 'build', 'instance-id': INSTANCE, name: 'n'.repeat(129) }, /Input 'name'.*3 to 128 characters/],
  [
    'a long description',
    { mode: 'build', 'instance-id': INSTANCE, name: 'web-1', description: 'd'.repeat(256) },
    /Input 'description'.*at most 255 characters; it has 256/
  ],
  [
    'a bad if-exists',
    { mode: 'build', 'instance-id': INSTANCE, name: 'web-1', 'if-exists': 'overwrite' },
    /Input 'if-exists' has the value 'overwrite': expected fail, reuse, or replace/
  ],
  [
    'a bad no-reboot',
    { mode: 'build', 'instance-id': INSTANCE, name: 'web-1', 'no-reboot': 'yes' },
    /Input 'no-reboot' has the value 'yes': expected true or false/
  ],
  [
    'image-id with build',
    { mode: 'build, wait', 'instance-id': INSTANCE, name: 'web-1', 'image-id': IMAGE },
    /Input 'image-id'.*build makes the source image/
  ],
  ['wait with no image', { mode: 'wait' }, /Input 'image-id' has no value: wait, tag, copy and publish need an image/],
  ['publish with no image', { mode: 'publish', 'ssm-parameter': '/images/web' }, /Input 'image-id' has no value: .*publish need an image/],
  [
    'publish with nowhere to publish',
    { mode: 'publish', 'image-id': IMAGE },
    /Input 'ssm-parameter' has no value: publish needs ssm-parameter, launch-template, or both/
  ],
  [
    'an SSM parameter name with a bad character',
    { mode: 'publish', 'image-id': IMAGE, 'ssm-parameter': '/images/web latest' },
    /Input 'ssm-parameter' has the value '\/images\/web latest': expected a parameter name/
  ],
  [
    'an SSM parameter name in the aws namespace',
    { mode: 'publish', 'image-id': IMAGE, 'ssm-parameter': '/aws/service/x' },
    /Input 'ssm-parameter'.*not starting with aws or ssm/
  ],
  [
    'a hierarchical SSM parameter name without a leading slash',
    { mode: 'publish', 'image-id': IMAGE, 'ssm-parameter': 'images/web' },
    /Input 'ssm-parameter' has the value 'images\/web'/
  ],
  [
    'an SSM parameter name 16 levels deep',
    { mode: 'publish', 'image-id': IMAGE, 'ssm-parameter': '/a'.repeat(16) },
    /Input 'ssm-parameter'.*at most 15 levels/
  ],
  [
    'a bad launch template name',
    { mode: 'publish', 'image-id': IMAGE, 'launch-template': 'web template' },
    /Input 'launch-template' has the value 'web template': expected a launch template name/
  ],
  [
    'one launch template id for several regions',
    {
      mode: 'publish',
      'image-ids': '{"us-east-1": "ami-0123456789abcdef0", "eu-west-1": "ami-0fedcba9876543210"}',
      'launch-template': 'lt-0123456789abcdef0'
    },
    /Input 'launch-template'.*names one template in one region, and this release has 2/
  ],
  [
    'a launch template for a region outside the release',
    { mode: 'publish', 'image-id': IMAGE, 'launch-template': 'eu-west-1=web' },
    /Input 'launch-template'.*names eu-west-1, which is not a region of this release \(us-east-1\)/
  ],
  [
    'a bad launch-template-default',
    { mode: 'publish', 'image-id': IMAGE, 'launch-template': 'web', 'launch-template-default': 'maybe' },
    /Input 'launch-template-default' has the value 'maybe'/
  ],
  [
    'ssm-parameter without publish',
    { mode: 'tag', 'image-id': IMAGE, 'ssm-parameter': '/images/web' },
    /Input 'ssm-parameter'.*applies to mode publish/
  ],
  ['a malformed image id', { mode: 'wait', 'image-id': 'ami-xyz' }, /Input 'image-id' has the value 'ami-xyz': expected an image id/],
  ['image-ids that is not a map', { mode: 'wait', 'image-ids': '["ami-0123456789abcdef0"]' }, /Input 'image-ids'.*JSON object/],
  [
    'image-ids with a bad region',
    { mode: 'wait', 'image-ids': '{"moon-1": "ami-0123456789abcdef0"}' },
    /Input 'image-ids' has the value 'moon-1'/
  ],
  [
    'image-id and image-ids that disagree',
    { mode: 'wait', 'image-id': IMAGE, 'image-ids': '{"us-east-1": "ami-0fedcba9876543210"}' },
    /Input 'image-ids'.*give one or make them agree/
  ],
  [
    'copy without the source region image',
    { mode: 'copy', 'image-ids': '{"eu-west-1": "ami-0123456789abcdef0"}', regions: 'us-west-2' },
    /Input 'image-id'.*copy needs the source image in region us-east-1/
  ],
  ['copy without regions', { mode: 'copy', 'image-id': IMAGE }, /Input 'regions' has no value: copy needs destination regions/],
  ['a bad destination region', { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2 mars' }, /Input 'regions' has the value 'mars'/],
  [
    'a bad encrypted',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', encrypted: 'maybe' },
    /Input 'encrypted' has the value 'maybe'/
  ],
  [
    'a malformed KMS key',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'kms-key-id': 'my key' },
    /Input 'kms-key-id'.*'my key' is not a KMS key/
  ],
  [
    'a KMS key ARN from another region',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'kms-key-id': 'arn:aws:kms:eu-west-1:111122223333:alias/images' },
    /Input 'kms-key-id'.*is in eu-west-1, but the copy to us-west-2 needs a key in us-west-2/
  ],
  [
    'kms-key-ids for a region not copied to',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'kms-key-ids': 'eu-west-1=alias/images' },
    /Input 'kms-key-ids'.*names eu-west-1, which is not in regions/
  ],
  [
    'kms-key-ids for the source region, which is never copied to',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-east-1, us-west-2', 'kms-key-ids': 'us-east-1=alias/images' },
    /Input 'kms-key-ids'.*names us-east-1, the source region, which is not copied to/
  ],
  [
    'encrypted: false with kms-key-id',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', encrypted: 'false', 'kms-key-id': 'alias/images' },
    /Input 'encrypted' has the value 'false': kms-key-id names a KMS key, which encrypts the copies/
  ],
  [
    'encrypted: false with kms-key-ids',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', encrypted: 'False', 'kms-key-ids': 'us-west-2=alias/images' },
    /Input 'encrypted' has the value 'False': kms-key-ids names a KMS key/
  ],
  [
    'kms-key-ids without region=key',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'kms-key-ids': 'alias/images' },
    /Input 'kms-key-ids'.*'alias\/images' has no region: give region=key, or the key's ARN/
  ],
  ['tags with aws: prefix', { mode: 'tag', 'image-id': IMAGE, tags: 'aws:owner=me' }, /Input 'tags'.*may not start with 'aws:'/],
  ['tags as malformed JSON', { mode: 'tag', 'image-id': IMAGE, tags: '{"a": 1' }, /Input 'tags'.*JSON does not parse/],
  [
    'too many tags with provenance',
    { mode: 'tag', 'image-id': IMAGE, tags: Array.from({ length: 45 }, (_, i) => `k${i}=v`).join('\n') },
    /Input 'tags'.*provenance-tags adds up to 8/
  ],
  ['a bad provenance-tags', { mode: 'tag', 'image-id': IMAGE, 'provenance-tags': 'no' }, /Input 'provenance-tags' has the value 'no'/],
  [
    'a wait-timeout without unit',
    { mode: 'wait', 'image-id': IMAGE, 'wait-timeout': '30' },
    /Input 'wait-timeout' has the value '30': expected a whole number with a unit/
  ],
  ['a bad dry-run', { mode: 'wait', 'image-id': IMAGE, 'dry-run': 'sure' }, /Input 'dry-run' has the value 'sure'/],
  [
    'a prune-name of wildcards only',
    { mode: 'prune', 'prune-name': '*' },
    /Input 'prune-name' has the value '\*': a pattern made only of wildcards matches every image name/
  ],
  [
    'prune-tags with two pairs on one line',
    { mode: 'prune', 'prune-tags': 'App=web, Env=prod' },
    /Input 'prune-tags' .*one key=value pair per line: 'App=web, Env=prod' reads as App = 'web, Env=prod', swallowing 'Env='/
  ],
  [
    'tags with two pairs on one line',
    { mode: 'build', 'instance-id': INSTANCE, name: 'web-1', tags: 'App=web, Version=1' },
    /Input 'tags' .*one key=value pair per line/
  ],
  ['prune without selectors', { mode: 'prune' }, /Input 'prune-name' has no value: prune needs prune-name or prune-tags/],
  ['a prune-name with a bad character', { mode: 'prune', 'prune-name': 'web%' }, /Input 'prune-name' has the value 'web%'/],
  ['prune-tags without =', { mode: 'prune', 'prune-tags': 'Team' }, /Input 'prune-tags'.*key=value/],
  [
    'a negative keep',
    { mode: 'prune', 'prune-name': 'web-*', keep: '-1' },
    /Input 'keep' has the value '-1': expected a whole number from 0 to 1000/
  ],
  ['a fractional keep', { mode: 'prune', 'prune-name': 'web-*', keep: '2.5' }, /Input 'keep'/],
  ['a bad older-than', { mode: 'prune', 'prune-name': 'web-*', 'older-than': '3 weeks' }, /Input 'older-than' has the value '3 weeks'/],
  [
    'max-deletions of 0',
    { mode: 'prune', 'prune-name': 'web-*', 'max-deletions': '0' },
    /Input 'max-deletions' has the value '0': expected a whole number from 1/
  ],
  ['a bad delete-snapshots', { mode: 'prune', 'prune-name': 'web-*', 'delete-snapshots': 'y' }, /Input 'delete-snapshots'/],
  [
    'a bad prune region',
    { mode: 'prune', 'prune-name': 'web-*', 'prune-regions': 'us-east-1 nowhere' },
    /Input 'prune-regions' has the value 'nowhere'/
  ],
  [
    'a copy input without copy',
    { mode: 'build', 'instance-id': INSTANCE, name: 'web-1', regions: 'us-west-2' },
    /Input 'regions' .*applies to mode copy or prune, and this step runs build/
  ],
  ['a build input without build', { mode: 'wait', 'image-id': IMAGE, 'no-reboot': 'true' }, /Input 'no-reboot' .*applies to mode build/],
  ['a prune input without prune', { mode: 'wait', 'image-id': IMAGE, keep: '5' }, /Input 'keep' .*applies to mode prune/],
  [
    'sharing with all',
    { mode: 'tag', 'image-id': IMAGE, 'share-accounts': 'all' },
    /Input 'share-accounts' has the value 'all'.*never makes an image public/
  ],
  [
    'sharing with a wildcard',
    { mode: 'tag', 'image-id': IMAGE, 'share-accounts': '1111*' },
    /Input 'share-accounts'.*wildcards are refused/
  ],
  [
    'a short account id',
    { mode: 'tag', 'image-id': IMAGE, 'share-accounts': '12345678901' },
    /Input 'share-accounts' has the value '12345678901': expected 12-digit/
  ],
  [
    'an organization that is an OU',
    { mode: 'tag', 'image-id': IMAGE, 'share-organizations': 'arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-ab12-abcdefgh' },
    /Input 'share-organizations'.*organization ARNs/
  ],
  [
    'a malformed OU',
    { mode: 'tag', 'image-id': IMAGE, 'share-organizational-units': 'ou-ab12-abcdefgh' },
    /Input 'share-organizational-units'.*OU ARNs/
  ],
  [
    'a deprecation beyond 10 years',
    { mode: 'tag', 'image-id': IMAGE, 'deprecate-after': '4000d' },
    /Input 'deprecate-after'.*from 1m to 10 years/
  ],
  ['a deprecation of zero', { mode: 'tag', 'image-id': IMAGE, 'deprecate-after': '0s' }, /Input 'deprecate-after'/],
  [
    'a bad deregistration-protection',
    { mode: 'tag', 'image-id': IMAGE, 'deregistration-protection': 'on' },
    /Input 'deregistration-protection' has the value 'on'/
  ],
  [
    'sharing without tag',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'share-accounts': '111122223333' },
    /Input 'share-accounts'.*applies to mode tag/
  ],
  [
    'a completion time off the 15-minute steps',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'copy-completion-duration': '20m' },
    /Input 'copy-completion-duration' has the value '20m': expected a duration in 15-minute steps/
  ],
  [
    'a completion time over 48 hours',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'copy-completion-duration': '49h' },
    /Input 'copy-completion-duration'/
  ],
  [
    'share-snapshots with an organization',
    {
      mode: 'tag',
      'image-id': IMAGE,
      'share-accounts': '111122223333',
      'share-organizations': 'arn:aws:organizations::111122223333:organization/o-exampleorgid',
      'share-snapshots': 'true'
    },
    /Input 'share-snapshots' has the value 'true': snapshots can be shared with accounts only, not with organizations or OUs/
  ],
  [
    'share-snapshots without accounts',
    { mode: 'tag', 'image-id': IMAGE, 'share-snapshots': 'true' },
    /Input 'share-snapshots'.*none are given/
  ],
  [
    'a bad share-snapshots',
    { mode: 'tag', 'image-id': IMAGE, 'share-accounts': '111122223333', 'share-snapshots': 'all' },
    /Input 'share-snapshots' has the value 'all'/
  ],
  [
    'a bad retire',
    { mode: 'prune', 'prune-name': 'web-*', retire: 'delete' },
    /Input 'retire' has the value 'delete': expected deregister .*, disable .* or deprecate/
  ],
  [
    'unused-for under a day',
    { mode: 'prune', 'prune-name': 'web-*', 'unused-for': '12h' },
    /Input 'unused-for' has the value '12h': expected at least 1d/
  ],
  [
    'a malformed unused-for',
    { mode: 'prune', 'prune-name': 'web-*', 'unused-for': 'ninety days' },
    /Input 'unused-for' has the value 'ninety days'/
  ],
  [
    'only-disabled with retire: disable',
    { mode: 'prune', 'prune-name': 'web-*', retire: 'disable', 'only-disabled': 'true' },
    /Input 'only-disabled' has the value 'true': it selects images already disabled, for retire: deregister to remove them/
  ],
  [
    'a malformed only-disabled',
    { mode: 'prune', 'prune-name': 'web-*', 'only-disabled': 'yes' },
    /Input 'only-disabled' has the value 'yes'/
  ],
  [
    'only-disabled without prune',
    { mode: 'wait', 'image-id': IMAGE, 'only-disabled': 'true' },
    /Input 'only-disabled'.*applies to mode prune/
  ],
  ['retire without prune', { mode: 'wait', 'image-id': IMAGE, retire: 'disable' }, /Input 'retire'.*applies to mode prune/],
  [
    'instance-id without build',
    { mode: 'wait', 'image-id': IMAGE, 'instance-id': INSTANCE },
    /Input 'instance-id' .*applies to mode build/
  ],
  [
    'a target account that is not 12 digits',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'target-accounts': '222233334444, 12345' },
    /Input 'target-accounts' has the value '222233334444, 12345': '12345' is not an AWS account id: expected 12 digits/
  ],
  [
    'a target account listed twice',
    { mode: 'copy', 'image-id': IMAGE, regions: 'us-west-2', 'target-accounts': '222233334444 222233334444' },
    /Input 'target-accounts'.*222233334444 is listed twice/
  ],
  [
    'a target-role given as an ARN',
    { mode: 'copy', 'image-id': IMAGE, 'target-accounts': '222233334444', 'target-role': 'arn:aws:iam::222233334444:role/ami' },
    /Input 'target-role' has the value 'arn:aws:iam::222233334444:role\/ami': expected a role name such as ami-pipeline, or path\/name/
  ],
  [
    'account-image-ids naming an account not in target-accounts',
    {
      mode: 'publish',
      'target-accounts': '222233334444',
      'account-image-ids': '{"999988887777": {"us-east-1": "ami-0123456789abcdef0"}}',
      'ssm-parameter': '/images/web'
    },
    /Input 'account-image-ids'.*names account 999988887777, which is not in target-accounts \(222233334444\)/
  ],
  [
    'account-image-ids without target-accounts',
    { mode: 'publish', 'image-id': IMAGE, 'account-image-ids': '{"999988887777": {}}', 'ssm-parameter': '/images/web' },
    /Input 'account-image-ids'.*give those accounts in target-accounts too/
  ],
  [
    'wait in target accounts without their images',
    { mode: 'wait', 'image-id': IMAGE, 'target-accounts': '222233334444' },
    /Input 'account-image-ids' has no value: wait acts on each target account's own images, and none are given for 222233334444/
  ],
  [
    "a target account's key in a region it gets no copy in",
    {
      mode: 'copy',
      'image-id': IMAGE,
      regions: 'us-west-2',
      'target-accounts': '222233334444',
      'kms-key-ids': 'arn:aws:kms:eu-west-1:222233334444:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    },
    /Input 'kms-key-ids'.*of account 222233334444 is in eu-west-1, where 222233334444 gets no copy/
  ]
]
