#!/usr/bin/env bash
# CodeBuild install phase: Packer, its amazon plugin and the Session Manager plugin Packer reaches the
# bake instance through, each at the version packer/ci/versions.env pins. Nothing is used before it is
# checked: HashiCorp's SHA256SUMS against HashiCorp's signature, each zip against the SHA256 pinned for
# this CPU (and the signed SHA256SUMS), the Session Manager RPM against AWS's signature.
# TOOLS_BIN_DIR (default /usr/local/bin) is where packer goes.
set -euo pipefail

ci_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
keys_dir="$ci_dir/keys"
bin_dir="${TOOLS_BIN_DIR:-/usr/local/bin}"

log() { echo "deploy: $*"; }
fail() { echo "deploy: $*" >&2; exit 1; }

# The versions come from versions.env only: a version set anywhere else (the CodeBuild project's
# environment, say) would come without pinned checksums, so it is refused rather than quietly ignored.
pinned_names=(PACKER_VERSION AMAZON_PLUGIN_VERSION SESSION_MANAGER_PLUGIN_VERSION)
declare -A from_environment=()
for name in "${pinned_names[@]}"; do
  if [[ -n "${!name:-}" ]]; then from_environment[$name]="${!name}"; fi
done
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$ci_dir/versions.env"
for name in "${!from_environment[@]}"; do
  [[ "${from_environment[$name]}" == "${!name}" ]] ||
    fail "$name=${from_environment[$name]} is set in the environment, but packer/ci/versions.env pins ${!name} with its checksums: remove $name from the environment (the CodeBuild project's variables) and change versions.env instead"
done

case "$(uname -m)" in
  x86_64) arch=amd64; ssm_dir=linux_64bit ;;
  aarch64) arch=arm64; ssm_dir=linux_arm64 ;;
  *) fail "unsupported architecture $(uname -m): the pins cover linux amd64 and arm64" ;;
esac

# The SHA256 pinned for <tool> on this CPU; an empty or malformed pin stops the install here.
pinned_sha256() {
  local name="$1_SHA256_LINUX_${arch^^}"
  [[ "${!name:-}" =~ ^[0-9a-f]{64}$ ]] ||
    fail "no SHA256 is pinned for $1 on linux_$arch ($name in packer/ci/versions.env): refusing to install a download nothing can check"
  echo "${!name}"
}
packer_sha256="$(pinned_sha256 PACKER)"
plugin_sha256="$(pinned_sha256 AMAZON_PLUGIN)"

for tool in curl unzip sha256sum gpg dnf; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is required to install the bake's tools"
done

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

download() {
  curl -fsSL --proto '=https' --tlsv1.2 --retry 3 -o "$2" "$1" || fail "could not download $1"
}

# verify_signature <key file> <pinned primary key fingerprint> <detached signature> <signed file>
# In a keyring of its own holding only that key; the good signature must come from the pinned key.
verify_signature() {
  local key="$1" fingerprint="$2" signature="$3" file="$4" home status
  home="$(mktemp -d "$work_dir/gnupg.XXXXXX")"
  gpg --batch --quiet --homedir "$home" --import "$key" 2>"$home/import.log" ||
    { cat "$home/import.log" >&2; fail "could not read the key $key"; }
  status="$(gpg --batch --homedir "$home" --trust-model always --status-fd 1 \
    --verify "$signature" "$file" 2>"$home/verify.log")" ||
    { cat "$home/verify.log" >&2; fail "bad signature: $(basename "$file") is not signed by $(basename "$key")"; }
  # Newer GnuPG may have started a daemon for this home; it has nothing more to do.
  if command -v gpgconf >/dev/null 2>&1; then gpgconf --homedir "$home" --kill all 2>/dev/null || true; fi
  if grep -Eq '^\[GNUPG:\] (EXPKEYSIG|REVKEYSIG) ' <<<"$status"; then
    fail "$(basename "$key") has expired or been revoked: take a fresh copy from the vendor (README.md, 'Bumping the pinned tools')"
  fi
  # VALIDSIG ends with the primary key's fingerprint; GOODSIG is only given while that key is valid.
  if ! grep -q '^\[GNUPG:\] GOODSIG ' <<<"$status" ||
    ! awk -v want="$fingerprint" '$2 == "VALIDSIG" && $NF == want { found = 1 } END { exit !found }' <<<"$status"; then
    fail "bad signature: $(basename "$file") is not signed by the key with fingerprint $fingerprint"
  fi
}

