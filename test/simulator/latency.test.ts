/**
 * Lambda and Step Functions latency (docs/simulator-region.md, "Lambda and Step Functions latency"): every state entered
 * takes `stateTransitionSeconds`, every invocation `lambdaInvokeSeconds`, and one that finds no warm execution
 * environment of its function also `lambdaColdStartSeconds` of Init, outside the function's timeout up to Lambda's
 * 10 s Init limit.
 */
import { afterEach, describe, expect, it } from "vitest";
import { LAMBDA_ERROR } from "../../functions/lib/names.js";
import { runAsl, taskTarget } from "../../simulator/execution/asl.js";
import { LambdaEnvironments } from "../../simulator/execution/lambdaEnvironments.js";
import { DeployRunner, invokeWithTimeout } from "../../simulator/execution/runner.js";
import { DEFAULT_TIMING, LAMBDA_INIT_LIMIT_SECONDS, resolveTiming, type Timing } from "../../simulator/region/index.js";
import { parseScenario } from "../../simulator/scenarios/scenario.js";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";
import { loadDeployDefinition } from "../../stacks/stateMachineDefinition.js";
import { productWorld } from "../support/simulatedWorld.js";

let world: ReturnType<typeof productWorld> | undefined;
afterEach(() => {
  world?.close();
  world = undefined;
});

describe("Lambda execution environments (cold and warm)", () => {
  it("the first invocation of a function is cold, the next one warm; an environment idle for lambdaIdleSeconds is gone", () => {
    // Prepare
    const environments = new LambdaEnvironments(() => 300);
    // Act / Assess
    const first = environments.acquire("prepareDeploy", 0);
    expect(first.cold).toBe(true);
    environments.release("prepareDeploy", first.environment, 2_000);
    const second = environments.acquire("prepareDeploy", 2_000 + 299_999);
    expect(second).toMatchObject({ cold: false, environment: first.environment });
    environments.release("prepareDeploy", second.environment, 302_000);
    expect(environments.acquire("lockEnvironment", 302_000).cold).toBe(true); // each function has its own environments
    expect(environments.acquire("prepareDeploy", 302_000 + 300_000).cold).toBe(true);
    expect(environments.coldStarts).toBe(3);
  });

  it("an invocation while the function's only environment is busy starts another (cold); both are warm afterwards", () => {
    const environments = new LambdaEnvironments(() => 300);
    const one = environments.acquire("notify", 0);
    const two = environments.acquire("notify", 0);
    expect([one.cold, two.cold]).toEqual([true, true]);
    expect(two.environment).not.toBe(one.environment);
    environments.release("notify", one.environment, 1_000);
    environments.release("notify", two.environment, 2_000);
    // The most recently used one serves the next invocation; the other is still there for a concurrent one.
    expect(environments.acquire("notify", 3_000)).toMatchObject({ cold: false, environment: two.environment });
    expect(environments.acquire("notify", 3_000)).toMatchObject({ cold: false, environment: one.environment });
  });

  it("an environment whose invocation crashed or timed out is reset: the next invocation is cold", () => {
    const environments = new LambdaEnvironments(() => 300);
    const crashed = environments.acquire("launchReleaseGroup", 0);
    environments.release("launchReleaseGroup", crashed.environment, 1_000, true);
    expect(environments.acquire("launchReleaseGroup", 2_000).cold).toBe(true);
  });
});

