import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterEach, describe, expect, it } from "vitest";
import { allClients, CLIENT_RETRY } from "../../functions/lib/clients.js";
import { STATE } from "../../functions/lib/names.js";
import { deployStage, driveWhile, runUntil, stageTemplates } from "../../simulator/execution/deployedStage.js";
import { attachRegion, bindFunctionClock, SimulatedRegion } from "../../simulator/region/index.js";

/**
 * The simulated region's Step Functions API and CloudFormation, as the operator CLI uses them: executions started,
 * stopped and redriven through the API run on the DeployRunner, and their histories have Step Functions' events
 * in Step Functions' order (checked against histories recorded on AWS, see simulator/execution/history.ts).
 */
const sfn = new SFNClient({ region: "us-east-1" });
const cloudFormation = new CloudFormationClient({ region: "us-east-1" });
let close: (() => void) | undefined;
afterEach(() => close?.());

async function world() {
  const region = new SimulatedRegion();
  const attachment = attachRegion(region, [...allClients, sfn, cloudFormation]);
  const restoreClock = bindFunctionClock(region);
  close = () => {
    attachment.detach();
    restoreClock();
  };
  const stage = deployStage(region, await stageTemplates("dev01"));
  await stage.runner.preload();
  const start = async (input: object, name?: string) =>
    (await sfn.send(new StartExecutionCommand({ stateMachineArn: stage.runner.stateMachineArn, input: JSON.stringify(input), name }))).executionArn!;
  const finish = (arn: string) => region.scheduler.drive([stage.runner.executions.find((e) => e.arn === arn)!.done]);
  const history = async (arn: string) => (await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000 }))).events ?? [];
  return { region, stage, start, finish, history };
}

const types = (events: HistoryEvent[]) => events.map((e) => e.type);
const named = (events: HistoryEvent[], type: string, name: string) =>
  events.findIndex((e) => e.type === type && (e.stateEnteredEventDetails?.name ?? e.stateExitedEventDetails?.name) === name);

