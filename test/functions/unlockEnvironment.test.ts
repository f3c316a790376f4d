import "aws-sdk-client-mock-vitest/extend";
import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { unlockEnvironment } from "../../functions/unlockEnvironment.js";
import { controlState, executionArn, LOCK_TABLE, MY_EXECUTION } from "./controlFixtures.js";

const dynamoMock = mockClient(DynamoDBClient);

function conditionFailed() {
  return new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
}

beforeEach(() => dynamoMock.reset());

describe("unlockEnvironment", () => {
  it("deletes the lock only where this execution holds it", async () => {
    // Prepare
    dynamoMock.on(DeleteItemCommand).resolves({});

    // Act
    const result = await unlockEnvironment(controlState());

    // Assess
    expect(result).toEqual({ released: true, message: "released the deploy lock of shop/dev01" });
    expect(dynamoMock).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: LOCK_TABLE,
      Key: { lockId: { S: "shop#dev01" } },
      ConditionExpression: "holder = :me",
      ExpressionAttributeValues: { ":me": { S: MY_EXECUTION } },
    });
  });

  it("leaves a lock held by another execution alone", async () => {
    // Prepare
    dynamoMock.on(DeleteItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves({
      Item: { lockId: { S: "shop#dev01" }, holder: { S: executionArn("exec-other") }, release: { S: "v3" }, acquiredAt: { N: "1" } },
    });

    // Act
    const result = await unlockEnvironment(controlState());

    // Assess
    expect(result.released).toBe(false);
    expect(result.message).toContain("held by execution exec-other (release v3), not by this one");
  });
});
