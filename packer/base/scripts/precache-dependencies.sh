#!/usr/bin/env bash
# Fills the npm cache from the release's lock file, so the release bake's `npm ci` installs from it instead
# of the registry. Runs as the app user: dependency install scripts never run as root.
set -euo pipefail
: "${UPLOAD_DIR:?UPLOAD_DIR is required}"
# shellcheck source=/dev/null
. /etc/immutable-deploy/layout.env

precache_dir="$(mktemp -d)"
trap 'rm -rf "$precache_dir"' EXIT
install -m 0644 "$UPLOAD_DIR/immutable-deploy-package.json" "$precache_dir/package.json"
install -m 0644 "$UPLOAD_DIR/immutable-deploy-package-lock.json" "$precache_dir/package-lock.json"
chown -R "$APP_USER:$APP_USER" "$precache_dir"

echo "packer: precaching production dependencies"
cd "$precache_dir"
runuser -u "$APP_USER" -- env HOME="$APP_STATE_DIR" PATH="$NODE_HOME/bin:/usr/bin:/bin" \
  npm ci --omit=dev --cache "$NPM_CACHE" --no-audit --no-fund --loglevel=warn
