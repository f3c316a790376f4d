import "aws-sdk-client-mock-vitest/extend";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { DeployState, ExecutionStatusChange } from "../../functions/lib/contract.js";
import { ERROR, STATE } from "../../functions/lib/names.js";
import { notify, readableCause } from "../../functions/notify.js";
import { controlPlan, controlSettings, controlState, EVENT_BUS, executionArn, LOCK_TABLE, MY_EXECUTION, TOPIC_ARN } from "./controlFixtures.js";

const snsMock = mockClient(SNSClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const sfnMock = mockClient(SFNClient);
const dynamoMock = mockClient(DynamoDBClient);

beforeEach(() => {
  snsMock.reset();
  eventBridgeMock.reset();
  sfnMock.reset();
  dynamoMock.reset();
  // No lock item unless a test gives one: nobody waits.
  dynamoMock.on(GetItemCommand).resolves({});
  snsMock.on(PublishCommand).resolves({ MessageId: "m-1" });
  eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
});

/** Step Functions' status-change event for this test's execution, as the Pipeline's rule delivers it. */
function statusChange(status: ExecutionStatusChange["detail"]["status"], output: DeployState | null = null): ExecutionStatusChange {
  return {
    version: "0",
    id: "315c1398-40ff-a850-213b-158f73e60175",
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: "123456789012",
    time: "2025-01-01T01:00:00Z",
    region: "us-east-1",
    resources: [MY_EXECUTION],
    detail: {
      executionArn: MY_EXECUTION,
      stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:shop-dev01-deploy",
      name: "exec-me",
      status,
      startDate: 1_735_689_600_000,
      stopDate: 1_735_693_200_000,
      input: "{}",
      inputDetails: { included: true },
      output: output && JSON.stringify(output),
      outputDetails: output ? { included: true } : null,
    },
  };
}

let nextId = 1000;
const event = (type: string, details: Partial<HistoryEvent>): HistoryEvent => ({ id: nextId--, timestamp: new Date(0), type: type as HistoryEvent["type"], ...details });
const entered = (type: string, name: string, state: DeployState) => event(`${type}StateEntered`, { stateEnteredEventDetails: { name, input: JSON.stringify(state) } });
const failedWith = (error: string, cause: string) => event("ExecutionFailed", { executionFailedEventDetails: { error, cause } });

/** The execution's history as GetExecutionHistory returns it newest first, in pages. */
function givenHistory(...pages: HistoryEvent[][]) {
  pages.forEach((events, index) => {
    sfnMock
      .on(GetExecutionHistoryCommand, { executionArn: MY_EXECUTION, reverseOrder: true, ...(index > 0 ? { nextToken: `page-${index}` } : {}) })
      .resolves({ events, nextToken: index + 1 < pages.length ? `page-${index + 1}` : undefined });
  });
}

function sentDetail(): Record<string, unknown> {
  const entry = eventBridgeMock.commandCalls(PutEventsCommand)[0].args[0].input.Entries?.[0];
  return JSON.parse(entry?.Detail ?? "{}") as Record<string, unknown>;
}

const live = () =>
  controlState({
    plan: controlPlan(),
    image: { imageId: "ami-0123456789abcdef0", baked: true },
    launch: { groupName: "shop-dev01-v2-1a2b3c4d", launchTemplateVersion: "8", desiredCapacity: 3, healthyBy: 0 },
    retirement: { groups: ["shop-dev01-v1-aaaaaaaa"], drainedBy: 0, retiredBy: 0 },
  });
const REDRIVE = `aws stepfunctions redrive-execution --execution-arn ${MY_EXECUTION}`;

describe("notify reads the outcome from the execution's status", () => {
  it("a succeeded execution: its output, published to SNS and EventBridge", async () => {
    // Act
    const result = await notify(statusChange("SUCCEEDED", live()));

    // Assess
    const message = "release v2 is live in group shop-dev01-v2-1a2b3c4d from image ami-0123456789abcdef0, 3 instance(s); retired shop-dev01-v1-aaaaaaaa";
    expect(result).toEqual({ outcome: "succeeded", message });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC_ARN, Subject: "[shop dev01] Deploy Succeeded: v2" });
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message).toContain(message);
    expect(eventBridgeMock).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ EventBusName: EVENT_BUS, Source: "immutable-deploy", DetailType: "Deploy Succeeded", Resources: [MY_EXECUTION] })],
    });
    expect(sentDetail()).toEqual({
      app: "shop",
      environment: "dev01",
      release: "v2",
      outcome: "succeeded",
      status: "SUCCEEDED",
      executionId: MY_EXECUTION,
      executionName: "exec-me",
      groupName: "shop-dev01-v2-1a2b3c4d",
      imageId: "ami-0123456789abcdef0",
      stoppedAt: null,
      redriveCommand: null,
      message,
      error: null,
    });
  });

  it("an output too large for the event is read with DescribeExecution", async () => {
    // Prepare
    const change = statusChange("SUCCEEDED");
    change.detail.outputDetails = { included: false };
    sfnMock.on(DescribeExecutionCommand, { executionArn: MY_EXECUTION }).resolves({ output: JSON.stringify(live()) } as never);

    // Act
    const result = await notify(change);

    // Assess
    expect(result.outcome).toBe("succeeded");
    expect(sfnMock).toHaveReceivedCommandTimes(DescribeExecutionCommand, 1);
  });

  it("a succeeded duplicate is a no-op, with the lock's reason", async () => {
    const state = controlState({ plan: controlPlan(), lock: { status: "duplicate", nextPollSeconds: 0, message: "release v2 is already live in group g" } });
    const result = await notify(statusChange("SUCCEEDED", state));
    expect(result).toEqual({ outcome: "no-op", message: "release v2 is already live in group g" });
    expect(eventBridgeMock).toHaveReceivedCommandWith(PutEventsCommand, { Entries: [expect.objectContaining({ DetailType: "Deploy No-op" })] });
  });

  it("a failed execution that ended in Deploy rolled back: rolled back, with the readable cause and what serves", async () => {
    // Prepare
    const cause = JSON.stringify({ errorType: "ReleaseUnhealthy", errorMessage: "1/3 instances healthy at load balancer after 900 s", trace: ["at x"] });
    const state = controlState({
      plan: controlPlan(),
      error: { Error: ERROR.releaseUnhealthy, Cause: cause },
      rollback: { restoredGroups: ["shop-dev01-v1-aaaaaaaa"], message: "" },
    });
    givenHistory([failedWith(ERROR.releaseUnhealthy, cause), entered("Fail", STATE.rolledBack, state)]);

    // Act
    const result = await notify(statusChange("FAILED"));

    // Assess
    expect(result.message).toBe(
      "release v2 was rolled back; serving as before the deploy: shop-dev01-v1-aaaaaaaa. Reason: ReleaseUnhealthy: 1/3 instances healthy at load balancer after 900 s",
    );
    expect(eventBridgeMock).toHaveReceivedCommandWith(PutEventsCommand, { Entries: [expect.objectContaining({ DetailType: "Deploy Rolled Back" })] });
    expect(sentDetail()).toMatchObject({ outcome: "rolled-back", status: "FAILED", stoppedAt: null, redriveCommand: null, error: { error: "ReleaseUnhealthy", cause: "1/3 instances healthy at load balancer after 900 s" } });
  });

  it("a failure before Prepare made a plan: failed, without tripping over the missing parts", async () => {
    const state = controlState({ error: { Error: ERROR.invalidInput, Cause: 'imageId: "ami-xyz" is not an AMI id' } });
    givenHistory([failedWith(ERROR.invalidInput, 'imageId: "ami-xyz" is not an AMI id'), entered("Fail", STATE.failed, state)]);
    const result = await notify(statusChange("FAILED"));
    expect(result.message).toBe('the deploy failed. Reason: InvalidDeployInput: imageId: "ami-xyz" is not an AMI id.');
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { Subject: "[shop dev01] Deploy Failed" });
    expect(sentDetail()).toMatchObject({ release: null, groupName: null, imageId: null, outcome: "failed" });
  });

  it("a rollback that failed too is said so", async () => {
    const state = controlState({
      plan: controlPlan(),
      error: { Error: ERROR.releaseUnhealthy, Cause: "0/2 healthy" },
      rollbackError: { Error: "AccessDenied", Cause: JSON.stringify({ errorMessage: "not authorized to UpdateAutoScalingGroup" }) },
    });
    givenHistory([failedWith(ERROR.releaseUnhealthy, "0/2 healthy"), entered("Fail", STATE.failed, state)]);
    const result = await notify(statusChange("FAILED"));
    expect(result.outcome).toBe("failed");
    expect(result.message).toContain("The rollback did not finish either (AccessDenied: not authorized to UpdateAutoScalingGroup)");
  });

  it("a failure after cutover (stopped at a Task, lock held): needs attention, naming the state and the exact redrive command", async () => {
    // Prepare: Delete old groups failed for good; retries fill the newest page, the state entered is on the next.
    const lambdaFailures = Array.from({ length: 40 }, () => event("LambdaFunctionFailed", { lambdaFunctionFailedEventDetails: { error: "AccessDenied", cause: "no" } }));
    givenHistory([failedWith("AccessDenied", "not authorized to DeleteAutoScalingGroup"), ...lambdaFailures], [entered("Task", STATE.deleteOldGroups, live())]);

    // Act
    const result = await notify(statusChange("FAILED"));

    // Assess
    expect(result).toEqual({
      outcome: "needs-attention",
      message:
        'release v2 needs attention: "Delete old groups" failed (AccessDenied: not authorized to DeleteAutoScalingGroup). The deploy lock of shop/dev01 stays with this execution; ' +
        `fix the cause, then resume at that state: ${REDRIVE}`,
    });
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 2);
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { Subject: "[shop dev01] Deploy Needs Attention: v2" });
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message).toContain(`Resume:      ${REDRIVE}`);
    expect(sentDetail()).toMatchObject({ outcome: "needs-attention", status: "FAILED", stoppedAt: STATE.deleteOldGroups, redriveCommand: REDRIVE });
  });

  it.each([
    ["TIMED_OUT" as const, "timed-out", "Deploy Timed Out", "timed out", event("ExecutionTimedOut", { executionTimedOutEventDetails: { error: "States.Timeout" } })],
    ["ABORTED" as const, "aborted", "Deploy Aborted", "was aborted", event("ExecutionAborted", { executionAbortedEventDetails: {} })],
  ])("an execution %s is reported %s, where it stopped, with the redrive command", async (status, outcome, detailType, words, terminal) => {
    givenHistory([terminal, entered("Wait", STATE.waitForRetirement, live())]);
    const result = await notify(statusChange(status));
    expect(result.outcome).toBe(outcome);
    expect(result.message).toContain(`release v2 ${words} in "${STATE.waitForRetirement}"`);
    expect(result.message).toContain(REDRIVE);
    expect(eventBridgeMock).toHaveReceivedCommandWith(PutEventsCommand, { Entries: [expect.objectContaining({ DetailType: detailType })] });
    expect(sentDetail()).toMatchObject({ status, stoppedAt: STATE.waitForRetirement, redriveCommand: REDRIVE });
  });

  it.each([
    ["a time-out without a cause", event("ExecutionTimedOut", { executionTimedOutEventDetails: { error: "States.Timeout" } }), "TIMED_OUT" as const, { error: "States.Timeout", cause: "" }],
    ["a stop by hand without error or cause", event("ExecutionAborted", { executionAbortedEventDetails: {} }), "ABORTED" as const, { error: "", cause: "" }],
  ])("the terminal event's error is published as it is: %s", async (_, terminal, status, error) => {
    givenHistory([terminal, entered("Wait", STATE.waitForRetirement, live())]);
    await notify(statusChange(status));
    expect(sentDetail()).toMatchObject({ error });
  });

  it("an execution `immutable-deploy abort` stopped to run the failure path itself: aborted, its outcome follows, no redrive", async () => {
    const cause = 'aborted with immutable-deploy abort in "Wait for group" (after Launch, before the new release serves: roll back, unlock and fail)';
    givenHistory([event("ExecutionAborted", { executionAbortedEventDetails: { error: ERROR.aborted, cause } }), entered("Wait", STATE.waitForGroup, live())]);
    const result = await notify(statusChange("ABORTED"));
    expect(result).toEqual({ outcome: "aborted", message: `release v2 was aborted in "${STATE.waitForGroup}": ${cause}; its outcome follows` });
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message).not.toContain("Resume:");
    expect(sentDetail()).toMatchObject({ outcome: "aborted", status: "ABORTED", stoppedAt: STATE.waitForGroup, redriveCommand: null, error: { error: ERROR.aborted, cause } });
  });

  it("a superseded run (a late redrive that found the lock lost) is a failure that changed nothing", async () => {
    givenHistory([failedWith(ERROR.lockLost, "held by execution deploy-0007"), entered("Fail", STATE.superseded, live())]);
    const result = await notify(statusChange("FAILED"));
    expect(result).toEqual({ outcome: "failed", message: "release v2: this run was superseded by another deploy and changed nothing. LockLost: held by execution deploy-0007" });
  });

  it("an execution whose history has no deploy state document is refused, not guessed", async () => {
    givenHistory([failedWith("States.Runtime", "bad path")]);
    await expect(notify(statusChange("FAILED"))).rejects.toThrow(/no state with the deploy state document in its history/);
    expect(snsMock).not.toHaveReceivedAnyCommand();
    // The history had one page: nothing more to read.
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 1);
  });

  it("an execution whose last state entered has no deploy state document as its input is refused", async () => {
    const notADocument = event("PassStateEntered", { stateEnteredEventDetails: { name: "Narrowed", input: JSON.stringify({ release: "v2" }) } });
    givenHistory([failedWith("States.Runtime", "bad path"), notADocument, entered("Task", STATE.launch, live())]);
    await expect(notify(statusChange("FAILED"))).rejects.toThrow(`execution ${MY_EXECUTION} (FAILED): no state with the deploy state document in its history`);
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });
});

