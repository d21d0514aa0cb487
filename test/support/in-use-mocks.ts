// The SDK clients prune's in-use checks call, mocked for unit tests with nothing in use: no launch
// configuration, Spot Fleet, Spot request or SSM parameter, and no image shared, unless a test says otherwise.
import { AutoScalingClient, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling'
import {
  DescribeImageAttributeCommand,
  DescribeSpotFleetRequestsCommand,
  DescribeSpotInstanceRequestsCommand,
  EC2Client
} from '@aws-sdk/client-ec2'
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm'
import { mockClient } from 'aws-sdk-client-mock'

export function inUseMocks() {
  const ec2 = mockClient(EC2Client)
  const ssm = mockClient(SSMClient)
  const autoScaling = mockClient(AutoScalingClient)
  /** For a beforeEach: every mock forgotten, then the empty answers above. */
  const reset = (): void => {
    for (const mock of [ec2, ssm, autoScaling]) mock.reset()
    autoScaling.on(DescribeLaunchConfigurationsCommand).resolves({ LaunchConfigurations: [] })
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [] })
    ec2.on(DescribeSpotFleetRequestsCommand).resolves({ SpotFleetRequestConfigs: [] })
    ec2.on(DescribeSpotInstanceRequestsCommand).resolves({ SpotInstanceRequests: [] })
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] })
  }
  return { ec2, ssm, autoScaling, reset }
}
