#!/usr/bin/env bash
# Registers the app as the `webapp` systemd service (instead of the seeds' init.d script): restarted on
# failure, NODE_ENV and the release label in its environment, logs in journald, enabled at boot.
set -euo pipefail
: "${APP:?APP is required}"
: "${RELEASE:?RELEASE is required}"
: "${APP_PORT:?APP_PORT is required}"
: "${UPLOAD_DIR:?UPLOAD_DIR is required}"
# shellcheck source=/dev/null
. /etc/immutable-deploy/layout.env

app_dir="$APP_ROOT/current"
# The app starts with `node <main>` (package.json "main", server.js when absent).
entry="$(cd "$app_dir" && "$NODE_HOME/bin/node" -p 'require("./package.json").main || "server.js"')"
[[ "$entry" =~ ^[a-zA-Z0-9._/-]+$ && "$entry" != *..* ]] || { echo "packer: bad package.json main '$entry'" >&2; exit 1; }
[[ -f "$app_dir/$entry" ]] || { echo "packer: the release has no $entry to start" >&2; exit 1; }

echo "packer: installing webapp.service (node $entry, port $APP_PORT)"
sed -e "s#@APP@#${APP}#g" \
    -e "s#@RELEASE@#${RELEASE}#g" \
    -e "s#@APP_PORT@#${APP_PORT}#g" \
    -e "s#@APP_USER@#${APP_USER}#g" \
    -e "s#@APP_DIR@#${app_dir}#g" \
    -e "s#@NODE_HOME@#${NODE_HOME}#g" \
    -e "s#@ENTRY@#${entry}#g" \
    -e "s#@STATE_DIRECTORY@#${APP_STATE_DIR#/var/lib/}#g" \
    "$UPLOAD_DIR/immutable-deploy-webapp.service.template" > /etc/systemd/system/webapp.service
chmod 0644 /etc/systemd/system/webapp.service

systemctl daemon-reload
systemctl enable webapp.service
