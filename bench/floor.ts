// The startup floor: the least an action doing our job can load and do — @actions/core and the
// EC2 client, one DescribeImages, one output. bench/run.ts bundles it with ncc, like dist/.
import * as core from '@actions/core'
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2'

const client = new EC2Client({})
const found = await client.send(new DescribeImagesCommand({ ImageIds: [core.getInput('image-id')] }))
core.setOutput('image-id', found.Images?.[0]?.ImageId ?? '')
client.destroy()
