#!/usr/bin/env bash
# The bake, as the CodeBuild project runs it (buildspec.yml): fetch the release artifact, resolve or bake
# the base image, bake the release image, and leave the AMI ids in $BAKE_WORK_DIR for the buildspec to
# export. Every step logs a `deploy:` line. Inputs are the CodeBuild environment variables (README.md, "Bake: the images").
set -euo pipefail

ci_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
packer_dir="$(dirname "$ci_dir")"
work_dir="${BAKE_WORK_DIR:-.bake}"

log() { echo "deploy: $*"; }
fail() { echo "deploy: $*" >&2; exit 1; }

for name in APP ENVIRONMENT AWS_REGION RELEASE ARTIFACT_BUCKET ARTIFACT_KEY NODE_VERSION APP_PORT \
  BAKE_SUBNET_ID BAKE_SECURITY_GROUP_ID BAKE_INSTANCE_PROFILE BAKE_INSTANCE_TYPE; do
  [[ -n "${!name:-}" ]] || fail "$name is required"
done
rebuild_base="${REBUILD_BASE:-false}"
[[ "$rebuild_base" == "true" || "$rebuild_base" == "false" ]] || fail "REBUILD_BASE must be true or false, not '$rebuild_base'"

# Graviton families carry a "g" after their generation digit (t4g, m7gd, c6gn); g4dn and g5 are x86 GPUs.
instance_family="${BAKE_INSTANCE_TYPE%%.*}"
if [[ "$instance_family" =~ ^[a-z]+[0-9]+[a-z]*g[a-z]*$ ]]; then architecture=arm64; else architecture=x86_64; fi

# The bake instance is only reachable through Session Manager; IMDSv2 is required on every image we make.
packer_common_vars=(
  -var "region=$AWS_REGION"
  -var "app=$APP"
  -var "environment=$ENVIRONMENT"
  -var "release=$RELEASE"
  -var "instance_type=$BAKE_INSTANCE_TYPE"
  -var "subnet_id=$BAKE_SUBNET_ID"
  -var "security_group_id=$BAKE_SECURITY_GROUP_ID"
  -var "iam_instance_profile=$BAKE_INSTANCE_PROFILE"
)

require_imdsv2() {
  log "requiring IMDSv2 on $1"
  aws ec2 modify-image-attribute --region "$AWS_REGION" --image-id "$1" --imds-support v2.0
}

rm -rf "$work_dir"
mkdir -p "$work_dir/app"

version_args=()
version_note=""
if [[ -n "${ARTIFACT_VERSION_ID:-}" ]]; then
  version_args=(--version-id "$ARTIFACT_VERSION_ID")
  version_note=" (version $ARTIFACT_VERSION_ID)"
fi
log "fetching release artifact s3://$ARTIFACT_BUCKET/$ARTIFACT_KEY$version_note"
aws s3api get-object --region "$AWS_REGION" --bucket "$ARTIFACT_BUCKET" --key "$ARTIFACT_KEY" \
  "${version_args[@]}" "$work_dir/release.tgz" >/dev/null
tar -xzf "$work_dir/release.tgz" -C "$work_dir/app" --no-same-owner
for required in package.json package-lock.json; do
  [[ -f "$work_dir/app/$required" ]] || fail "the release artifact has no $required at its root (see README.md, 'The example app and packaging your own app')"
done

base_hash="$(node "$packer_dir/base-hash.mjs" --packer-dir "$packer_dir" --node-version "$NODE_VERSION" \
  --lock-file "$work_dir/app/package-lock.json")"
short_hash="${base_hash:0:12}"

base_image_id=""
if [[ -n "${BASE_IMAGE_ID:-}" ]]; then
  log "using pinned base image $BASE_IMAGE_ID"
  state="$(aws ec2 describe-images --region "$AWS_REGION" --image-ids "$BASE_IMAGE_ID" \
    --query 'Images[0].State' --output text)"
  [[ "$state" == "available" ]] || fail "pinned base image $BASE_IMAGE_ID is not available (state $state)"
  base_image_id="$BASE_IMAGE_ID"
elif [[ "$rebuild_base" == "true" ]]; then
  log "rebuilding base image (hash $short_hash) as requested"
else
  log "resolving base image (hash $short_hash)"
  found="$(aws ec2 describe-images --region "$AWS_REGION" --owners self \
    --filters "Name=tag:immutable-deploy:app,Values=$APP" \
              "Name=tag:immutable-deploy:role,Values=base" \
              "Name=tag:immutable-deploy:base-hash,Values=$base_hash" \
              "Name=architecture,Values=$architecture" \
              "Name=state,Values=available" \
    --query 'sort_by(Images, &CreationDate)[-1].ImageId' --output text)"
  if [[ "$found" == ami-* ]]; then
    log "reusing base image $found (hash $short_hash)"
    base_image_id="$found"
  else
    log "no base image with hash $short_hash yet"
  fi
fi

if [[ -z "$base_image_id" ]]; then
  log "baking base image (hash $short_hash, Node.js $NODE_VERSION, $architecture)"
  packer build -color=false "${packer_common_vars[@]}" \
    -var "base_hash=$base_hash" \
    -var "node_version=$NODE_VERSION" \
    -var "architecture=$architecture" \
    -var "package_json_file=$work_dir/app/package.json" \
    -var "lock_file=$work_dir/app/package-lock.json" \
    -var "manifest_path=$work_dir/base-manifest.json" \
    "$packer_dir/base"
  base_image_id="$(node "$ci_dir/image-id.mjs" --manifest "$work_dir/base-manifest.json" --region "$AWS_REGION")"
  require_imdsv2 "$base_image_id"
  log "baked base image $base_image_id"
fi

log "baking release image $RELEASE on base image $base_image_id"
packer build -color=false "${packer_common_vars[@]}" \
  -var "base_image_id=$base_image_id" \
  -var "artifact_file=$work_dir/release.tgz" \
  -var "app_port=$APP_PORT" \
  -var "nginx_workers=${NGINX_WORKERS:-auto}" \
  -var "server_name=${SERVER_NAME:-_}" \
  -var "manifest_path=$work_dir/release-manifest.json" \
  "$packer_dir/release"
image_id="$(node "$ci_dir/image-id.mjs" --manifest "$work_dir/release-manifest.json" --region "$AWS_REGION")"
require_imdsv2 "$image_id"
printf '%s\n' "$base_image_id" > "$work_dir/base-image-id"
log "baked release image $RELEASE: $image_id (base image $base_image_id)"
