/**
 * Eventual consistency in the simulated region (simulator/region/timing.ts, "ConsistencySettings"): reads
 * lag behind writes by delays drawn per resource from a seed. Each test fixes one delay and turns the others
 * off, and watches the real SDK's answers change at that moment.
 */
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeLoadBalancerTargetGroupsCommand,
  DescribeScalingActivitiesCommand,
  DescribeTrafficSourcesCommand,
  DetachLoadBalancerTargetGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  CreateLaunchTemplateVersionCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
} from "@aws-sdk/client-ec2";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConsistencyModel,
  type ConsistencySettings,
  DEFAULT_CONSISTENCY,
  DEFAULT_TIMING,
  IMMEDIATE_CONSISTENCY,
} from "../../simulator/region/index.js";
import { describeGroup, launchGroup, releaseImage, simulatedWorld, detachAll } from "../support/simulatedWorld.js";

// Test files share worker threads (vitest.config.ts): leave no region attached for the next file.
afterEach(detachAll);

/** A world where only the given delays apply (and requests take no time). */
function worldWith(delays: Partial<ConsistencySettings>) {
  return simulatedWorld({ region: { apiLatencySeconds: 0, consistency: { ...IMMEDIATE_CONSISTENCY, ...delays } } });
}

function targetGroupArn(world: ReturnType<typeof simulatedWorld>): string {
  if (world.settings.loadBalancer.kind !== "application") throw new Error("expected an ALB environment");
  return world.settings.loadBalancer.targetGroupArn;
}

const groupInput = (world: ReturnType<typeof simulatedWorld>, name: string, version: string) =>
  new CreateAutoScalingGroupCommand({
    AutoScalingGroupName: name,
    LaunchTemplate: { LaunchTemplateId: world.settings.launchTemplateId, Version: version },
    MinSize: 0,
    MaxSize: 1,
    DesiredCapacity: 0,
    VPCZoneIdentifier: world.settings.subnetIds.join(","),
  });

