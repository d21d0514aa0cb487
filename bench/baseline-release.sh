#!/usr/bin/env bash
# What a user writes today instead of the action: the AWS CLI, one command after another.
#   baseline-release.sh INSTANCE_ID NAME SOURCE_REGION "DEST_REGION ..."
set -euo pipefail
instance="$1" name="$2" source="$3" regions="$4"

ami=$(aws ec2 create-image --region "$source" --instance-id "$instance" --name "$name" --query ImageId --output text)
aws ec2 wait image-available --region "$source" --image-ids "$ami"

declare -A copies
for region in $regions; do
  copies[$region]=$(aws ec2 copy-image --region "$region" --source-region "$source" --source-image-id "$ami" --name "$name" --query ImageId --output text)
done
for region in $regions; do
  aws ec2 wait image-available --region "$region" --image-ids "${copies[$region]}"
done

tag() {
  local region="$1" image="$2"
  snapshots=$(aws ec2 describe-images --region "$region" --image-ids "$image" --query 'Images[0].BlockDeviceMappings[].Ebs.SnapshotId' --output text)
  aws ec2 create-tags --region "$region" --resources "$image" $snapshots --tags Key=App,Value=web Key=Release,Value="$name"
}
tag "$source" "$ami"
for region in $regions; do tag "$region" "${copies[$region]}"; done
echo "$ami ${copies[*]}"
