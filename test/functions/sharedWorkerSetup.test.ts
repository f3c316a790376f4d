import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { restoreClientClasses } from "../setupSharedWorker.js";

/**
 * test/setupSharedWorker.ts runs before each file of a shared worker (vitest.config.ts): a client class a previous
 * file mocked (aws-sdk-client-mock stubs the class's `send`) is the SDK's own again.
 */
describe("the shared workers' setup", () => {
  it("takes the stub off every client class a file mocked, and touches no other", async () => {
    const sdkSend = EC2Client.prototype.send;
    mockClient(EC2Client);
    mockClient(DynamoDBClient);
    expect((EC2Client.prototype.send as { isSinonProxy?: boolean }).isSinonProxy).toBe(true);
    expect((await restoreClientClasses()).sort()).toEqual(["DynamoDBClient", "EC2Client"]);
    expect(EC2Client.prototype.send).toBe(sdkSend);
    expect((DynamoDBClient.prototype.send as { isSinonProxy?: boolean }).isSinonProxy).toBeUndefined();
    expect(await restoreClientClasses()).toEqual([]);
  });
});
