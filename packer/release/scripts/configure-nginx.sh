#!/usr/bin/env bash
# nginx on port 80 in front of the app: static files from the release's public/ folder, the rest proxied to
# the app's loopback port (instead of the seeds' iptables forwarding).
set -euo pipefail
: "${APP_PORT:?APP_PORT is required}"
: "${NGINX_WORKERS:?NGINX_WORKERS is required}"
: "${SERVER_NAME:?SERVER_NAME is required}"
: "${UPLOAD_DIR:?UPLOAD_DIR is required}"
# shellcheck source=/dev/null
. /etc/immutable-deploy/layout.env

# The values go into sed replacements and nginx syntax: accept only what those can carry safely.
[[ "$APP_PORT" =~ ^[0-9]{4,5}$ ]] || { echo "packer: bad APP_PORT '$APP_PORT'" >&2; exit 1; }
[[ "$NGINX_WORKERS" =~ ^(auto|[1-9][0-9]{0,2})$ ]] || { echo "packer: bad NGINX_WORKERS '$NGINX_WORKERS'" >&2; exit 1; }
[[ "$SERVER_NAME" =~ ^[a-zA-Z0-9._*-]+( [a-zA-Z0-9._*-]+)*$ ]] || { echo "packer: bad SERVER_NAME '$SERVER_NAME'" >&2; exit 1; }

render() {
  sed -e "s#@NGINX_WORKERS@#${NGINX_WORKERS}#g" \
      -e "s#@APP_PORT@#${APP_PORT}#g" \
      -e "s#@SERVER_NAME@#${SERVER_NAME}#g" \
      -e "s#@STATIC_ROOT@#${APP_ROOT}/current/public#g" \
      "$1" > "$2"
}

echo "packer: configuring nginx ($NGINX_WORKERS workers, server_name $SERVER_NAME, app port $APP_PORT)"
render "$UPLOAD_DIR/immutable-deploy-nginx.conf.template" /etc/nginx/nginx.conf
render "$UPLOAD_DIR/immutable-deploy-webapp-site.conf.template" /etc/nginx/conf.d/webapp.conf
chmod 0644 /etc/nginx/nginx.conf /etc/nginx/conf.d/webapp.conf

# With SELinux enforcing, nginx may only proxy to the app once this boolean is on.
if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
  setsebool -P httpd_can_network_connect 1
fi

nginx -t
systemctl enable nginx
