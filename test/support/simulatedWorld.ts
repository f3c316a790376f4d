/** Test fixtures on the simulated region: an environment with real SDK clients, release images, a launched group. */
import { AutoScalingClient, CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { CreateLaunchTemplateVersionCommand, EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import { IMAGE_ROLE, TAG } from "../../functions/lib/names.js";
import { attachRegion, createEnvironment, type CreateEnvironmentOptions, SimulatedRegion, type Timing } from "../../simulator/region/index.js";

/** A region with one environment and real SDK clients routed to it. */
export function simulatedWorld(options: { environment?: CreateEnvironmentOptions; timing?: Partial<Timing> } = {}) {
  const region = new SimulatedRegion({ timing: options.timing });
  const settings = createEnvironment(region, options.environment);
  const clients = {
    autoScaling: new AutoScalingClient({ region: "us-east-1" }),
    ec2: new EC2Client({ region: "us-east-1" }),
    elbv2: new ElasticLoadBalancingV2Client({ region: "us-east-1" }),
    elb: new ElasticLoadBalancingClient({ region: "us-east-1" }),
  };
  const attachment = attachRegion(region, Object.values(clients));
  return { region, settings, clients, attachment };
}

/** An available release image, as a finished bake leaves it. */
export function releaseImage(region: SimulatedRegion, settings: EnvironmentSettings, release: string): string {
  return region.ec2.createImage({
    name: `${settings.app}-${release}`,
    tags: [
      { Key: TAG.app, Value: settings.app },
      { Key: TAG.environment, Value: settings.environment },
      { Key: TAG.release, Value: release },
      { Key: TAG.role, Value: IMAGE_ROLE.release },
    ],
  }).imageId;
}

/** What Launch does: a launch template version with the image, and a group pinned to it behind the LB. */
export async function launchGroup(
  world: ReturnType<typeof simulatedWorld>,
  options: { release: string; groupName?: string; desired?: number; max?: number },
): Promise<string> {
  const { region, settings, clients } = world;
  const imageId = releaseImage(region, settings, options.release);
  const version = await clients.ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: settings.launchTemplateId,
      SourceVersion: "$Default",
      LaunchTemplateData: { ImageId: imageId },
    }),
  );
  const groupName = options.groupName ?? `${settings.app}-${settings.environment}-${options.release}`;
  const desired = options.desired ?? settings.capacity.desired;
  await clients.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: groupName,
      LaunchTemplate: { LaunchTemplateId: settings.launchTemplateId, Version: String(version.LaunchTemplateVersion?.VersionNumber) },
      MinSize: Math.min(settings.capacity.min, desired),
      DesiredCapacity: desired,
      MaxSize: options.max ?? Math.max(settings.capacity.max, desired),
      VPCZoneIdentifier: settings.subnetIds.join(","),
      HealthCheckType: "ELB",
      HealthCheckGracePeriod: settings.healthCheckGracePeriodSeconds,
      ...(settings.loadBalancer.kind === "application"
        ? { TargetGroupARNs: [settings.loadBalancer.targetGroupArn] }
        : { LoadBalancerNames: [settings.loadBalancer.loadBalancerName] }),
      Tags: [
        { Key: TAG.app, Value: settings.app, PropagateAtLaunch: true },
        { Key: TAG.environment, Value: settings.environment, PropagateAtLaunch: true },
        { Key: TAG.release, Value: options.release, PropagateAtLaunch: true },
      ],
    }),
  );
  return groupName;
}

export async function describeGroup(world: ReturnType<typeof simulatedWorld>, name: string) {
  const result = await world.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return result.AutoScalingGroups?.[0];
}
