import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { attachRegion, RegionHttpHandler } from "../../simulator/region/index.js";
import { RegionSigner, SIMULATED_SIGNATURE, signatureProblem } from "../../simulator/region/signing.js";
import { SimulatedRegion } from "../../simulator/region/region.js";
import { INSTANT_REGION } from "../support/simulatedWorld.js";

/**
 * SigV4 in the simulated region: attached clients sign with the stand-in (the real credential scope, a fixed
 * signature) and the region refuses, as AWS does, a request scoped to another region or service.
 */
const detachments: Array<() => void> = [];
afterEach(() => {
  for (const detach of detachments.splice(0)) detach();
});
function attached<T extends AutoScalingClient | DynamoDBClient>(region: SimulatedRegion, client: T): T {
  const attachment = attachRegion(region, [client]);
  detachments.push(() => attachment.detach());
  return client;
}
const request = () => ({ method: "POST", protocol: "https:", hostname: "autoscaling.us-east-1.amazonaws.com", path: "/", query: { a: "1" }, headers: { host: "autoscaling.us-east-1.amazonaws.com" }, body: "Action=X" });

describe("RegionSigner", () => {
  it("writes SigV4's headers with the real credential scope, the session token, and a signature of SigV4's form", async () => {
    // Prepare
    const signer = new RegionSigner({ credentials: { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "s", sessionToken: "token" }, region: "us-east-1", service: "autoscaling" });
    const original = request();
    // Act
    const signed = await signer.sign(original as never, { signingDate: new Date("2026-12-03T12:34:56.789Z"), signingRegion: "eu-west-1" });
    // Assess: the request it was given is left as it was.
    expect(signed.headers).toMatchObject({
      "x-amz-date": "20261203T123456Z",
      "x-amz-security-token": "token",
      authorization: `AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261203/eu-west-1/autoscaling/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIMULATED_SIGNATURE}`,
    });
    expect(original.headers).toEqual({ host: "autoscaling.us-east-1.amazonaws.com" });
    expect(signed.query).toEqual({ a: "1" });
  });

  it("refuses credentials without a key, as SignatureV4 does", async () => {
    const signer = new RegionSigner({ credentials: async () => ({}) as never, region: "us-east-1", service: "autoscaling" });
    await expect(signer.sign(request() as never)).rejects.toThrow("Resolved credential object is not valid");
  });
});

describe("signatureProblem", () => {
  const expected = { region: "us-east-1", service: "autoscaling" };
  it("accepts a real SigV4 header (AWS's documented example) and the stand-in's", async () => {
    // The example of the S3 User Guide, "Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)".
    const documented =
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
      "Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";
    expect(signatureProblem(documented, { region: "us-east-1", service: "s3" })).toBeUndefined();
    const stand = new RegionSigner({ credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "s" }, region: "us-east-1", service: "autoscaling" });
    expect(signatureProblem((await stand.sign(request() as never)).headers.authorization, expected)).toBeUndefined();
  });
  it.each([
    [undefined, "missing", "Request is missing Authentication Token"],
    ["Bearer abc", "malformed", "The request signature does not conform to AWS standards."],
    [`AWS4-HMAC-SHA256 Credential=AKID/20261203/eu-west-1/autoscaling/aws4_request, SignedHeaders=host, Signature=${"a".repeat(64)}`, "region", "Credential should be scoped to a valid region. "],
    [`AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=${"a".repeat(64)}`, "service", "Credential should be scoped to correct service: 'autoscaling'. "],
  ])("%s: %s", (authorization, kind, message) => {
    expect(signatureProblem(authorization, expected)).toEqual({ kind, message });
  });
});

describe("the region checks each attached client's credential scope", () => {
  it("answers a client scoped to the region and the service", async () => {
    const region = new SimulatedRegion(INSTANT_REGION);
    const client = attached(region, new AutoScalingClient({ region: "us-east-1" }));
    await expect(client.send(new DescribeAutoScalingGroupsCommand({}))).resolves.toMatchObject({ AutoScalingGroups: [] });
  });

  it("refuses a query client signing for another region: SignatureDoesNotMatch, 403, and the region records no call", async () => {
    // Prepare: a client configured for eu-west-1 whose requests reach the us-east-1 region.
    const region = new SimulatedRegion(INSTANT_REGION);
    const client = attached(region, new AutoScalingClient({ region: "eu-west-1" }));
    // Act
    const refused = await client.send(new DescribeAutoScalingGroupsCommand({})).catch((error: unknown) => error);
    // Assess
    expect(refused).toMatchObject({ name: "SignatureDoesNotMatch", message: "Credential should be scoped to a valid region. ", $metadata: { httpStatusCode: 403 } });
    expect(region.apiCallCounts()["AutoScaling:DescribeAutoScalingGroups"]).toBeUndefined();
  });

  it("refuses a JSON request signed for another service: InvalidSignatureException, 400", async () => {
    // Prepare: DynamoDB's ListTables as the wire carries it, signed as another service (a wrong signing name, as
    // aws/aws-sdk-go-v2#163 had for application-autoscaling).
    const region = new SimulatedRegion(INSTANT_REGION);
    const wrongService = `AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/dynamo/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIMULATED_SIGNATURE}`;
    const listTables = {
      method: "POST", protocol: "https:", hostname: "dynamodb.us-east-1.amazonaws.com", path: "/", query: {}, body: "{}",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.ListTables", authorization: wrongService },
    };
    // Act
    const { response } = await new RegionHttpHandler(region, "DynamoDB").handle(listTables as never);
    // Assess
    expect(response.statusCode).toBe(400);
    const body = typeof response.body === "string" ? response.body : new TextDecoder().decode(response.body as Uint8Array);
    expect(JSON.parse(body)).toMatchObject({ __type: expect.stringContaining("InvalidSignatureException"), message: "Credential should be scoped to correct service: 'dynamodb'. " });
    expect(region.apiCallCounts()["DynamoDB:ListTables"]).toBeUndefined();
  });
});
