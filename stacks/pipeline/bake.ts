import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AssetHashType, Duration, IgnoreStrategy, RemovalPolicy, type Stack } from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import { NagSuppressions } from "cdk-nag";
import { TAG } from "../../functions/lib/names.js";
import type { EnvironmentResources } from "../Environment.js";
import { sessionManagerRole } from "../nag.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * What the bake takes from the repository: CodeBuild's buildspec and the Packer templates and scripts, nothing
 * else. `.*` too: the glob `*` does not match a name that starts with a dot, so without it the source carried
 * `.git` (the whole history, and a new asset at every commit), `.sst`, `.synth` and `.ci`.
 */
export const BAKE_SOURCE_EXCLUDE = ["*", ".*", "!buildspec.yml", "!packer", "!packer/**"];

/**
 * The files of the bake source (paths relative to `root`, sorted by directory), as CDK's copy selects them: an
 * excluded entry is skipped before it is looked at, so a file another process creates and removes meanwhile is
 * never touched.
 */
export function bakeSourceFiles(root: string): string[] {
  const ignore = IgnoreStrategy.glob(root, BAKE_SOURCE_EXCLUDE);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (ignore.completelyIgnores(file)) continue;
      const stat = lstatSync(file);
      if (stat.isDirectory()) walk(file);
      else if (!ignore.ignores(file)) files.push(path.relative(root, file).split(path.sep).join("/"));
    }
  };
  walk(root);
  return files;
}

/**
 * The bake source's hash: each file's path and content. CDK's own fingerprint (the default, `SOURCE`) looks at
 * every entry of the project root before it applies the exclusions, so a file that another process removes in
 * between (SST writes `.sst.config.<time>.mjs` there while it loads sst.config.ts) failed the synthesis with
 * ENOENT (a test run with parallel syntheses did).
 */
export function bakeSourceHash(root: string): string {
  const hash = createHash("sha256");
  for (const file of bakeSourceFiles(root)) hash.update(`${file}\0${createHash("sha256").update(readFileSync(path.join(root, file))).digest("hex")}\n`);
  return hash.digest("hex");
}

/**
 * The bake: a CodeBuild project that runs buildspec.yml (Packer, base and release images) on a temporary
 * instance reached only through Session Manager, with its IAM beside it.
 */
export function bakeProject(stack: Stack, env: EnvironmentResources, artifacts: s3.IBucket): codebuild.Project {
  const { config } = env;
  const bakeRole = sessionManagerRole(stack, "BakeInstanceRole", "Packer's temporary bake instance: Session Manager only");
  const bakeProfile = new iam.InstanceProfile(stack, "BakeInstanceProfile", { role: bakeRole });
  const bakeSecurityGroup = new ec2.SecurityGroup(stack, "BakeSecurityGroup", {
    vpc: env.vpc,
    description: "Packer bake instance: no ingress (Session Manager), outbound for packages",
    allowAllOutbound: true,
  });
  const source = new s3assets.Asset(stack, "BakeSource", {
    path: ROOT,
    exclude: BAKE_SOURCE_EXCLUDE,
    assetHashType: AssetHashType.CUSTOM,
    assetHash: bakeSourceHash(ROOT),
  });
  const key = new kms.Key(stack, "BakeKey", { enableKeyRotation: true, description: "CodeBuild bake artifacts and logs" });
  const logGroup = new logs.LogGroup(stack, "BakeLogs", {
    retention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const project = new codebuild.Project(stack, "Bake", {
    description: `Bakes ${config.app} release images with Packer (${config.stage})`,
    source: codebuild.Source.s3({ bucket: source.bucket, path: source.s3ObjectKey }),
    buildSpec: codebuild.BuildSpec.fromSourceFilename("buildspec.yml"),
    environment: {
      buildImage: codebuild.LinuxBuildImage.AMAZON_LINUX_2023_5,
      computeType: codebuild.ComputeType.SMALL,
    },
    encryptionKey: key,
    timeout: Duration.minutes(90),
    logging: { cloudWatch: { logGroup } },
    environmentVariables: plainVariables({
      APP: config.app,
      ENVIRONMENT: config.stage,
      BAKE_SUBNET_ID: env.publicSubnets[0].subnetId,
      BAKE_SECURITY_GROUP_ID: bakeSecurityGroup.securityGroupId,
      BAKE_INSTANCE_PROFILE: bakeProfile.instanceProfileName,
      BAKE_INSTANCE_TYPE: config.instanceType,
      NODE_VERSION: config.nodeVersion,
      APP_PORT: String(config.appPort),
      NGINX_WORKERS: "auto",
      SERVER_NAME: "_",
    }),
  });
  artifacts.grantRead(project);
  grantPackerBake(stack, project, config.app, bakeRole);
  NagSuppressions.addResourceSuppressions(
    project,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Packer's documented minimal EC2 policy: the EC2 actions it needs do not support resource-level permissions " +
          "(Describe*, RunInstances on AMIs/subnets it discovers), plus CodeBuild's own report/log group grants.",
      },
    ],
    true,
  );
  return project;
}

function plainVariables(values: Record<string, string>): Record<string, codebuild.BuildEnvironmentVariable> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }]));
}

/**
 * Packer's amazon-ebs builder: its documented minimal policy, with the mutating actions scoped to the
 * resources it tags (our tags on images, snapshots, instances) where EC2 supports conditions.
 */
function grantPackerBake(stack: Stack, project: codebuild.Project, app: string, bakeRole: iam.Role) {
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [
        "ec2:DescribeImages",
        "ec2:DescribeImageAttribute",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeRegions",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSnapshots",
        "ec2:DescribeSubnets",
        "ec2:DescribeTags",
        "ec2:DescribeVolumes",
        "ec2:DescribeVpcs",
        "ec2:CreateImage",
        "ec2:RegisterImage",
        "ec2:CreateSnapshot",
        "ec2:CreateVolume",
        "ec2:AttachVolume",
        "ec2:DetachVolume",
        "ec2:CopyImage",
        "ec2:ModifyImageAttribute",
        "ec2:ModifyInstanceAttribute",
        "ec2:CreateTags",
        "ec2:RunInstances",
        "ec2:StopInstances",
        "ec2:GetPasswordData",
        "ec2:CreateKeyPair",
        "ec2:DeleteKeyPair",
      ],
      resources: ["*"],
    }),
  );
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["ec2:TerminateInstances", "ec2:DeleteVolume", "ec2:DeleteSnapshot", "ec2:DeregisterImage"],
      resources: ["*"],
      conditions: { StringEquals: { [`aws:ResourceTag/${TAG.app}`]: app } },
    }),
  );
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["ssm:StartSession", "ssm:TerminateSession", "ssm:ResumeSession", "ssm:DescribeInstanceInformation"],
      resources: ["*"],
    }),
  );
  project.addToRolePolicy(new iam.PolicyStatement({ actions: ["iam:PassRole"], resources: [bakeRole.roleArn] }));
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["iam:GetInstanceProfile"],
      resources: [stack.formatArn({ service: "iam", region: "", resource: "instance-profile", resourceName: "*" })],
    }),
  );
}
