#!/usr/bin/env bash
# Unpacks the release artifact into its own folder, completes its production dependencies from the npm
# cache the base image pre-filled, hands the code to root (the app may run it, not change it) and points
# `current` at it.
set -euo pipefail
: "${RELEASE:?RELEASE is required}"
: "${UPLOAD_DIR:?UPLOAD_DIR is required}"
# shellcheck source=/dev/null
. /etc/immutable-deploy/layout.env

artifact="$UPLOAD_DIR/immutable-deploy-release.tgz"
release_dir="$APP_ROOT/releases/$RELEASE"

echo "packer: unpacking release $RELEASE"
rm -rf "$release_dir"
install -d -o "$APP_USER" -g "$APP_USER" -m 0755 "$release_dir"
# Unpacked by the app user, so a hostile archive cannot write outside the release folder as root.
runuser -u "$APP_USER" -- tar -xzf "$artifact" -C "$release_dir" --no-same-owner --no-same-permissions
for required in package.json package-lock.json; do
  if [[ ! -f "$release_dir/$required" ]]; then
    echo "packer: the release artifact has no $required at its root" >&2
    exit 1
  fi
done

echo "packer: installing production dependencies"
cd "$release_dir"
runuser -u "$APP_USER" -- env HOME="$APP_STATE_DIR" PATH="$NODE_HOME/bin:/usr/bin:/bin" \
  npm ci --omit=dev --prefer-offline --cache "$NPM_CACHE" --no-audit --no-fund --loglevel=warn

chown -R root:root "$release_dir"
chmod -R go-w "$release_dir"
ln -sfn "releases/$RELEASE" "$APP_ROOT/current"
rm -f "$artifact"
