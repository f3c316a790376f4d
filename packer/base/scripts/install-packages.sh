#!/usr/bin/env bash
# OS updates, nginx, and the tools the later steps need.
set -euo pipefail

# Amazon Linux 2023 repositories are versioned: --releasever=latest also picks up the updates published
# after the source AMI was built.
echo "packer: applying OS updates"
dnf -y --releasever=latest upgrade

echo "packer: installing nginx"
dnf -y --releasever=latest install nginx tar xz
systemctl enable nginx
dnf clean all
