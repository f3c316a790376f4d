import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterEach, describe, expect, it } from "vitest";
import { attachRegion, SimulatedRegion } from "../../simulator/region/index.js";
import type { TaskOutcome } from "../../simulator/region/services/stepfunctions.js";

/**
 * The simulated Step Functions' task tokens (`.waitForTaskToken` tasks), as the API reference describes them:
 * SendTaskSuccess / SendTaskFailure answer an open task once; a token that is malformed is InvalidToken, one no task
 * has is TaskDoesNotExist, one whose task is over (answered, timed out, execution stopped) TaskTimedOut (botocore
 * stepfunctions 2016-11-23 error shapes); TimeoutSeconds and HeartbeatSeconds end the task with States.Timeout and
 * States.HeartbeatTimeout on the region's clock, and SendTaskHeartbeat restarts the heartbeat clock only.
 */
const sfn = new SFNClient({ region: "us-east-1" });
let close: (() => void) | undefined;
afterEach(() => close?.());

function world() {
  const region = new SimulatedRegion();
  const attachment = attachRegion(region, [sfn]);
  close = () => attachment.detach();
  /** Drives the region until `work` settles (API requests take region time). */
  const drive = async <T>(work: Promise<T>): Promise<T> => {
    const [settled] = await region.scheduler.drive([work]);
    if (settled.status === "rejected") throw settled.reason;
    return settled.value;
  };
  const open = (timing: { timeoutSeconds?: number; heartbeatSeconds?: number } = {}) => {
    const task = region.stepFunctions.openCallbackTask("arn:aws:states:us-east-1:123456789012:execution:m:e1", "Wait for lock", timing);
    let outcome: TaskOutcome | undefined;
    void task.outcome.then((o) => (outcome = o));
    return { task, outcome: () => outcome };
  };
  const errorOf = (work: Promise<unknown>) => drive(work).then(() => undefined, (error: Error) => error.name);
  return { region, drive, open, errorOf };
}

describe("the simulated Step Functions task tokens", () => {
  it("SendTaskSuccess completes the task with its output, once; the token is over after that", async () => {
    const w = world();
    const { task, outcome } = w.open({ timeoutSeconds: 300 });
    await w.drive(sfn.send(new SendTaskSuccessCommand({ taskToken: task.token, output: '{"unlockedBy":"x"}' })));
    expect(outcome()).toEqual({ output: { unlockedBy: "x" } });
    expect(await w.errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: task.token, output: "{}" })))).toBe("TaskTimedOut");
    expect(await w.errorOf(sfn.send(new SendTaskHeartbeatCommand({ taskToken: task.token })))).toBe("TaskTimedOut");
  });

  it("refuses a malformed token, a token no task has, and output that is not JSON", async () => {
    const w = world();
    const { task, outcome } = w.open();
    expect(await w.errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: "not a token", output: "{}" })))).toBe("InvalidToken");
    expect(await w.errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: `${task.token}0`, output: "{}" })))).toBe("TaskDoesNotExist");
    expect(await w.errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: task.token, output: "{not json" })))).toBe("InvalidOutput");
    expect(outcome()).toBeUndefined(); // still open
  });

  it("SendTaskFailure fails the task with the error and cause given", async () => {
    const w = world();
    const { task, outcome } = w.open();
    await w.drive(sfn.send(new SendTaskFailureCommand({ taskToken: task.token, error: "Refused", cause: "no" })));
    expect(outcome()).toEqual({ error: "Refused", cause: "no" });
  });

  it("TimeoutSeconds ends the task with States.Timeout at that time on the region's clock, heartbeats or not", async () => {
    const w = world();
    const startMs = w.region.now();
    const { task, outcome } = w.open({ timeoutSeconds: 300, heartbeatSeconds: 120 });
    for (const seconds of [100, 200]) {
      w.region.scheduler.runUntil(startMs + seconds * 1000);
      await w.drive(sfn.send(new SendTaskHeartbeatCommand({ taskToken: task.token })));
    }
    w.region.scheduler.runUntil(startMs + 299_000);
    expect(outcome()).toBeUndefined();
    w.region.scheduler.runUntil(startMs + 300_000);
    await Promise.resolve();
    expect(outcome()).toMatchObject({ error: "States.Timeout" });
    expect(await w.errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: task.token, output: "{}" })))).toBe("TaskTimedOut");
  });

  it("HeartbeatSeconds without a heartbeat ends the task with States.HeartbeatTimeout; each heartbeat restarts its clock", async () => {
    const w = world();
    const startMs = w.region.now();
    const { task, outcome } = w.open({ heartbeatSeconds: 60 });
    w.region.scheduler.runUntil(startMs + 50_000);
    await w.drive(sfn.send(new SendTaskHeartbeatCommand({ taskToken: task.token })));
    const beatMs = w.region.now();
    w.region.scheduler.runUntil(startMs + 100_000); // 100 s after the start, 50 s after the heartbeat
    await Promise.resolve();
    expect(outcome()).toBeUndefined();
    w.region.scheduler.runUntil(beatMs + 60_000);
    await Promise.resolve();
    expect(outcome()).toMatchObject({ error: "States.HeartbeatTimeout" });
  });

  it("a task closed from outside (its execution stopped) takes no answer any more", async () => {
    const w = world();
    const { task } = w.open();
    w.region.stepFunctions.closeTasksOf("arn:aws:states:us-east-1:123456789012:execution:m:e1");
    expect(await w.errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: task.token, output: "{}" })))).toBe("TaskTimedOut");
  });
});
