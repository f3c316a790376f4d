#!/usr/bin/env bash
# Installs the image layout (app user, folders) that every later script and the release bake read.
set -euo pipefail
: "${UPLOAD_DIR:?UPLOAD_DIR is required}"

echo "packer: installing image layout"
install -D -m 0644 "$UPLOAD_DIR/immutable-deploy-layout.env" /etc/immutable-deploy/layout.env
