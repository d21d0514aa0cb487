// The SDK clients prune's in-use checks and its savings call, mocked for unit tests with nothing in
// use: no launch configuration, Spot Fleet, Spot request or SSM parameter, no image shared, no
// snapshot described and no Recycle Bin rule, unless a test says otherwise. (A client left unmocked
// would try to reach AWS.)
import { AutoScalingClient, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling'
import {
  DescribeImageAttributeCommand,
  DescribeSnapshotsCommand,
  DescribeSpotFleetRequestsCommand,
  DescribeSpotInstanceRequestsCommand,
  EC2Client
} from '@aws-sdk/client-ec2'
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm'
import { ListRulesCommand, RbinClient } from '@aws-sdk/client-rbin'
import { mockClient } from 'aws-sdk-client-mock'

export function inUseMocks() {
  const ec2 = mockClient(EC2Client)
  const ssm = mockClient(SSMClient)
  const autoScaling = mockClient(AutoScalingClient)
  const rbin = mockClient(RbinClient)
  /** For a beforeEach: every mock forgotten, then the empty answers above. */
  const reset = (): void => {
    for (const mock of [ec2, ssm, autoScaling]) mock.reset()
    rbin.reset()
    rbin.on(ListRulesCommand).resolves({ Rules: [] })
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] })
    autoScaling.on(DescribeLaunchConfigurationsCommand).resolves({ LaunchConfigurations: [] })
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [] })
    ec2.on(DescribeSpotFleetRequestsCommand).resolves({ SpotFleetRequestConfigs: [] })
    ec2.on(DescribeSpotInstanceRequestsCommand).resolves({ SpotInstanceRequests: [] })
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] })
  }
  return { ec2, ssm, autoScaling, rbin, reset }
}