describe("notify publishing", () => {
  it("keeps the SNS subject within 100 printable ASCII characters", async () => {
    const state = controlState({ settings: controlSettings({ app: "ünïcode-" + "x".repeat(120) }), plan: controlPlan() });
    await notify(statusChange("SUCCEEDED", state));
    const subject = snsMock.commandCalls(PublishCommand)[0].args[0].input.Subject ?? "";
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7E]+$/);
  });

  it("throws when EventBridge rejects the entry (FailedEntryCount > 0), as a retried error when transient", async () => {
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" }] });
    const error = await notify(statusChange("SUCCEEDED", live())).catch((e: unknown) => e);
    expect((error as Error).name).toBe(ERROR.transientAws);
    expect((error as Error).message).toContain("ThrottlingException: Rate exceeded");
  });

  it("throws a named error for a permanent PutEvents rejection", async () => {
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: "AccessDeniedException", ErrorMessage: "not allowed" }] });
    const error = await notify(statusChange("SUCCEEDED", live())).catch((e: unknown) => e);
    expect((error as Error).name).toBe("EventPublishFailed");
    expect((error as Error).message).toContain("AccessDeniedException: not allowed");
  });
});

describe("notify, the finer points", () => {
  it("the SNS message lists every field, with placeholders for what a failure before Prepare never had", async () => {
    // Prepare
    const state = controlState({ error: { Error: ERROR.invalidInput, Cause: "bad" } });
    givenHistory([failedWith(ERROR.invalidInput, "bad"), entered("Fail", STATE.failed, state)]);

    // Act
    await notify(statusChange("FAILED"));

    // Assess
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message).toBe(
      [
        "the deploy failed. Reason: InvalidDeployInput: bad.",
        "",
        "App:         shop",
        "Environment: dev01",
        "Release:     (unknown)",
        "Outcome:     failed (execution FAILED)",
        "Group:       (none)",
        "Image:       (none)",
        `Execution:   ${MY_EXECUTION}`,
        "Error:       InvalidDeployInput",
        "Cause:       bad",
      ].join("\n"),
    );
  });

  it("reads the history with its data, newest first, and stops at the first page with a state entered", async () => {
    // Prepare: the state entered is on the first of two pages.
    givenHistory([failedWith("E", "c"), entered("Fail", STATE.failed, controlState({ plan: controlPlan() }))], [failedWith("E", "older")]);

    // Act
    await notify(statusChange("FAILED"));

    // Assess
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn: MY_EXECUTION, reverseOrder: true, maxResults: 100, includeExecutionData: true });
  });

  it("reads at most five pages of history looking for a state entered", async () => {
    // Prepare: six pages without any.
    givenHistory(...Array.from({ length: 6 }, () => [failedWith("E", "c")]));

    // Act
    const attempt = notify(statusChange("FAILED"));

    // Assess
    await expect(attempt).rejects.toThrow(`execution ${MY_EXECUTION} (FAILED): no state with the deploy state document in its history`);
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 5);
  });

  it("takes the error from the status change when the history shows none", async () => {
    // Prepare: the execution timed out in a Wait state; the page has no terminal event.
    givenHistory([entered("Wait", STATE.waitForGroup, live())]);
    const change = statusChange("TIMED_OUT");
    Object.assign(change.detail, { error: "States.Timeout", cause: undefined });

    // Act
    await notify(change);

    // Assess
    expect(sentDetail()).toMatchObject({ error: { error: "States.Timeout", cause: "" } });
  });

  it.each([
    ["null", "null"],
    ["a number", "42"],
    ["an object without settings", JSON.stringify({ plan: controlPlan() })],
    ["no JSON", "Deploy succeeded"],
  ])("refuses a succeeded execution whose output is %s", async (_, output) => {
    // Prepare
    const change = statusChange("SUCCEEDED");
    change.detail.output = output;

    // Act
    const attempt = notify(change);

    // Assess
    await expect(attempt).rejects.toThrow(`execution ${MY_EXECUTION} succeeded without a deploy state document as its output`);
  });

  it("names an EventBridge rejection without an error code as unknown", async () => {
    // Prepare
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{}] });

    // Act
    const attempt = notify(statusChange("SUCCEEDED", live()));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.eventPublishFailed, message: "PutEvents rejected the outcome event: unknown: no message" });
  });
});