# fetch_hashicorp_zip <product> <version> <zip name> <pinned sha256>: downloads the zip into $work_dir
# and checks it against HashiCorp's signed SHA256SUMS and against the pin (the two must agree).
fetch_hashicorp_zip() {
  local product="$1" version="$2" zip="$3" pinned="$4"
  local base_url="https://releases.hashicorp.com/$product/$version" sums="${product}_${version}_SHA256SUMS"
  local signed actual
  download "$base_url/$sums" "$work_dir/$sums"
  download "$base_url/$sums.72D7468F.sig" "$work_dir/$sums.72D7468F.sig"
  verify_signature "$keys_dir/hashicorp.asc" "$HASHICORP_PGP_FINGERPRINT" "$work_dir/$sums.72D7468F.sig" "$work_dir/$sums"
  signed="$(awk -v zip="$zip" '$2 == zip { print $1 }' "$work_dir/$sums")"
  [[ "$signed" == "$pinned" ]] ||
    fail "HashiCorp's signed $sums lists '${signed}' for $zip, but packer/ci/versions.env pins $pinned: check the pin"
  download "$base_url/$zip" "$work_dir/$zip"
  actual="$(sha256sum "$work_dir/$zip" | cut -d ' ' -f 1)"
  [[ "$actual" == "$pinned" ]] ||
    fail "checksum mismatch for $zip: expected $pinned (pinned and signed), downloaded $actual"
}

log "installing Packer $PACKER_VERSION (linux_$arch)"
packer_zip="packer_${PACKER_VERSION}_linux_${arch}.zip"
fetch_hashicorp_zip packer "$PACKER_VERSION" "$packer_zip" "$packer_sha256"
mkdir "$work_dir/packer"
unzip -o -q "$work_dir/$packer_zip" -d "$work_dir/packer"
mkdir -p "$bin_dir"
install -m 0755 "$work_dir/packer/packer" "$bin_dir/packer"
[[ "$(command -v packer)" == "$bin_dir/packer" ]] ||
  fail "another packer ($(command -v packer)) comes before $bin_dir/packer on PATH"
packer_reports="$(CHECKPOINT_DISABLE=1 packer version)" # no look-up of newer releases
[[ "${packer_reports%%$'\n'*}" == "Packer v$PACKER_VERSION" ]] ||
  fail "the installed packer reports '${packer_reports%%$'\n'*}', not Packer v$PACKER_VERSION"

log "installing the Packer amazon plugin $AMAZON_PLUGIN_VERSION (linux_$arch)"
plugin_zip="packer-plugin-amazon_${AMAZON_PLUGIN_VERSION}_linux_${arch}.zip"
fetch_hashicorp_zip packer-plugin-amazon "$AMAZON_PLUGIN_VERSION" "$plugin_zip" "$plugin_sha256"
mkdir "$work_dir/plugin"
unzip -o -q "$work_dir/$plugin_zip" -d "$work_dir/plugin"
# The zip holds the binary as packer-plugin-amazon_v<version>_x<plugin API>_linux_<arch> (and a licence).
shopt -s nullglob
plugin_binaries=("$work_dir/plugin/packer-plugin-amazon_v${AMAZON_PLUGIN_VERSION}_x"*"_linux_${arch}")
shopt -u nullglob
[[ ${#plugin_binaries[@]} -eq 1 ]] ||
  fail "$plugin_zip should hold one packer-plugin-amazon_v${AMAZON_PLUGIN_VERSION}_x*_linux_${arch} binary; it holds: $(ls "$work_dir/plugin")"
# --path installs this verified binary; without it Packer would download the plugin again, unchecked by us.
packer plugins install --path "${plugin_binaries[0]}" github.com/hashicorp/amazon
installed_plugins="$(packer plugins installed)"
grep -q "/packer-plugin-amazon_v${AMAZON_PLUGIN_VERSION}_" <<<"$installed_plugins" ||
  fail "packer does not list the amazon plugin $AMAZON_PLUGIN_VERSION as installed"

installed_ssm="$(session-manager-plugin --version 2>/dev/null || true)"
if [[ "$installed_ssm" == "$SESSION_MANAGER_PLUGIN_VERSION" ]]; then
  log "Session Manager plugin $SESSION_MANAGER_PLUGIN_VERSION already installed"
else
  log "installing the Session Manager plugin $SESSION_MANAGER_PLUGIN_VERSION ($ssm_dir)"
  ssm_url="https://s3.amazonaws.com/session-manager-downloads/plugin/${SESSION_MANAGER_PLUGIN_VERSION}/${ssm_dir}/session-manager-plugin.rpm"
  download "$ssm_url" "$work_dir/session-manager-plugin.rpm"
  download "$ssm_url.sig" "$work_dir/session-manager-plugin.rpm.sig"
  verify_signature "$keys_dir/session-manager-plugin.asc" "$SESSION_MANAGER_PLUGIN_PGP_FINGERPRINT" \
    "$work_dir/session-manager-plugin.rpm.sig" "$work_dir/session-manager-plugin.rpm"
  dnf install -y "$work_dir/session-manager-plugin.rpm"
  installed_ssm="$(session-manager-plugin --version)"
  [[ "$installed_ssm" == "$SESSION_MANAGER_PLUGIN_VERSION" ]] ||
    fail "the installed Session Manager plugin reports '$installed_ssm', not $SESSION_MANAGER_PLUGIN_VERSION"
fi
log "tools ready: Packer $PACKER_VERSION, amazon plugin $AMAZON_PLUGIN_VERSION, Session Manager plugin $SESSION_MANAGER_PLUGIN_VERSION"
