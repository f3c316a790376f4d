# Base image (the seeds' 'primal'): a current Amazon Linux 2023 with OS updates, nginx, a pinned Node.js,
# the TCP tweak, the unprivileged app user, and the npm cache pre-filled from the release's lock file so
# release bakes are fast. Reused while its inputs are unchanged: every file in this folder, the Node version
# and the lock file make up the `immutable-deploy:base-hash` tag (packer/base-hash.mjs).
#
# Valid for Debian's packer 1.6.6 and a current Packer with the amazon plugin: no `packer { required_plugins }`
# block, no imds_support / metadata_options (IMDSv2 is set on the AMI after the bake and enforced by the
# launch template), full-match checks with regex_replace (1.6.6 has no regex() in validation).
# Amazon Linux 2023 because its AMIs ship the SSM agent, which Session Manager needs to reach the instance.

variable "region" {
  type        = string
  description = "AWS region to bake in."
}

variable "app" {
  type        = string
  description = "App name (tag immutable-deploy:app)."
  validation {
    condition     = regex_replace(var.app, "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$", "") == ""
    error_message = "The app must be 1-63 letters, digits, '.', '_' or '-'."
  }
}

variable "environment" {
  type        = string
  description = "Environment (SST stage) that baked the image (tag immutable-deploy:environment)."
  validation {
    condition     = regex_replace(var.environment, "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$", "") == ""
    error_message = "The environment must be 1-63 letters, digits, '.', '_' or '-'."
  }
}

variable "release" {
  type        = string
  description = "Release whose lock file seeded the dependency cache (tag immutable-deploy:release)."
  validation {
    condition     = regex_replace(var.release, "^[a-zA-Z0-9][a-zA-Z0-9._+-]{0,63}$", "") == ""
    error_message = "The release must be 1-64 letters, digits, '.', '_', '-' or '+', starting with a letter or digit."
  }
}

variable "base_hash" {
  type        = string
  description = "Hash of the base inputs (packer/base-hash.mjs), tag immutable-deploy:base-hash."
  validation {
    condition     = regex_replace(var.base_hash, "^[0-9a-f]{64}$", "") == ""
    error_message = "The base_hash must be a sha256 hex digest (64 lowercase hex characters)."
  }
}

variable "node_version" {
  type        = string
  description = "Exact Node.js version to install, e.g. 22.12.0 (an LTS line)."
  validation {
    condition     = regex_replace(var.node_version, "^[0-9]+[.][0-9]+[.][0-9]+$", "") == ""
    error_message = "The node_version must be an exact version such as 22.12.0."
  }
}

variable "architecture" {
  type        = string
  default     = "x86_64"
  description = "CPU architecture of the image: x86_64 or arm64 (must match instance_type)."
  validation {
    condition     = var.architecture == "x86_64" || var.architecture == "arm64"
    error_message = "The architecture must be x86_64 or arm64."
  }
}

variable "source_ami_name" {
  type        = string
  default     = "al2023-ami-2023.*-kernel-*"
  description = "Name filter of the official Amazon Linux 2023 AMI (the architecture is appended)."
}

variable "instance_type" {
  type        = string
  default     = "t3.micro"
  description = "Instance type of the temporary bake instance."
}

variable "subnet_id" {
  type        = string
  description = "Subnet of the bake instance; needs outbound access (OS packages, Node.js, npm, SSM)."
}

variable "security_group_id" {
  type        = string
  description = "Security group of the bake instance; no ingress needed (Session Manager)."
}

variable "iam_instance_profile" {
  type        = string
  description = "Instance profile of the bake instance (AmazonSSMManagedInstanceCore)."
}

variable "associate_public_ip_address" {
  type        = bool
  default     = true
  description = "Give the bake instance a public IP for outbound access (a public subnet without NAT)."
}

variable "volume_size" {
  type        = number
  default     = 8
  description = "Root volume size in GiB."
}

variable "package_json_file" {
  type        = string
  description = "Local path of the release's package.json."
}

variable "lock_file" {
  type        = string
  description = "Local path of the release's package-lock.json (a base input)."
}

variable "manifest_path" {
  type        = string
  default     = "base-manifest.json"
  description = "Where the manifest post-processor writes the AMI id."
}

locals {
  stamp = formatdate("YYYYMMDDhhmmss", timestamp())
  tags = {
    "Name"                         = "${var.app}-base"
    "immutable-deploy:app"         = var.app
    "immutable-deploy:environment" = var.environment
    "immutable-deploy:release"     = var.release
    "immutable-deploy:role"        = "base"
    "immutable-deploy:base-hash"   = var.base_hash
  }
}

source "amazon-ebs" "base" {
  region          = var.region
  instance_type   = var.instance_type
  ami_name        = "${var.app}-base-${substr(var.base_hash, 0, 12)}-${local.stamp}"
  ami_description = "immutable-deploy ${var.app} base image, Node.js ${var.node_version}"

  source_ami_filter {
    filters = {
      name                  = "${var.source_ami_name}-${var.architecture}"
      architecture          = var.architecture
      "virtualization-type" = "hvm"
      "root-device-type"    = "ebs"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  # Reached through Session Manager: the security group has no ingress, nothing is open to 0.0.0.0/0.
  communicator                = "ssh"
  ssh_username                = "ec2-user"
  ssh_interface               = "session_manager"
  iam_instance_profile        = var.iam_instance_profile
  security_group_id           = var.security_group_id
  subnet_id                   = var.subnet_id
  associate_public_ip_address = var.associate_public_ip_address
  ssh_timeout                 = "10m"

  encrypt_boot = true
  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.volume_size
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    encrypted             = true
    delete_on_termination = true
  }

  tags            = local.tags
  snapshot_tags   = local.tags
  run_tags        = local.tags
  run_volume_tags = local.tags
}

build {
  sources = ["source.amazon-ebs.base"]

  provisioner "file" {
    source      = "${path.root}/files/layout.env"
    destination = "/tmp/immutable-deploy-layout.env"
  }

  provisioner "file" {
    source      = "${path.root}/files/60-immutable-deploy.conf"
    destination = "/tmp/immutable-deploy-sysctl.conf"
  }

  provisioner "file" {
    source      = var.package_json_file
    destination = "/tmp/immutable-deploy-package.json"
  }

  provisioner "file" {
    source      = var.lock_file
    destination = "/tmp/immutable-deploy-package-lock.json"
  }

  provisioner "shell" {
    execute_command = "chmod +x '{{ .Path }}'; sudo env {{ .Vars }} '{{ .Path }}'"
    environment_vars = [
      "NODE_VERSION=${var.node_version}",
      "UPLOAD_DIR=/tmp",
    ]
    scripts = [
      "${path.root}/scripts/install-layout.sh",
      "${path.root}/scripts/install-packages.sh",
      "${path.root}/scripts/tune-network.sh",
      "${path.root}/scripts/install-node.sh",
      "${path.root}/scripts/create-app-user.sh",
      "${path.root}/scripts/precache-dependencies.sh",
    ]
  }

  post-processor "manifest" {
    output     = var.manifest_path
    strip_path = true
    custom_data = {
      role      = "base"
      app       = var.app
      release   = var.release
      base_hash = var.base_hash
    }
  }
}