describe("notify's messages", () => {
  const lastMessage = () => snsMock.commandCalls(PublishCommand)[0].args[0].input.Message;

  it("a first deploy's success retired nothing and says nothing of retirement", async () => {
    const state = { ...live(), retirement: { groups: [], drainedBy: 0, retiredBy: 0 } };
    const result = await notify(statusChange("SUCCEEDED", state));
    expect(result.message).toBe("release v2 is live in group shop-dev01-v2-1a2b3c4d from image ami-0123456789abcdef0, 3 instance(s)");
  });

  it("a success that retired two groups names both", async () => {
    const state = { ...live(), retirement: { groups: ["shop-dev01-v1-aaaaaaaa", "shop-dev01-v0-bbbbbbbb"], drainedBy: 0, retiredBy: 0 } };
    const result = await notify(statusChange("SUCCEEDED", state));
    expect(result.message).toBe(
      "release v2 is live in group shop-dev01-v2-1a2b3c4d from image ami-0123456789abcdef0, 3 instance(s); retired shop-dev01-v1-aaaaaaaa, shop-dev01-v0-bbbbbbbb",
    );
  });

  it.each([
    ["a first deploy's rollback says no group serves", [], "no group (none served when the deploy started)"],
    ["a rollback that restored two groups names both", ["shop-dev01-v1-aaaaaaaa", "shop-dev01-v1-cccccccc"], "shop-dev01-v1-aaaaaaaa, shop-dev01-v1-cccccccc"],
  ])("%s", async (_, restoredGroups, serving) => {
    const state = controlState({ plan: controlPlan(), error: { Error: ERROR.releaseUnhealthy, Cause: "0/2 healthy" }, rollback: { restoredGroups, message: "" } });
    givenHistory([failedWith(ERROR.releaseUnhealthy, "0/2 healthy"), entered("Fail", STATE.rolledBack, state)]);
    const result = await notify(statusChange("FAILED"));
    expect(result.message).toBe(`release v2 was rolled back; serving as before the deploy: ${serving}. Reason: ReleaseUnhealthy: 0/2 healthy`);
  });

  it("a failure before Launch names the planned group and the image the input named", async () => {
    // Prepare: the input named an image (no bake); the lock timed out, so nothing launched.
    const state = controlState({ plan: controlPlan({ imageId: "ami-0fedcba9876543210" }), error: { Error: ERROR.lockTimeout, Cause: "waited 3600 s" } });
    givenHistory([failedWith(ERROR.lockTimeout, "waited 3600 s"), entered("Fail", STATE.failed, state)]);

    // Act
    await notify(statusChange("FAILED"));

    // Assess
    expect(sentDetail()).toMatchObject({ groupName: "shop-dev01-v2-1a2b3c4d", imageId: "ami-0fedcba9876543210" });
    expect(lastMessage()).toContain("Group:       shop-dev01-v2-1a2b3c4d\nImage:       ami-0fedcba9876543210\n");
  });

  it("takes the error and its cause from the status change when the history shows none", async () => {
    givenHistory([entered("Wait", STATE.waitForGroup, live())]);
    const change = statusChange("TIMED_OUT");
    Object.assign(change.detail, { error: "States.Timeout", cause: "the execution ran longer than 7200 s" });
    await notify(change);
    expect(sentDetail()).toMatchObject({ error: { error: "States.Timeout", cause: "the execution ran longer than 7200 s" } });
  });

  it("keeps a JSON cause that is no Lambda error whole", async () => {
    const cause = JSON.stringify({ Message: "Rate exceeded", StatusCode: 400 });
    const state = controlState({ plan: controlPlan(), error: { Error: "States.TaskFailed", Cause: cause } });
    givenHistory([failedWith("States.TaskFailed", cause), entered("Fail", STATE.failed, state)]);
    const result = await notify(statusChange("FAILED"));
    expect(result.message).toBe(`release v2 failed. Reason: States.TaskFailed: ${cause}.`);
  });

  it("the SNS message of a deploy that needs attention: where it stopped, the error and how to resume", async () => {
    givenHistory([failedWith("AccessDenied", "not authorized"), entered("Task", STATE.deleteOldGroups, live())]);
    await notify(statusChange("FAILED"));
    expect(lastMessage()).toBe(
      [
        `release v2 needs attention: "Delete old groups" failed (AccessDenied: not authorized). The deploy lock of shop/dev01 stays with this execution; fix the cause, then resume at that state: ${REDRIVE}`,
        "",
        "App:         shop",
        "Environment: dev01",
        "Release:     v2",
        "Outcome:     needs-attention (execution FAILED)",
        "Group:       shop-dev01-v2-1a2b3c4d",
        "Image:       ami-0123456789abcdef0",
        `Execution:   ${MY_EXECUTION}`,
        "Stopped at:  Delete old groups",
        "Error:       AccessDenied",
        "Cause:       not authorized",
        `Resume:      ${REDRIVE}`,
      ].join("\n"),
    );
  });

  it("the SNS message of a success has no error, stop or resume lines", async () => {
    await notify(statusChange("SUCCEEDED", live()));
    expect(lastMessage()).toBe(
      [
        "release v2 is live in group shop-dev01-v2-1a2b3c4d from image ami-0123456789abcdef0, 3 instance(s); retired shop-dev01-v1-aaaaaaaa",
        "",
        "App:         shop",
        "Environment: dev01",
        "Release:     v2",
        "Outcome:     succeeded (execution SUCCEEDED)",
        "Group:       shop-dev01-v2-1a2b3c4d",
        "Image:       ami-0123456789abcdef0",
        `Execution:   ${MY_EXECUTION}`,
      ].join("\n"),
    );
  });

  it("replaces what is not printable ASCII in the subject with ?", async () => {
    const state = { ...live(), plan: controlPlan({ release: "v2-größer" }) };
    await notify(statusChange("SUCCEEDED", state));
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { Subject: "[shop dev01] Deploy Succeeded: v2-gr??er" });
  });

  it("keeps a subject of exactly 100 characters whole and cuts a longer one to 97 and ...", async () => {
    // "[shop dev01] Deploy Succeeded: " is 31 characters.
    const release = "r".repeat(69);
    await notify(statusChange("SUCCEEDED", { ...live(), plan: controlPlan({ release }) }));
    await notify(statusChange("SUCCEEDED", { ...live(), plan: controlPlan({ release: `${release}s` }) }));
    const [whole, cut] = snsMock.commandCalls(PublishCommand).map((call) => call.args[0].input.Subject);
    expect(whole).toBe(`[shop dev01] Deploy Succeeded: ${release}`);
    expect(cut).toBe(`[shop dev01] Deploy Succeeded: ${"r".repeat(66)}...`);
  });

  it("names an EventBridge rejection that lists no entries as unknown", async () => {
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1 });
    await expect(notify(statusChange("SUCCEEDED", live()))).rejects.toMatchObject({
      name: ERROR.eventPublishFailed,
      message: "PutEvents rejected the outcome event: unknown: no message",
    });
  });
});