describe("Lambda Init and invoke latency (invokeWithTimeout, DeployRunner)", () => {
  /** One invocation with that Init: when its handler started (ms after the call) with how much time left, and how it ended. */
  async function timedInvocation(timeoutSeconds: number, initSeconds: number) {
    const { region } = world!;
    const start = region.now();
    let started: { atMs: number; remainingMs: number } | undefined;
    const invocation = invokeWithTimeout(region, {
      timeoutSeconds,
      requestId: `req-${timeoutSeconds}-${initSeconds}`,
      initSeconds,
      run: async (context) => {
        started = { atMs: region.now() - start, remainingMs: context.getRemainingTimeInMillis() };
        return "done";
      },
    });
    const [settled] = await region.scheduler.drive([invocation]);
    const endedAtMs = region.now() - start;
    return {
      settled,
      endedAtMs,
      /** Read late: a handler that starts after the invocation ended would show here. */
      get started() {
        return started;
      },
    };
  }

  it("a cold start's Init runs before the handler and outside its timeout", async () => {
    world = productWorld();
    const { settled, started } = await timedInvocation(5, 3);
    expect(settled).toEqual({ status: "fulfilled", value: "done" });
    expect(started).toEqual({ atMs: 3_000, remainingMs: 5_000 });
  });

  it("an Init beyond Lambda's 10 s limit is cut off and retried inside the invocation, on the function's timeout", async () => {
    // Prepare: Init takes 12 s, in a 30 s function and in a 5 s one.
    world = productWorld();
    // Act
    const long = await timedInvocation(30, 12);
    const short = await timedInvocation(5, 12);
    world.region.advance(60); // the retried Init's end passes: the timed-out handler must not start then
    await new Promise((resolve) => setImmediate(resolve));
    // Assess: 10 s cut off, then the 12 s retry inside the 30 s; the 5 s function times out during the retry.
    expect(LAMBDA_INIT_LIMIT_SECONDS).toBe(10);
    expect(long.started).toEqual({ atMs: 22_000, remainingMs: 18_000 });
    expect(short.settled.status).toBe("rejected");
    expect((short.settled as PromiseRejectedResult).reason).toMatchObject({ name: LAMBDA_ERROR.timedOut });
    expect(short.endedAtMs).toBe(15_000);
    expect(short.started).toBeUndefined();
  });

  async function firstDeploy(timing: Partial<Timing>, options: { crashAfter?: string } = {}) {
    world = productWorld({ region: {}, timing });
    const { region, settings } = world;
    const definition = await loadDeployDefinition("dev01");
    const runner = new DeployRunner({ region, settings, definition });
    await runner.preload();
    const bucket = `${settings.app}-${settings.environment}-artifacts`;
    const { object } = region.s3.putObject(bucket, "releases/v1.tgz", "v1");
    const execution = runner.start({ artifact: { bucket, key: "releases/v1.tgz", versionId: object.versionId } }, options);
    await region.scheduler.drive([execution.done]);
    const functions = new Set(
      execution.visited.map((state) => taskTarget(definition.States[state])).flatMap((target) => (target.kind === "lambda" ? [target.fn] : [])),
    );
    return { result: execution.result!, functions };
  }

  it("a deploy's first AWS call comes after its two transitions (Pass, Task), the invocation and the Init of a cold start", async () => {
    // Prepare
    world = productWorld({ region: {}, timing: { stateTransitionSeconds: 0.25, lambdaInvokeSeconds: 0.5, lambdaColdStartSeconds: 2 } });
    const { region, settings } = world;
    const definition = await loadDeployDefinition("dev01");
    const runner = new DeployRunner({ region, settings, definition });
    await runner.preload();
    const callTimes: number[] = [];
    region.onApiCall(() => callTimes.push(region.now()));
    const bucket = `${settings.app}-${settings.environment}-artifacts`;
    const { object } = region.s3.putObject(bucket, "releases/v1.tgz", "v1");
    // Act
    const start = region.now();
    const execution = runner.start({ artifact: { bucket, key: "releases/v1.tgz", versionId: object.versionId } });
    await region.scheduler.drive([execution.done]);
    // Assess: "Start deploy" (Pass) and the first Task, then 0.5 s to invoke and 2 s of Init; nothing else before.
    const [first, second] = execution.visited.map((state) => definition.States[state]);
    expect(first.Type).toBe("Pass");
    expect(taskTarget(second).kind).toBe("lambda");
    expect(callTimes[0] - start).toBe(2 * 250 + 500 + 2000);
  });

  it("in a deploy whose environments never go idle long enough, each stage function starts cold once", async () => {
    const { result, functions } = await firstDeploy({ lambdaIdleSeconds: 1e9 });
    expect(result.outcome).toBe("succeeded");
    expect(functions.size).toBeGreaterThan(5);
    expect(result.lambdaInvocations).toBeGreaterThan(functions.size);
    expect(result.lambdaColdStarts).toBe(functions.size);
  });

  it("with lambdaIdleSeconds 0 every invocation is a cold start; a crashed invocation's retry starts cold", async () => {
    const { result: allCold } = await firstDeploy({ lambdaIdleSeconds: 0 });
    expect(allCold.lambdaColdStarts).toBe(allCold.lambdaInvocations);
    world!.close();
    const { result: crashed, functions } = await firstDeploy({ lambdaIdleSeconds: 1e9 }, { crashAfter: "AutoScaling:CreateAutoScalingGroup" });
    expect(crashed.outcome).toBe("succeeded");
    expect(crashed.lambdaErrors[LAMBDA_ERROR.crashed]).toBe(1);
    expect(crashed.lambdaColdStarts).toBe(functions.size + 1);
  });
});

