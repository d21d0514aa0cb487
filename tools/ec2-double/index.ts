// The EC2 double's public entry: start moto, start the front before it, and the types a test or a
// script needs to configure it and read what it saw. See README.md in this folder.
export { startFront, Front } from './front.ts'
export { Caller } from './caller.ts'
export { realClock, virtualClock, type Clock, type VirtualClock } from './clock.ts'
export type { Bucket, FaultRule, FrontOptions, NewImage } from './options.ts'
export {
  defaultSnapshotBytes,
  INVISIBLE_MS,
  MOTO_DEFAULT_ACCOUNT,
  RECYCLE_BIN_ACTIVATION_MS,
  SSM_RETRY_AFTER_MS,
  SSM_VALIDATION_MS
} from './options.ts'
export type {
  Accounts,
  BinnedImage,
  BinnedSnapshot,
  Call,
  DoubleState,
  ImageOverlay,
  KmsKey,
  RecycleBinRule,
  RecycleBinState,
  Role,
  RoleSession,
  RuleTag,
  SnapshotFacts
} from './state.ts'
export type { ImageState } from './ec2/image-state.ts'
export type { ParameterValidation } from './ssm/validation.ts'
export { startMoto, type Moto, type MotoOptions } from './moto.ts'
