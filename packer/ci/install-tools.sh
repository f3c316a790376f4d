#!/usr/bin/env bash
# CodeBuild install phase: a pinned Packer (checked against HashiCorp's SHA256SUMS), its amazon plugin
# (current Packer ships no plugins) and the Session Manager plugin Packer reaches the bake instance through.
set -euo pipefail
: "${PACKER_VERSION:?PACKER_VERSION is required}"
: "${AMAZON_PLUGIN_VERSION:?AMAZON_PLUGIN_VERSION is required}"
[[ "$PACKER_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "deploy: bad PACKER_VERSION '$PACKER_VERSION'" >&2; exit 1; }

case "$(uname -m)" in
  x86_64) packer_arch=amd64; ssm_dir=linux_64bit ;;
  aarch64) packer_arch=arm64; ssm_dir=linux_arm64 ;;
  *) echo "deploy: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac

if [[ "$(packer version 2>/dev/null | head -n 1)" == "Packer v${PACKER_VERSION}" ]]; then
  echo "deploy: Packer $PACKER_VERSION already installed"
else
  echo "deploy: installing Packer $PACKER_VERSION"
  workdir="$(mktemp -d)"
  trap 'rm -rf "$workdir"' EXIT
  zip_name="packer_${PACKER_VERSION}_linux_${packer_arch}.zip"
  base_url="https://releases.hashicorp.com/packer/${PACKER_VERSION}"
  curl -fsSL --retry 3 -o "$workdir/$zip_name" "$base_url/$zip_name"
  curl -fsSL --retry 3 -o "$workdir/SHA256SUMS" "$base_url/packer_${PACKER_VERSION}_SHA256SUMS"
  (cd "$workdir" && grep " ${zip_name}\$" SHA256SUMS | sha256sum --check --strict -)
  unzip -o -q "$workdir/$zip_name" -d /usr/local/bin
fi
packer version

echo "deploy: installing the Packer amazon plugin $AMAZON_PLUGIN_VERSION"
packer plugins install github.com/hashicorp/amazon "v${AMAZON_PLUGIN_VERSION}"

if command -v session-manager-plugin >/dev/null 2>&1; then
  echo "deploy: Session Manager plugin already installed"
else
  echo "deploy: installing the Session Manager plugin"
  dnf install -y "https://s3.amazonaws.com/session-manager-downloads/plugin/latest/${ssm_dir}/session-manager-plugin.rpm"
fi