describe("state transition latency (runAsl)", () => {
  const definition = {
    StartAt: "Prepare",
    States: {
      Prepare: { Type: "Pass", Next: "Route" },
      Route: { Type: "Choice", Choices: [{ Variable: "$.go", BooleanEquals: true, Next: "First" }], Default: "Failed" },
      First: { Type: "Task", Resource: "arn:aws:lambda:us-east-1:123456789012:function:first", Next: "Again" },
      Again: { Type: "Choice", Choices: [{ Variable: "$.go", BooleanEquals: true, Next: "Pause" }], Default: "Failed" },
      Pause: { Type: "Wait", Seconds: 10, Next: "Second" },
      Second: { Type: "Task", Resource: "arn:aws:lambda:us-east-1:123456789012:function:second", Next: "Done" },
      Done: { Type: "Succeed" },
      Failed: { Type: "Fail", Error: "Nope" },
    },
  } as unknown as AslDefinition;

  it("every state entered takes the transition latency, paid before the next Task or Wait acts and before the run ends", async () => {
    // Prepare: a clock that only the run's sleeps move.
    let now = 0;
    const startedAt: Record<string, number> = {};
    // Act
    const run = await runAsl(definition, { go: true }, {
      context: { Execution: { Id: "arn:x", Name: "x", StartTime: "2026-01-01T00:00:00.000Z" } },
      taskHandler: (name) => async (input) => {
        startedAt[name] = now;
        return input;
      },
      sleep: async (seconds) => {
        now += seconds;
      },
      transitionSeconds: () => 0.5,
    });
    // Assess: First after Prepare, Route, First (1.5 s); Second after Again, Pause, the 10 s wait, Second; Done at the end.
    expect(run.status).toBe("SUCCEEDED");
    expect(run.stateTransitions).toBe(7);
    expect(startedAt).toEqual({ First: 1.5, Second: 1.5 + 1 + 10 + 0.5 });
    expect(now).toBe(7 * 0.5 + 10);
  });

  it("a failed run pays for the states it entered too; without transitionSeconds no time passes", async () => {
    let now = 0;
    const sleep = async (seconds: number) => {
      now += seconds;
    };
    const context = { Execution: { Id: "arn:x", Name: "x", StartTime: "2026-01-01T00:00:00.000Z" } };
    const failed = await runAsl(definition, { go: false }, { context, taskHandler: () => async (input) => input, sleep, transitionSeconds: () => 2 });
    expect(failed).toMatchObject({ status: "FAILED", error: "Nope", stateTransitions: 3 });
    expect(now).toBe(6);
    now = 0;
    await runAsl(definition, { go: true }, { context, taskHandler: () => async (input) => input, sleep });
    expect(now).toBe(10);
  });
});

describe("timing validation", () => {
  it("the latency fields default to the documented figures, and a scenario may set each (numbers >= 0 only)", () => {
    expect(resolveTiming()).toMatchObject({ lambdaColdStartSeconds: 1, lambdaInvokeSeconds: 0.1, lambdaIdleSeconds: 300, stateTransitionSeconds: 0.1 });
    expect(DEFAULT_TIMING.stateTransitionSeconds).toBe(0.1);
    const timing = { lambdaColdStartSeconds: 0.4, lambdaInvokeSeconds: 0.05, lambdaIdleSeconds: 2700, stateTransitionSeconds: 0 };
    expect(parseScenario({ timing, steps: [{ redrive: true }] }).timing).toEqual(timing);
    expect(() => parseScenario({ timing: { lambdaColdStartSeconds: -1 }, steps: [{ redrive: true }] })).toThrowError(/timing\.lambdaColdStartSeconds/);
    expect(() => parseScenario({ timing: { lambdaWarmSeconds: 1 }, steps: [{ redrive: true }] })).toThrowError(/lambdaWarmSeconds/);
    expect(() => resolveTiming({ stateTransitionSeconds: Number.NaN })).toThrowError("timing.stateTransitionSeconds must be a number >= 0, got null");
  });
});