describe("the simulated Step Functions API", () => {
  it("StartExecution runs the deploy; its history has ids in order, states with their input and output, Lambda events per invocation", async () => {
    // Prepare
    const w = await world();
    const artifact = { bucket: w.stage.artifactBucket, key: "releases/v1.tgz" };
    w.region.s3.putObject(artifact.bucket, artifact.key, "v1"); // starts one deploy through the rule; this one is a second

    // Act
    const arn = await w.start({ artifact }, "by-hand");
    await w.finish(arn);
    const events = await w.history(arn);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));

    // Assess
    expect(arn).toBe(`${w.stage.runner.stateMachineArn.replace(":stateMachine:", ":execution:")}:by-hand`);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.slice(0, 6).map((e) => [e.type, e.previousEventId])).toEqual([
      ["ExecutionStarted", 0],
      ["PassStateEntered", 0],
      ["PassStateExited", 2],
      ["TaskStateEntered", 3],
      ["LambdaFunctionScheduled", 4],
      ["LambdaFunctionStarted", 5],
    ]);
    expect(JSON.parse(events[0].executionStartedEventDetails!.input!)).toEqual({ artifact });
    const prepared = events[named(events, "TaskStateExited", STATE.prepare)];
    expect(JSON.parse(prepared.stateExitedEventDetails!.output!).plan.release).toBe("v1");
    expect(types(events).at(-1)).toBe("ExecutionSucceeded");
    // Its end went on the bus as a status change; the outcome rule ran notify on it.
    expect(w.stage.runner.executions.find((e) => e.arn === arn)!.notifications.map((n) => n.outcome)).toEqual([expect.stringMatching(/^(succeeded|no-op)$/)]);
    expect(described.status).toBe("SUCCEEDED");
    // Between its Entered and Exited, every Lambda Task state has one Scheduled/Started/Succeeded triple, after a
    // Scheduled/Started/Failed triple per retried attempt (the region's eventual consistency makes Launch retry).
    const attempts = (from: number) => types(events.slice(from + 1, events.findIndex((e, j) => j > from && e.type === "TaskStateExited") + 1)).join(" ");
    for (let i = 0; i < events.length; i += 1) {
      if (events[i].type !== "TaskStateEntered" || events[i].stateEnteredEventDetails?.name === STATE.bake) continue;
      expect(attempts(i)).toMatch(/^(LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionFailed )*LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionSucceeded TaskStateExited$/);
    }
  });

  it("a retried invocation is another LambdaFunctionScheduled; a caught error is LambdaFunctionFailed, then TaskStateExited, then the catcher", async () => {
    // Prepare: one throttled invocation in Prepare (retried by the state machine), then a refused group creation in Launch (caught: roll back)
    const w = await world();
    w.region.faults.inject([
      // The SDK's own retries (CLIENT_RETRY) take the first attempts' throttling; the last one fails the invocation.
      { operation: "AutoScaling:DescribeAutoScalingGroups", error: "Throttling", times: CLIENT_RETRY.maxAttempts },
      { operation: "AutoScaling:CreateAutoScalingGroup", error: "AccessDenied", times: 1 },
    ]);

    // Act
    const arn = await w.start({ artifact: { bucket: w.stage.artifactBucket, key: "releases/v1.tgz" } });
    await w.finish(arn);
    const events = await w.history(arn);

    // Assess
    const prepare = named(events, "TaskStateEntered", STATE.prepare);
    expect(types(events.slice(prepare + 1, prepare + 8))).toEqual([
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionFailed",
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionSucceeded",
      "TaskStateExited",
    ]);
    expect(events[prepare + 3].lambdaFunctionFailedEventDetails?.error).toBe("TransientAwsError");
    const launch = named(events, "TaskStateEntered", STATE.launch);
    expect(types(events.slice(launch + 1, launch + 6))).toEqual(["LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed", "TaskStateExited", "TaskStateEntered"]);
    expect(events[launch + 5].stateEnteredEventDetails?.name).toBe(STATE.rollback);
    expect(types(events).slice(-2)).toEqual(["FailStateEntered", "ExecutionFailed"]);
    expect(events.at(-1)?.executionFailedEventDetails?.error).toBe("AccessDenied");
  });

  it("StopExecution ends it ABORTED where it is, records nothing after, changes nothing after; RedriveExecution resumes that state", async () => {
    // Prepare
    const w = await world();
    const arn = await w.start({ artifact: { bucket: w.stage.artifactBucket, key: "releases/v1.tgz" } });
    const execution = w.stage.runner.executions.at(-1)!;
    await runUntil(w.region, [w.stage.runner], () => execution.visited.includes(STATE.bake));

    // Act
    await driveWhile(w.region, [w.stage.runner], sfn.send(new StopExecutionCommand({ executionArn: arn, error: "DeployAborted", cause: "by a test" })));
    const stopped = await w.history(arn);
    const calls = JSON.stringify(w.region.apiCallCounts());
    w.region.advance(7200);
    const callsLater = JSON.stringify(w.region.apiCallCounts());
    const later = await w.history(arn);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    await sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
    await w.finish(arn);
    const redriven = await w.history(arn);

    // Assess
    expect(types(stopped).slice(-2)).toEqual(["TaskStateAborted", "ExecutionAborted"]);
    expect(stopped.at(-1)?.executionAbortedEventDetails).toEqual({ error: "DeployAborted", cause: "by a test" });
    expect(later).toHaveLength(stopped.length);
    expect(callsLater).toBe(calls);
    expect(described).toMatchObject({ status: "ABORTED", redriveStatus: "REDRIVABLE", error: "DeployAborted" });
    expect(types(redriven).slice(stopped.length, stopped.length + 2)).toEqual(["ExecutionRedriven", "TaskStateEntered"]);
    expect(redriven[stopped.length + 1].stateEnteredEventDetails?.name).toBe(STATE.bake);
    expect(types(redriven).at(-1)).toBe("ExecutionSucceeded");
  });

  it("refuses what Step Functions refuses: a bad name or input, a reused name, redriving a succeeded execution", async () => {
    // Prepare
    const w = await world();
    const stateMachineArn = w.stage.runner.stateMachineArn;
    const arn = await w.start({ artifact: { bucket: w.stage.artifactBucket, key: "releases/v1.tgz" } }, "once");
    await w.finish(arn);
    const error = (promise: Promise<unknown>) => promise.then(() => undefined, (e: Error) => e.name);

    // Act
    const badName = await error(sfn.send(new StartExecutionCommand({ stateMachineArn, name: "a:b", input: "{}" })));
    const badInput = await error(sfn.send(new StartExecutionCommand({ stateMachineArn, input: "{not json" })));
    const reused = await error(sfn.send(new StartExecutionCommand({ stateMachineArn, name: "once", input: "{}" })));
    const redrive = await error(sfn.send(new RedriveExecutionCommand({ executionArn: arn })));
    const unknown = await error(sfn.send(new DescribeStateMachineCommand({ stateMachineArn: `${stateMachineArn}-nope` })));

    // Assess
    expect([badName, badInput, reused, redrive, unknown]).toEqual(["InvalidName", "InvalidExecutionInput", "ExecutionAlreadyExists", "ExecutionNotRedrivable", "StateMachineDoesNotExist"]);
  });

  it("DescribeStateMachine returns the definition the runner runs, settings included", async () => {
    // Prepare
    const w = await world();

    // Act
    const machine = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: w.stage.runner.stateMachineArn }));

    // Assess
    expect(machine).toMatchObject({ name: "webapp-dev01-deploy", status: "ACTIVE", type: "STANDARD" });
    expect(JSON.parse(machine.definition!).States[STATE.start].Parameters.settings).toEqual(w.stage.settings);
  });
});

describe("the simulated CloudFormation", () => {
  it("answers DescribeStacks with the synthesized templates' outputs, resolved to the simulated resources", async () => {
    // Prepare
    const w = await world();
    const { templates } = await stageTemplates("dev01");

    // Act
    const pipeline = (await cloudFormation.send(new DescribeStacksCommand({ StackName: "dev01-immutable-deploy-Pipeline" }))).Stacks![0];
    const environment = (await cloudFormation.send(new DescribeStacksCommand({ StackName: "dev01-immutable-deploy-Environment" }))).Stacks![0];
    const missing = await cloudFormation.send(new DescribeStacksCommand({ StackName: "dev02-immutable-deploy-Pipeline" })).catch((e: Error) => e);

    // Assess
    const outputs = (stack: typeof pipeline) => Object.fromEntries(stack.Outputs!.map((o) => [o.OutputKey, o.OutputValue]));
    expect(Object.keys(outputs(pipeline)).sort()).toEqual(Object.keys(templates.Pipeline.Outputs).sort());
    expect(outputs(pipeline)).toMatchObject({
      ArtifactBucket: w.stage.artifactBucket,
      ReleasePrefix: `s3://${w.stage.artifactBucket}/releases/`,
      StateMachineArn: w.stage.runner.stateMachineArn,
      LockTable: w.stage.settings.lockTableName,
      OutcomeTopic: w.stage.settings.topicArn,
    });
    expect(outputs(environment)).toMatchObject({ SiteUrl: "http://dev01.example.com", LaunchTemplateId: w.stage.settings.launchTemplateId });
    expect(missing).toMatchObject({ name: "ValidationError", Code: "ValidationError", message: "Stack with id dev02-immutable-deploy-Pipeline does not exist" });
  });
});