describe("readableCause (notify's messages and the operator CLI)", () => {
  it.each([
    ["no cause", undefined, ""],
    ["an empty cause", "", ""],
    ["a Lambda error", JSON.stringify({ errorType: "Error", errorMessage: "boom", trace: [] }), "boom"],
    ["plain text", "the lock is held", "the lock is held"],
    ["JSON without a text errorMessage", JSON.stringify({ errorMessage: 42 }), JSON.stringify({ errorMessage: 42 })],
  ])("%s", (_, cause, readable) => {
    expect(readableCause(cause)).toBe(readable);
  });
});

describe("notify tells the lock's waiters when the holder ended without unlocking", () => {
  const WAITER = executionArn("exec-waiting");
  const OTHER = executionArn("exec-other");
  const lockItem = (holder: string, waiters: Record<string, string>) => ({
    Item: {
      lockId: { S: "shop#dev01" },
      holder: { S: holder },
      release: { S: "v2" },
      ...Object.fromEntries(Object.entries(waiters).map(([execution, token]) => [`waiter:${execution}`, { S: token }])),
    },
  });
  const stoppedInRetirement = () => givenHistory([event("ExecutionAborted", { executionAbortedEventDetails: {} }), entered("Wait", STATE.waitForRetirement, live())]);

  it("a stopped execution still holding the lock completes each waiter's task, not its own, and still publishes", async () => {
    // Prepare
    stoppedInRetirement();
    dynamoMock.on(GetItemCommand, { TableName: LOCK_TABLE, Key: { lockId: { S: "shop#dev01" } } }).resolves(lockItem(MY_EXECUTION, { [WAITER]: "token-w", [MY_EXECUTION]: "token-mine" }));
    sfnMock.on(SendTaskSuccessCommand).resolves({});

    // Act
    const result = await notify(statusChange("ABORTED"));

    // Assess
    expect(result).toMatchObject({ outcome: "aborted", wokeWaiters: [WAITER] });
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: "token-w" });
    expect(JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output ?? "{}")).toEqual({ unlockedBy: MY_EXECUTION, lockId: "shop#dev01" });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(eventBridgeMock).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it("a waiter whose task is over already (a redelivered event) is skipped", async () => {
    stoppedInRetirement();
    dynamoMock.on(GetItemCommand).resolves(lockItem(MY_EXECUTION, { [WAITER]: "token-w" }));
    sfnMock.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: "Task Timed Out", $metadata: {} }));
    const result = await notify(statusChange("ABORTED"));
    expect(result.wokeWaiters).toBeUndefined();
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it("a lock another deploy holds now (it took over) is left to that deploy's unlock", async () => {
    stoppedInRetirement();
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER, { [WAITER]: "token-w" }));
    const result = await notify(statusChange("ABORTED"));
    expect(result.wokeWaiters).toBeUndefined();
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it("a succeeded execution unlocked itself (its unlock handed over): the lock is not even read", async () => {
    await notify(statusChange("SUCCEEDED", live()));
    expect(dynamoMock).not.toHaveReceivedCommand(GetItemCommand);
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it("a failure to read the lock is logged, and the outcome is still published", async () => {
    stoppedInRetirement();
    dynamoMock.on(GetItemCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const result = await notify(statusChange("ABORTED"));
    expect(result.outcome).toBe("aborted");
    expect(result.wokeWaiters).toBeUndefined();
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  });
});
