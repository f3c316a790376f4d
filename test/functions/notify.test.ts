import "aws-sdk-client-mock-vitest/extend";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { ERROR } from "../../functions/lib/names.js";
import { notify } from "../../functions/notify.js";
import { controlPlan, controlSettings, controlState, EVENT_BUS, MY_EXECUTION, TOPIC_ARN } from "./controlFixtures.js";

const snsMock = mockClient(SNSClient);
const eventBridgeMock = mockClient(EventBridgeClient);

beforeEach(() => {
  snsMock.reset();
  eventBridgeMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: "m-1" });
  eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
});

function sentDetail(): Record<string, unknown> {
  const entry = eventBridgeMock.commandCalls(PutEventsCommand)[0].args[0].input.Entries?.[0];
  return JSON.parse(entry?.Detail ?? "{}") as Record<string, unknown>;
}

describe("notify", () => {
  it("publishes a success to SNS and EventBridge", async () => {
    // Prepare
    const state = controlState({
      plan: controlPlan(),
      image: { imageId: "ami-0123456789abcdef0", baked: true },
      launch: { groupName: "shop-dev01-v2-1a2b3c4d", launchTemplateVersion: "8", desiredCapacity: 3, healthyBy: 0 },
      retirement: { groups: ["shop-dev01-v1-aaaaaaaa"], drainedBy: 0, retiredBy: 0 },
    });

    // Act
    const result = await notify({ outcome: "succeeded", state });

    // Assess
    const message = "release v2 is live in group shop-dev01-v2-1a2b3c4d from image ami-0123456789abcdef0, 3 instance(s); retired shop-dev01-v1-aaaaaaaa";
    expect(result).toEqual({ outcome: "succeeded", message });
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC_ARN, Subject: "[shop dev01] Deploy Succeeded: v2" });
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message).toContain(message);
    expect(eventBridgeMock).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ EventBusName: EVENT_BUS, Source: "immutable-deploy", DetailType: "Deploy Succeeded" })],
    });
    expect(sentDetail()).toEqual({
      app: "shop",
      environment: "dev01",
      release: "v2",
      outcome: "succeeded",
      executionId: MY_EXECUTION,
      executionName: "exec-me",
      groupName: "shop-dev01-v2-1a2b3c4d",
      imageId: "ami-0123456789abcdef0",
      message,
      error: null,
    });
  });

  it("reports a rollback with the readable error message from a Lambda error cause", async () => {
    // Prepare
    const cause = JSON.stringify({ errorType: "ReleaseUnhealthy", errorMessage: "1/3 instances healthy at load balancer after 900 s", trace: ["at x"] });
    const state = controlState({ plan: controlPlan(), error: { Error: ERROR.releaseUnhealthy, Cause: cause } });

    // Act
    const result = await notify({ outcome: "rolled-back", state });

    // Assess
    expect(result.message).toBe("release v2 was rolled back; the previous group(s) keep serving. Reason: ReleaseUnhealthy: 1/3 instances healthy at load balancer after 900 s");
    expect(eventBridgeMock).toHaveReceivedCommandWith(PutEventsCommand, { Entries: [expect.objectContaining({ DetailType: "Deploy Rolled Back" })] });
    expect(sentDetail().error).toEqual({ error: "ReleaseUnhealthy", cause: "1/3 instances healthy at load balancer after 900 s" });
  });

  it("does not trip over a failure before Prepare made a plan", async () => {
    // Prepare
    const state = controlState({ error: { Error: ERROR.invalidInput, Cause: 'imageId: "ami-xyz" is not an AMI id' } });

    // Act
    const result = await notify({ outcome: "failed", state });

    // Assess
    expect(result.message).toBe('the deploy failed. Reason: InvalidDeployInput: imageId: "ami-xyz" is not an AMI id');
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { Subject: "[shop dev01] Deploy Failed" });
    expect(sentDetail()).toMatchObject({ release: null, groupName: null, imageId: null, outcome: "failed" });
  });

  it("reports a no-op with the lock's reason", async () => {
    // Prepare
    const state = controlState({
      plan: controlPlan(),
      lock: { status: "duplicate", nextPollSeconds: 0, message: "release v2 is already live in group g" },
    });

    // Act
    const result = await notify({ outcome: "no-op", state });

    // Assess
    expect(result).toEqual({ outcome: "no-op", message: "release v2 is already live in group g" });
    expect(eventBridgeMock).toHaveReceivedCommandWith(PutEventsCommand, { Entries: [expect.objectContaining({ DetailType: "Deploy No-op" })] });
  });

  it("keeps the SNS subject within 100 printable ASCII characters", async () => {
    // Prepare
    const state = controlState({ settings: controlSettings({ app: "ünïcode-" + "x".repeat(120) }), plan: controlPlan() });

    // Act
    await notify({ outcome: "succeeded", state });

    // Assess
    const subject = snsMock.commandCalls(PublishCommand)[0].args[0].input.Subject ?? "";
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7E]+$/);
  });

  it("throws when EventBridge rejects the entry (FailedEntryCount > 0), as a retried error when transient", async () => {
    // Prepare
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" }] });

    // Act
    const error = await notify({ outcome: "succeeded", state: controlState({ plan: controlPlan() }) }).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe(ERROR.transientAws);
    expect((error as Error).message).toContain("ThrottlingException: Rate exceeded");
  });

  it("throws a named error for a permanent PutEvents rejection", async () => {
    // Prepare
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: "AccessDeniedException", ErrorMessage: "not allowed" }] });

    // Act
    const error = await notify({ outcome: "failed", state: controlState() }).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe("EventPublishFailed");
    expect((error as Error).message).toContain("AccessDeniedException: not allowed");
  });
});
