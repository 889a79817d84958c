#!/usr/bin/env bash
# Installs the non-Python S3 clients the end-to-end tests drive: rclone and s3cmd (Debian
# packages). curl comes with the machine; boto3 and the AWS CLI come from pyproject's [test].
set -euo pipefail

missing=()
for tool in rclone s3cmd curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing ${missing[*]} (Debian packages)"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
