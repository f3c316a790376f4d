/** Builders for the control stages' tests (Prepare, Lock/Unlock, Notify, image retention). */

import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import type { Image } from "@aws-sdk/client-ec2";
import type { DeployPlan, DeployState, EnvironmentSettings } from "../../functions/lib/contract.js";
import { IMAGE_ROLE, TAG } from "../../functions/lib/names.js";
import { awsError, lambdaContext, LAUNCH_TEMPLATE_ID, settings } from "./fixtures.js";

export { awsError, lambdaContext, LAUNCH_TEMPLATE_ID };

export const APP = "shop";
export const ENVIRONMENT = "dev01";
export const LOCK_TABLE = "shop-dev01-deploy-lock";
export const TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:shop-dev01-deploys";
export const EVENT_BUS = "default";

export function executionArn(name: string): string {
  return `arn:aws:states:us-east-1:123456789012:execution:shop-dev01-deploy:${name}`;
}

export const MY_EXECUTION = executionArn("exec-me");

/** The group stages' settings (fixtures.ts), with this file's lock table, topic and bus. */
export function controlSettings(overrides: Partial<EnvironmentSettings> = {}): EnvironmentSettings {
  return { ...settings("application"), lockTableName: LOCK_TABLE, topicArn: TOPIC_ARN, eventBusName: EVENT_BUS, ...overrides };
}

export function controlPlan(overrides: Partial<DeployPlan> = {}): DeployPlan {
  return {
    release: "v2",
    artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz", etag: "0123456789abcdef0123456789abcdef" },
    rebuildBase: false,
    keepImages: false,
    groupName: "shop-dev01-v2-1a2b3c4d",
    liveGroups: [],
    desiredCapacity: 2,
    ...overrides,
  };
}

export function controlState(overrides: Partial<DeployState> = {}): DeployState {
  return {
    settings: controlSettings(),
    input: {},
    execution: { id: MY_EXECUTION, name: "exec-me", startTime: "2025-01-01T00:00:00.000Z" },
    ...overrides,
  };
}

/** An S3 `Object Created` event exactly as EventBridge delivers it to the state machine. */
export function s3ObjectCreatedEvent(object: { bucket?: string; key: string; etag?: string; versionId?: string }) {
  return {
    version: "0",
    id: "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    source: "aws.s3",
    account: "123456789012",
    time: "2025-01-01T12:00:00Z",
    region: "us-east-1",
    resources: [`arn:aws:s3:::${object.bucket ?? "shop-artifacts"}`],
    detail: {
      version: "0",
      bucket: { name: object.bucket ?? "shop-artifacts" },
      object: {
        key: object.key,
        size: 5576,
        etag: object.etag ?? "b1946ac92492d2347c6235b4d2611184",
        ...(object.versionId !== undefined && { "version-id": object.versionId }),
        sequencer: "00617F08299329D189",
      },
      "request-id": "N4N7GDK58NMKJ12R",
      requester: "123456789012",
      "source-ip-address": "1.2.3.4",
      reason: "PutObject",
    },
  };
}

export function releaseImage(options: {
  id: string;
  release: string;
  created: string;
  snapshots?: string[];
  state?: Image["State"];
  environment?: string;
  role?: string;
}): Image {
  return {
    ImageId: options.id,
    State: options.state ?? "available",
    CreationDate: options.created,
    BlockDeviceMappings: (options.snapshots ?? []).map((snapshotId) => ({
      DeviceName: "/dev/xvda",
      Ebs: { SnapshotId: snapshotId },
    })),
    Tags: [
      { Key: TAG.app, Value: APP },
      { Key: TAG.environment, Value: options.environment ?? ENVIRONMENT },
      { Key: TAG.role, Value: options.role ?? IMAGE_ROLE.release },
      { Key: TAG.release, Value: options.release },
    ],
  };
}

export function environmentGroup(options: {
  name: string;
  release?: string;
  desired?: number;
  launchTemplateVersion?: string;
  launchTemplateId?: string;
  status?: string;
}): AutoScalingGroup {
  return {
    AutoScalingGroupName: options.name,
    MinSize: 1,
    DesiredCapacity: options.desired ?? 2,
    MaxSize: 4,
    DefaultCooldown: 300,
    AvailabilityZones: ["us-east-1a"],
    HealthCheckType: "ELB",
    CreatedTime: new Date("2025-01-01T00:00:00Z"),
    ...(options.status && { Status: options.status }),
    LaunchTemplate: {
      LaunchTemplateId: options.launchTemplateId ?? LAUNCH_TEMPLATE_ID,
      Version: options.launchTemplateVersion ?? "1",
    },
    Tags: [
      { Key: TAG.app, Value: APP },
      { Key: TAG.environment, Value: ENVIRONMENT },
      ...(options.release ? [{ Key: TAG.release, Value: options.release }] : []),
    ],
  };
}
