#!/usr/bin/env bash
# The seeds' TCP tweak, persisted in /etc/sysctl.d so it survives reboots.
set -euo pipefail
: "${UPLOAD_DIR:?UPLOAD_DIR is required}"

echo "packer: tweaking tcp"
install -m 0644 "$UPLOAD_DIR/immutable-deploy-sysctl.conf" /etc/sysctl.d/60-immutable-deploy.conf
sysctl -p /etc/sysctl.d/60-immutable-deploy.conf
