# Release image (the seeds' 'carnivore'): the base image plus one release artifact, its production
# dependencies (`npm ci --omit=dev` from the base image's npm cache), the `webapp` systemd service and the
# nginx site in front of it. The service is enabled, so an instance serves as soon as it boots.
#
# Valid for Debian's packer 1.6.6 and a current Packer with the amazon plugin (see base/base.pkr.hcl).

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
  description = "Environment (SST stage) the image is baked for (tag immutable-deploy:environment)."
  validation {
    condition     = regex_replace(var.environment, "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$", "") == ""
    error_message = "The environment must be 1-63 letters, digits, '.', '_' or '-'."
  }
}

variable "release" {
  type        = string
  description = "Release label (tag immutable-deploy:release, RELEASE in the app's environment)."
  validation {
    condition     = regex_replace(var.release, "^[a-zA-Z0-9][a-zA-Z0-9._+-]{0,63}$", "") == ""
    error_message = "The release must be 1-64 letters, digits, '.', '_', '-' or '+', starting with a letter or digit."
  }
}

variable "base_image_id" {
  type        = string
  description = "The base image to build on (ami-...)."
  validation {
    condition     = regex_replace(var.base_image_id, "^ami-([0-9a-f]{8}|[0-9a-f]{17})$", "") == ""
    error_message = "The base_image_id must be an AMI id such as ami-0123456789abcdef0."
  }
}

variable "artifact_file" {
  type        = string
  description = "Local path of the release artifact (.tgz with package.json, package-lock.json, built files)."
}

variable "app_port" {
  type        = number
  default     = 3000
  description = "Unprivileged loopback port the app listens on (PORT); nginx proxies port 80 to it."
  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535
    error_message = "The app_port must be an unprivileged port, 1024-65535."
  }
}

variable "nginx_workers" {
  type        = string
  default     = "auto"
  description = "nginx worker_processes: auto or a positive number."
  validation {
    condition     = regex_replace(var.nginx_workers, "^(auto|[1-9][0-9]{0,2})$", "") == ""
    error_message = "The nginx_workers must be auto or a positive number."
  }
}

variable "server_name" {
  type        = string
  default     = "_"
  description = "nginx server_name: _ (any), or space-separated host names (wildcards allowed)."
  validation {
    condition     = regex_replace(var.server_name, "^[a-zA-Z0-9._*-]+( [a-zA-Z0-9._*-]+)*$", "") == ""
    error_message = "The server_name must be _ or space-separated host names."
  }
}

variable "instance_type" {
  type        = string
  default     = "t3.micro"
  description = "Instance type of the temporary bake instance (same architecture as the base image)."
}

variable "subnet_id" {
  type        = string
  description = "Subnet of the bake instance; needs outbound access (npm registry for new dependencies, SSM)."
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
  description = "Root volume size in GiB (at least the base image's)."
}

variable "manifest_path" {
  type        = string
  default     = "release-manifest.json"
  description = "Where the manifest post-processor writes the AMI id."
}

locals {
  stamp = formatdate("YYYYMMDDhhmmss", timestamp())
  # The release label inside a name, by the one rule (functions/lib/contract.ts releaseNamePart): AMI names
  # allow no "+", so characters other than letters, digits, ".", "_", "-" become "-", and a label changed that
  # way gets "@" and 8 hex of its sha256 (v2.4.2+build.188 -> v2.4.2-build.188@a2e751c5). Tags keep it verbatim.
  release_safe = regex_replace(var.release, "[^a-zA-Z0-9._-]", "-")
  release_name = local.release_safe == var.release ? var.release : "${local.release_safe}@${substr(sha256(var.release), 0, 8)}"
  tags = {
    "Name"                         = "${var.app}-${var.environment}-${var.release}"
    "immutable-deploy:app"         = var.app
    "immutable-deploy:environment" = var.environment
    "immutable-deploy:release"     = var.release
    "immutable-deploy:role"        = "release"
  }
}

source "amazon-ebs" "release" {
  region          = var.region
  instance_type   = var.instance_type
  source_ami      = var.base_image_id
  ami_name        = "${var.app}-${var.environment}-${local.release_name}-${local.stamp}"
  ami_description = "immutable-deploy ${var.app} release ${var.release} for ${var.environment}, on base ${var.base_image_id}"

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
  sources = ["source.amazon-ebs.release"]

  provisioner "file" {
    source      = var.artifact_file
    destination = "/tmp/immutable-deploy-release.tgz"
  }

  provisioner "file" {
    source      = "${path.root}/files/nginx.conf.template"
    destination = "/tmp/immutable-deploy-nginx.conf.template"
  }

  provisioner "file" {
    source      = "${path.root}/files/webapp-site.conf.template"
    destination = "/tmp/immutable-deploy-webapp-site.conf.template"
  }

  provisioner "file" {
    source      = "${path.root}/files/webapp.service.template"
    destination = "/tmp/immutable-deploy-webapp.service.template"
  }

  provisioner "shell" {
    execute_command = "chmod +x '{{ .Path }}'; sudo env {{ .Vars }} '{{ .Path }}'"
    environment_vars = [
      "APP=${var.app}",
      "RELEASE=${var.release}",
      "APP_PORT=${var.app_port}",
      "NGINX_WORKERS=${var.nginx_workers}",
      "SERVER_NAME=${var.server_name}",
      "UPLOAD_DIR=/tmp",
    ]
    scripts = [
      "${path.root}/scripts/install-release.sh",
      "${path.root}/scripts/configure-nginx.sh",
      "${path.root}/scripts/install-service.sh",
    ]
  }

  post-processor "manifest" {
    output     = var.manifest_path
    strip_path = true
    custom_data = {
      role          = "release"
      app           = var.app
      release       = var.release
      base_image_id = var.base_image_id
    }
  }
}
