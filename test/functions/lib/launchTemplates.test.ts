import "aws-sdk-client-mock-vitest/extend";
import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import { DeleteLaunchTemplateVersionsCommand, DescribeLaunchTemplateVersionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  deleteLaunchTemplateVersions,
  groupNameOfVersion,
  launchTemplatesOf,
  launchTemplateVersionDescription,
  listLaunchTemplateVersions,
  versionsUsedBy,
} from "../../../functions/lib/launchTemplates.js";

const ec2Mock = mockClient(EC2Client);
const versions = (count: number, from = 1) => Array.from({ length: count }, (_, i) => String(from + i));

beforeEach(() => {
  ec2Mock.reset();
});

describe("the group a version is for", () => {
  it("is in the version's description, which this project writes", () => {
    expect(launchTemplateVersionDescription("shop-dev01-v2-abc")).toBe("immutable-deploy group shop-dev01-v2-abc");
    expect(groupNameOfVersion({ VersionDescription: "immutable-deploy group shop-dev01-v2-abc" })).toBe("shop-dev01-v2-abc");
    expect(groupNameOfVersion({ VersionDescription: "made by hand" })).toBeUndefined();
    expect(groupNameOfVersion({ VersionDescription: "the immutable-deploy group x" })).toBeUndefined();
    expect(groupNameOfVersion({})).toBeUndefined();
  });
});

describe("listLaunchTemplateVersions", () => {
  it("reads every page, 200 versions a call, with the filters given", async () => {
    ec2Mock
      .on(DescribeLaunchTemplateVersionsCommand)
      .resolvesOnce({ LaunchTemplateVersions: [{ VersionNumber: 1 }], NextToken: "next" })
      .resolvesOnce({ LaunchTemplateVersions: [{ VersionNumber: 2 }] })
      .resolves({});
    const filters = [{ Name: "is-default-version", Values: ["false"] }];

    expect((await listLaunchTemplateVersions("lt-1", filters)).map((version) => version.VersionNumber)).toEqual([1, 2]);
    expect(await listLaunchTemplateVersions("lt-1")).toEqual([]);

    expect(ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand).map((call) => call.args[0].input)).toEqual([
      { LaunchTemplateId: "lt-1", Filters: filters, MaxResults: 200, NextToken: undefined },
      { LaunchTemplateId: "lt-1", Filters: filters, MaxResults: 200, NextToken: "next" },
      { LaunchTemplateId: "lt-1", Filters: undefined, MaxResults: 200, NextToken: undefined },
    ]);
  });
});

describe("launchTemplatesOf and versionsUsedBy", () => {
  const group = {
    LaunchTemplate: { LaunchTemplateId: "lt-1", Version: "7" },
    MixedInstancesPolicy: {
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: "lt-1", Version: "$Latest" },
        Overrides: [{ InstanceType: "t3.large" }, { LaunchTemplateSpecification: { LaunchTemplateName: "arm", Version: "2" } }],
      },
    },
    Instances: [{ InstanceId: "i-1", LaunchTemplate: { LaunchTemplateId: "lt-1", Version: "6" } }, { InstanceId: "i-2" }],
  } as AutoScalingGroup;

  it("lists the group's own template, its mixed-instances policy's and overrides', and its instances'", () => {
    expect(launchTemplatesOf(group)).toEqual([
      { LaunchTemplateId: "lt-1", Version: "7" },
      { LaunchTemplateId: "lt-1", Version: "$Latest" },
      { LaunchTemplateName: "arm", Version: "2" },
      { LaunchTemplateId: "lt-1", Version: "6" },
    ]);
    expect(launchTemplatesOf({} as AutoScalingGroup)).toEqual([]);
    expect(launchTemplatesOf({ LaunchTemplate: { Version: "1" } } as AutoScalingGroup)).toEqual([]);
    expect(launchTemplatesOf({ MixedInstancesPolicy: { LaunchTemplate: {} } } as AutoScalingGroup)).toEqual([]);
  });

  it("names the versions of one template the groups use, $Default for a specification without a version", () => {
    const other = { LaunchTemplate: { LaunchTemplateId: "lt-1" }, Instances: [{ LaunchTemplate: { LaunchTemplateId: "lt-2", Version: "3" } }] } as AutoScalingGroup;
    expect([...versionsUsedBy([group, other], "lt-1")].sort()).toEqual(["$Default", "$Latest", "6", "7"]);
    expect([...versionsUsedBy([group, other], "lt-2")]).toEqual(["3"]);
    expect(versionsUsedBy([], "lt-1").size).toBe(0);
  });
});

describe("deleteLaunchTemplateVersions", () => {
  it("deletes 200 versions a call and counts those already gone, not those refused", async () => {
    ec2Mock
      .on(DeleteLaunchTemplateVersionsCommand)
      .resolvesOnce({
        SuccessfullyDeletedLaunchTemplateVersions: [{ VersionNumber: 1 }, { VersionNumber: 2 }],
        UnsuccessfullyDeletedLaunchTemplateVersions: [
          { VersionNumber: 3, ResponseError: { Code: "launchTemplateVersionDoesNotExist", Message: "gone" } },
          { VersionNumber: 4, ResponseError: { Code: "unexpectedError", Message: "the default version cannot be deleted" } },
          { VersionNumber: 5 },
        ],
      })
      .resolvesOnce({ SuccessfullyDeletedLaunchTemplateVersions: [{ VersionNumber: 201 }] })
      .resolves({});

    const deleted = await deleteLaunchTemplateVersions("lt-1", versions(401));

    expect(deleted).toEqual(["1", "2", "3", "201"]);
    const batches = ec2Mock.commandCalls(DeleteLaunchTemplateVersionsCommand).map((call) => call.args[0].input);
    expect(batches.map((input) => [input.LaunchTemplateId, input.Versions?.[0], input.Versions?.length])).toEqual([
      ["lt-1", "1", 200],
      ["lt-1", "201", 200],
      ["lt-1", "401", 1],
    ]);
  });

  it("sends one call for exactly 200 versions and none for none", async () => {
    ec2Mock.on(DeleteLaunchTemplateVersionsCommand).resolves({});

    expect(await deleteLaunchTemplateVersions("lt-1", versions(200))).toEqual([]);
    expect(await deleteLaunchTemplateVersions("lt-1", [])).toEqual([]);

    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteLaunchTemplateVersionsCommand, 1);
  });
});
