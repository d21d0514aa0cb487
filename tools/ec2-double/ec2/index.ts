// What the double does per EC2 action, where real EC2 and moto differ; actions without a handler
// go to moto unchanged. Each handler's file says which EC2 behaviour it adds and where AWS
// documents it.
import type { Caller } from '../caller.ts'
import type { Reply } from '../protocol.ts'
import { describeImages } from './describe-images.ts'
import { deregisterImage } from './deregister.ts'
import { disableImage, enableImage } from './disabled-images.ts'
import {
  describeImageAttribute,
  disableImageDeprecation,
  disableImageDeregistrationProtection,
  enableImageDeprecation,
  enableImageDeregistrationProtection
} from './image-attributes.ts'
import { copyImage, createImage, registerImage } from './images.ts'
import { describeLaunchTemplateVersions, modifyLaunchTemplate } from './launch-templates.ts'
import { paginated } from './paging.ts'
import { describeImageReferences } from './references.ts'
import { describeRegions } from './regions.ts'
import { tagSharedImages } from './shared-images.ts'
import { modifyImageAttribute, modifySnapshotAttribute } from './sharing.ts'
import { listImagesInRecycleBin, listSnapshotsInRecycleBin } from './recycle-bin.ts'
import { deleteSnapshot, describeSnapshots } from './snapshots.ts'
import {
  createImageUsageReport,
  deleteImageUsageReport,
  describeImageUsageReportEntries,
  describeImageUsageReports
} from './usage-reports.ts'
import { createLaunchTemplateVersion } from './template-versions.ts'

export type Ec2Handler = (caller: Caller, params: URLSearchParams) => Promise<Reply>

export const EC2_HANDLERS: Record<string, Ec2Handler> = {
  CreateImage: createImage,
  CopyImage: copyImage,
  RegisterImage: registerImage,
  DescribeImages: (caller, params) => describeImages(caller, params),
  DescribeImageAttribute: describeImageAttribute,
  ModifyImageAttribute: modifyImageAttribute,
  CreateTags: (caller, params) => tagSharedImages(caller, params, false),
  DeleteTags: (caller, params) => tagSharedImages(caller, params, true),
  EnableImageDeprecation: enableImageDeprecation,
  DisableImageDeprecation: disableImageDeprecation,
  EnableImageDeregistrationProtection: enableImageDeregistrationProtection,
  DisableImageDeregistrationProtection: disableImageDeregistrationProtection,
  DisableImage: disableImage,
  EnableImage: enableImage,
  DeregisterImage: deregisterImage,
  DescribeImageReferences: describeImageReferences,
  DescribeSnapshots: describeSnapshots,
  ModifySnapshotAttribute: modifySnapshotAttribute,
  DeleteSnapshot: deleteSnapshot,
  // moto pages these itself (15 or 100 at a time) unless asked for more; the double does the paging.
  DescribeInstances: (caller, params) => paginated(caller, params, 'reservationSet', undefined, !params.has('InstanceId.1')),
  DescribeLaunchTemplates: (caller, params) => paginated(caller, params, 'launchTemplates', undefined, true),
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
  ModifyLaunchTemplate: modifyLaunchTemplate,
  DescribeRegions: describeRegions,
  CreateImageUsageReport: createImageUsageReport,
  DescribeImageUsageReports: describeImageUsageReports,
  DescribeImageUsageReportEntries: describeImageUsageReportEntries,
  DeleteImageUsageReport: deleteImageUsageReport,
  ListImagesInRecycleBin: listImagesInRecycleBin,
  ListSnapshotsInRecycleBin: listSnapshotsInRecycleBin
}

/** Actions that add, remove or change an image's snapshots: each drops the region's image index. */
export const IMAGE_CHANGES = new Set(['CreateImage', 'CopyImage', 'RegisterImage', 'DeregisterImage'])
