#!/usr/bin/env bash
# The unprivileged user the app runs as, and the folders it needs. The app's code stays owned by root.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/immutable-deploy/layout.env

echo "packer: creating app user $APP_USER"
if ! id -u "$APP_USER" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "$APP_STATE_DIR" --shell /sbin/nologin "$APP_USER"
fi
install -d -o root -g root -m 0755 "$APP_ROOT" "$APP_ROOT/releases"
install -d -o "$APP_USER" -g "$APP_USER" -m 0750 "$APP_STATE_DIR"
install -d -o "$APP_USER" -g "$APP_USER" -m 0755 "$NPM_CACHE"
