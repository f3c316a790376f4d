import "aws-sdk-client-mock-vitest/extend";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeInstanceTypeOfferingsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { App } from "sst/constructs";
import { initOfflineProject } from "../../stacks/synthesize.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import sstConfig from "../../sst.config.js";
import { appConfig, checkInstanceTypeOffered, defineStacks } from "../../stacks/app.js";
import { parseStageConfig, STAGES, StageConfigError } from "../../stacks/config.js";

const own = { domain: "shop.example.net", hostedZoneId: "Z08152342SHOPZONE001" };
const ec2Mock = mockClient(EC2Client);
/** EC2's answer: the zones of us-east-1 that offer t3.micro (not us-east-1e, as in many accounts). */
const offeredIn = (...zones: string[]) =>
  ec2Mock.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: zones.map((Location) => ({ InstanceType: "t3.micro", LocationType: "availability-zone", Location })),
  });

beforeEach(() => ec2Mock.reset());

describe("sst.config.ts config(): the stage's own region", () => {
  it("is what `npx sst deploy --stage X` deploys to", () => {
    expect(sstConfig.config({ stage: "dev01" })).toEqual({ name: "immutable-deploy", region: "us-east-1" });
    expect(appConfig({ stage: "eu01" }, { eu01: { ...own, region: "eu-west-1" } })).toEqual({ name: "immutable-deploy", region: "eu-west-1" });
  });

  it("refuses a --region that is not the stage's, naming both", () => {
    const attempt = () => appConfig({ stage: "eu01", region: "us-east-1" }, { eu01: { ...own, region: "eu-west-1" } });
    expect(attempt).toThrowError(StageConfigError);
    expect(attempt).toThrowError(/--region us-east-1: the stage is configured for region eu-west-1 \(stacks\/config.ts\); allowed: no --region, or --region eu-west-1/);
  });

  it("leaves an unknown stage to the stacks, which list the configured ones", () => {
    expect(appConfig({ stage: "nope" })).toEqual({ name: "immutable-deploy" });
  });
});

describe("sst.config.ts stacks() outside the offline synthesis (sst deploy, diff, remove)", () => {
  let outdir: string;
  beforeEach(() => {
    outdir = mkdtempSync(join(tmpdir(), "deploy-checks-"));
  });
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));
  const deployApp = async (stage: string) => {
    await initOfflineProject(stage);
    return new App({ mode: "deploy", name: "immutable-deploy", stage, region: "us-east-1", account: "123456789012" }, { outdir });
  };

  it("refuses the shipped placeholder domain and hosted zone before creating anything", async () => {
    // Act
    const app = await deployApp("dev01");
    const attempt = defineStacks(app);
    // Assess
    await expect(attempt).rejects.toThrowError(/^Invalid configuration for stage "dev01":\n {2}domain: "example\.com"; allowed: a domain whose hosted zone you own .*\n {2}hostedZoneId: "Z0123456789EXAMPLE01"; allowed: /);
    expect(app.node.children).toHaveLength(0);
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it("refuses an instance type EC2 does not offer in every zone of the stage, listing the zones that offer it", async () => {
    // Prepare
    Object.assign(STAGES, { zonecheck01: { ...own, availabilityZones: ["us-east-1a", "us-east-1e"] } });
    offeredIn("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f");
    // Act
    const attempt = defineStacks(await deployApp("zonecheck01"));
    // Assess
    await expect(attempt).rejects.toThrowError(
      'instanceType: "t3.micro"; allowed: a type EC2 offers in every availability zone of the stage (us-east-1a, us-east-1e; not offered in us-east-1e), or availabilityZones (vpc.availabilityZones) among the zones that offer it: us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f',
    );
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstanceTypeOfferingsCommand, {
      LocationType: "availability-zone",
      Filters: [{ Name: "instance-type", Values: ["t3.micro"] }],
    });
  });
});

describe("checkInstanceTypeOffered", () => {
  const config = parseStageConfig("dev01", { ...own, availabilityZones: ["us-east-1a", "us-east-1b"] });

  it("passes when every zone offers the type", async () => {
    offeredIn("us-east-1a", "us-east-1b");
    await expect(checkInstanceTypeOffered(config, ["us-east-1a", "us-east-1b"], new EC2Client({}))).resolves.toBeUndefined();
  });

  it("asks nothing while the zones are CDK's placeholders (the lookup not made yet)", async () => {
    await checkInstanceTypeOffered(config, ["dummy1a", "dummy1b"], new EC2Client({}));
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });
});
