#!/usr/bin/env bash
# Installs the pinned Node.js from the official binary tarball, checked against the release's SHASUMS256.
set -euo pipefail
: "${NODE_VERSION:?NODE_VERSION is required}"
# shellcheck source=/dev/null
. /etc/immutable-deploy/layout.env

case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *) echo "packer: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
dist="node-v${NODE_VERSION}-linux-${node_arch}"
target="/opt/${dist}"

if [[ -x "$target/bin/node" && "$("$target/bin/node" --version)" == "v${NODE_VERSION}" ]]; then
  echo "packer: Node.js ${NODE_VERSION} already installed"
else
  echo "packer: installing Node.js ${NODE_VERSION}"
  workdir="$(mktemp -d)"
  trap 'rm -rf "$workdir"' EXIT
  base_url="https://nodejs.org/dist/v${NODE_VERSION}"
  curl -fsSL --retry 3 -o "$workdir/${dist}.tar.xz" "$base_url/${dist}.tar.xz"
  curl -fsSL --retry 3 -o "$workdir/SHASUMS256.txt" "$base_url/SHASUMS256.txt"
  (cd "$workdir" && grep " ${dist}.tar.xz\$" SHASUMS256.txt | sha256sum --check --strict -)
  rm -rf "$target.partial"
  mkdir -p "$target.partial"
  tar -xJf "$workdir/${dist}.tar.xz" -C "$target.partial" --strip-components=1 --no-same-owner
  rm -rf "$target"
  mv "$target.partial" "$target"
fi

ln -sfn "$target" "$NODE_HOME"
for tool in node npm npx; do
  ln -sfn "$NODE_HOME/bin/$tool" "/usr/local/bin/$tool"
done
echo "packer: node $("$NODE_HOME/bin/node" --version), npm $("$NODE_HOME/bin/npm" --version)"