describe("eventual consistency", () => {
  it("the Environment stack's launch template and stock image were made before the simulation: past every delay at once", async () => {
    // Prepare: the default delays (DEFAULT_CONSISTENCY), at the region's first moment.
    const world = simulatedWorld({ region: { apiLatencySeconds: 0 } });
    // Act
    const versions = await world.clients.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: world.settings.launchTemplateId, Versions: ["$Default"] }));
    const stockImageId = versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.ImageId;
    const images = await world.clients.ec2.send(new DescribeImagesCommand({ ImageIds: [stockImageId ?? "none"] }));
    const group = await world.clients.autoScaling.send(groupInput(world, "g", "1"));
    // Assess
    expect(versions.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([1]);
    expect(images.Images?.map((image) => image.ImageId)).toEqual([stockImageId]);
    expect(group.$metadata.httpStatusCode).toBe(200);
  });

  it("a new group is missing from DescribeAutoScalingGroups for its delay; writes see it at once", async () => {
    // Prepare
    const world = worldWith({ groupVisibleSeconds: [3, 3] });
    const name = await launchGroup(world, { release: "v1", desired: 0 });
    // Act
    const atFirst = await describeGroup(world, name);
    const again = await world.clients.autoScaling.send(groupInput(world, name, "1")).catch((error: unknown) => error);
    world.region.advance(2.999);
    const justBefore = await describeGroup(world, name);
    world.region.advance(0.001);
    const listed = await describeGroup(world, name);
    // Assess
    expect(atFirst).toBeUndefined();
    expect(again).toMatchObject({ name: "AlreadyExistsFault", Code: "AlreadyExists" });
    expect(justBefore).toBeUndefined();
    expect(listed?.AutoScalingGroupName).toBe(name);
  });

  it("a group not listed yet can still be deleted by its name", async () => {
    // Prepare
    const world = worldWith({ groupVisibleSeconds: [3, 3] });
    const name = await launchGroup(world, { release: "v1", desired: 0 });
    // Act
    await world.clients.autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }));
    world.region.advance(3);
    const deleting = await describeGroup(world, name);
    // Assess
    expect(deleting?.Status).toBe("Delete in progress");
  });

  it("Auto Scaling refuses a launch-template version it cannot see yet, with the ValidationError Terraform retries", async () => {
    // Prepare
    const world = worldWith({ launchTemplateVersionToAutoScalingSeconds: [4, 4] });
    const imageId = releaseImage(world.region, world.settings, "v1");
    const created = await world.clients.ec2.send(
      new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: world.settings.launchTemplateId, SourceVersion: "$Default", LaunchTemplateData: { ImageId: imageId } }),
    );
    const version = String(created.LaunchTemplateVersion?.VersionNumber);
    // Act
    const refused = await world.clients.autoScaling.send(groupInput(world, "g", version)).catch((error: unknown) => error);
    world.region.advance(4);
    const accepted = await world.clients.autoScaling.send(groupInput(world, "g", version));
    // Assess
    expect(refused).toMatchObject({
      name: "ValidationError",
      $fault: "client",
      message: expect.stringMatching(/^You must use a valid fully-formed launch template\. The specified launch template version \d+ of lt-/),
    });
    expect(accepted.$metadata.httpStatusCode).toBe(200);
  });

  it("a new launch-template version is missing from DescribeLaunchTemplateVersions for its delay; the same ClientToken gets the same version", async () => {
    // Prepare
    const world = worldWith({ launchTemplateVersionVisibleSeconds: [2, 2] });
    const create = (imageId: string) =>
      world.clients.ec2.send(
        new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: world.settings.launchTemplateId, ClientToken: "token-1", LaunchTemplateData: { ImageId: imageId } }),
      );
    const versions = async () =>
      ((await world.clients.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: world.settings.launchTemplateId }))).LaunchTemplateVersions ?? []).map(
        (v) => v.VersionNumber,
      );
    // Act
    const first = await create("ami-0a");
    const listedAtFirst = await versions();
    const byNumber = await world.clients.ec2
      .send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: world.settings.launchTemplateId, Versions: [String(first.LaunchTemplateVersion?.VersionNumber)] }))
      .catch((error: unknown) => error);
    const retried = await create("ami-0a");
    const mismatch = await create("ami-0b").catch((error: unknown) => error);
    world.region.advance(2);
    const listedLater = await versions();
    // Assess
    expect(listedAtFirst).toEqual([1]);
    expect(byNumber).toMatchObject({ name: "InvalidLaunchTemplateId.VersionNotFound" });
    expect(retried.LaunchTemplateVersion?.VersionNumber).toBe(first.LaunchTemplateVersion?.VersionNumber);
    expect(mismatch).toMatchObject({ name: "IdempotentParameterMismatch" });
    expect(listedLater).toEqual([2, 1]);
  });

  it("a new image is NotFound for its delay; a deregistered one stays listed as deregistered, then answers empty while an instance runs from it, then NotFound", async () => {
    // Prepare: the image one group runs from.
    const world = worldWith({ imageVisibleSeconds: [2, 2], deregisteredImageListedSeconds: [60, 60] });
    const fresh = releaseImage(world.region, world.settings, "v0");
    const describeImage = (imageId: string) =>
      world.clients.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })).then((answer) => answer.Images ?? [], (error: unknown) => error);
    const notYet = await describeImage(fresh);
    world.region.advance(2);
    const available = await describeImage(fresh);
    const name = await launchGroup(world, { release: "v1", desired: 1 });
    const imageId = world.region.ec2.instances.values().next().value!.imageId;
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds + 2);
    // Act
    await world.clients.ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
    const listed = await describeImage(imageId);
    const availableOnly = await world.clients.ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "state", Values: ["available"] }] }));
    const again = await world.clients.ec2.send(new DeregisterImageCommand({ ImageId: imageId })).catch((error: unknown) => error);
    world.region.advance(60);
    const whileRunning = await describeImage(imageId);
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }));
    world.region.advance(DEFAULT_TIMING.drainingSeconds + DEFAULT_TIMING.terminationSeconds + 1);
    const afterwards = await describeImage(imageId);
    // Assess
    expect(notYet).toMatchObject({ name: "InvalidAMIID.NotFound" });
    expect(available).toMatchObject([{ ImageId: fresh, State: "available" }]);
    expect(listed).toMatchObject([{ ImageId: imageId, State: "deregistered" }]);
    expect(availableOnly.Images?.map((image) => image.ImageId)).not.toContain(imageId);
    expect(again).toMatchObject({ name: "InvalidAMIID.Unavailable" });
    expect(whileRunning).toEqual([]);
    expect(afterwards).toMatchObject({ name: "InvalidAMIID.NotFound" });
  });

  it("a newly registered target is missing from DescribeTargetHealth for its delay; asked by id it is initial, registration in progress", async () => {
    // Prepare
    const world = worldWith({ targetVisibleSeconds: [3, 3] });
    await launchGroup(world, { release: "v1", desired: 1 });
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds);
    const instanceId = world.region.ec2.instances.keys().next().value!;
    const health = (targets?: { Id: string }[]) =>
      world.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn(world), Targets: targets })).then((answer) => answer.TargetHealthDescriptions ?? []);
    // Act
    const listedAtFirst = await health();
    const byId = await health([{ Id: instanceId }]);
    world.region.advance(3);
    const listedLater = await health();
    // Assess
    expect(listedAtFirst).toEqual([]);
    expect(byId).toMatchObject([{ Target: { Id: instanceId }, TargetHealth: { State: "initial", Reason: "Elb.RegistrationInProgress" } }]);
    expect(listedLater).toMatchObject([{ Target: { Id: instanceId }, TargetHealth: { State: "initial", Reason: "Elb.InitialHealthChecking" } }]);
  });

  it("a detached target group stays attached as Removing until the group's instances drained, then it is gone", async () => {
    // Prepare
    const world = worldWith({});
    const name = await launchGroup(world, { release: "v1" });
    world.region.advance(200);
    const arn = targetGroupArn(world);
    const states = async () => ({
      targetGroups: (await world.clients.autoScaling.send(new DescribeLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: name }))).LoadBalancerTargetGroups,
      trafficSources: (await world.clients.autoScaling.send(new DescribeTrafficSourcesCommand({ AutoScalingGroupName: name }))).TrafficSources?.map((t) => t.State),
      listedInGroup: (await describeGroup(world, name))?.TargetGroupARNs,
    });
    const before = await states();
    // Act
    await world.clients.autoScaling.send(new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: name, TargetGroupARNs: [arn] }));
    const removing = await states();
    world.region.advance(DEFAULT_TIMING.drainingSeconds - 1);
    const stillRemoving = await states();
    world.region.advance(1);
    const removed = await states();
    // Assess
    expect(before).toEqual({ targetGroups: [{ LoadBalancerTargetGroupARN: arn, State: "InService" }], trafficSources: ["InService"], listedInGroup: [arn] });
    expect(removing).toEqual({ targetGroups: [{ LoadBalancerTargetGroupARN: arn, State: "Removing" }], trafficSources: ["Removing"], listedInGroup: [arn] });
    expect(stillRemoving.targetGroups).toEqual([{ LoadBalancerTargetGroupARN: arn, State: "Removing" }]);
    expect(removed).toEqual({ targetGroups: [], trafficSources: [], listedInGroup: [] });
  });

  it("delays are drawn per resource from the seed and range: the same every run, independent of other resources", () => {
    // Prepare
    const model = new ConsistencyModel(DEFAULT_CONSISTENCY);
    const other = new ConsistencyModel({ ...DEFAULT_CONSISTENCY, seed: 2 });
    // Act
    const delays = Array.from({ length: 50 }, (_, i) => model.delayMs("groupVisibleSeconds", `group-${i}`));
    // Assess
    expect(model.delayMs("groupVisibleSeconds", "group-7")).toBe(delays[7]);
    expect(new ConsistencyModel(DEFAULT_CONSISTENCY).delayMs("groupVisibleSeconds", "group-7")).toBe(delays[7]);
    expect(delays.every((ms) => ms >= 1000 && ms <= 5000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(40);
    expect(delays.filter((ms, i) => ms !== other.delayMs("groupVisibleSeconds", `group-${i}`)).length).toBeGreaterThan(40);
  });
});

describe("launch capacity", () => {
  it("launches beyond the available capacity fail with InsufficientInstanceCapacity as failed activities; Auto Scaling retries until capacity is back", async () => {
    // Prepare: capacity for one more instance, then two failed launches before EC2 has capacity again.
    const world = worldWith({});
    world.region.faults.inject([{ launchCapacity: { available: 1, times: 2 } }]);
    // Act
    const name = await launchGroup(world, { release: "v1", desired: 3 });
    const partial = await describeGroup(world, name);
    world.region.advance(10);
    const stillShort = await describeGroup(world, name);
    world.region.advance(10);
    const full = await describeGroup(world, name);
    const activities = (await world.clients.autoScaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }))).Activities ?? [];
    // Assess
    expect(partial?.Instances).toHaveLength(1);
    expect(stillShort?.Instances).toHaveLength(1);
    expect(full?.Instances).toHaveLength(3);
    const failed = activities.filter((activity) => activity.StatusCode === "Failed");
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatchObject({
      Description: expect.stringContaining("Launching a new EC2 instance.  Status Reason: We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-east-1"),
      StatusMessage: expect.stringContaining("Launching EC2 instance failed."),
    });
  });
});
