import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ProgressLines } from "../../cli/progress.js";
import { lockIdFor, readLock } from "../../functions/lib/lock.js";
import { retainedByTag, STATE } from "../../functions/lib/names.js";
import { packRelease } from "../../scripts/pack-release.js";
import { NOTIFY_PROGRESS_STATE } from "../../simulator/execution/runner.js";
import { deregisteredImagesInUse } from "../../simulator/region/index.js";
import { tagValueOf } from "../../simulator/region/services/ec2.js";
import { checkCall, checkModelSources, type ServiceName } from "../aws/serviceModels.js";
import { cliWorld } from "./support.js";

/**
 * Every command of the operator CLI end to end: the real CLI code, the real state machine and stage functions,
 * against a simulated region whose stacks answer DescribeStacks with the synthesized outputs (virtual time).
 */

type World = Awaited<ReturnType<typeof cliWorld>>;
let world: World | undefined;
afterEach(() => world?.close());

const APP_DIR = "example-app";
/** A progress line without its `[  12.8s] v2   ` prefix. */
const text = (line: string) => line.replace(/^\[\s*[\d.]+s\] \S*\s+/, "");

async function dev01(config: Record<string, unknown> = {}): Promise<World> {
  world = await cliWorld([{ stage: "dev01", config }]);
  return world;
}

/**
 * The lines the rehearsal prints for each execution (the runner's progress events through the same words), but
 * for the outcome notification's: notify runs on the status change, outside the execution and its history, and
 * the CLI ends with its own outcome line instead.
 */
function rehearsalLines(w: World, stage: string): Map<string, string[]> {
  const byExecution = new Map<string, string[]>();
  const lines = new ProgressLines();
  w.stages[stage].runner.onProgress((event) => {
    if (event.state === NOTIFY_PROGRESS_STATE) return;
    const line = lines.next(event.execution, event);
    if (line !== undefined) byExecution.set(event.execution, [...(byExecution.get(event.execution) ?? []), line]);
  });
  return byExecution;
}

async function release(w: World, label: string, stage = "dev01") {
  const run = await w.cli(["release", APP_DIR, "--label", label, "--stage", stage, "--json"]);
  expect(run.code, run.stderr).toBe(0);
  return run;
}

/** Uploads a release the way `aws s3 cp` would, without the CLI: the upload starts a deploy. */
function upload(w: World, label: string, stage = "dev01") {
  w.region.s3.putObject(w.stages[stage].artifactBucket, `releases/${label}.tgz`, `release ${label}`);
  return w.stages[stage].runner.executions.at(-1)!;
}

function liveRelease(w: World, stage = "dev01"): string | undefined {
  const groups = [...w.region.autoScaling.groups.values()].filter((g) => !g.deleting && tagValueOf(g.tags, "immutable-deploy:environment") === stage);
  return groups.length === 1 ? tagValueOf(groups[0].tags, "immutable-deploy:release") : `${groups.length} groups`;
}

describe("release and watch", () => {
  it("release packs a folder, uploads it under the release prefix (the upload starts the deploy) and prints the rehearsal's lines", async () => {
    // Prepare
    const w = await dev01();
    const rehearsal = rehearsalLines(w, "dev01");

    // Act
    const run = await release(w, "v1");

    // Assess
    expect(run.json).toMatchObject({ command: "release", stage: "dev01", release: "v1", artifact: { bucket: "webapp-dev01-artifacts", key: "releases/v1.tgz" } });
    expect(run.json.deploy).toMatchObject({ outcome: "succeeded", release: "v1", status: "SUCCEEDED", startedBy: "upload s3://webapp-dev01-artifacts/releases/v1.tgz" });
    const object = w.region.s3.buckets.get("webapp-dev01-artifacts")!.objects.get("releases/v1.tgz")!;
    expect([...object.body.slice(0, 2)]).toEqual([0x1f, 0x8b]);
    // The rehearsal prints the outcome once it is notified, which may come after release returned.
    await w.runUntil(() => (rehearsal.get(run.json.deploy.execution) ?? []).includes("deploy: succeeded"));
    expect(run.json.progress.map(text)).toEqual(rehearsal.get(run.json.deploy.execution));
    expect(run.json.progress.map(text)).toContain("deploy: new instance(s) are healthy at load balancer (2/2)");
    expect(liveRelease(w)).toBe("v1");
  });

  it("release takes a packed .tgz as it is, its label from the file name; lines without --json, no escape codes off a terminal", async () => {
    // Prepare
    const w = await dev01();
    const dir = mkdtempSync(join(tmpdir(), "cli-release-"));
    await packRelease({ appDir: APP_DIR, release: "v7", outFile: join(dir, "v7.tgz") });

    // Act
    const run = await w.cli(["release", join(dir, "v7.tgz"), "--stage", "dev01"]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("[  0.0s] v7   deploy: validating input and pulling down list of existing autoscaling groups...");
    expect(run.stdout).toMatch(/deploy v7 succeeded in \d+m \d\ds\n$/);
    expect(run.stdout).not.toContain("\x1b[");
    expect(liveRelease(w)).toBe("v7");
  });

  it("on a terminal: colour and a live status line; NO_COLOR turns the colour off", async () => {
    // Prepare
    const w = await dev01();

    // Act
    const coloured = await w.cli(["release", APP_DIR, "--label", "v1", "--stage", "dev01"], { tty: true });
    const plain = await w.cli(["status", "--stage", "dev01"], { tty: true, env: { NO_COLOR: "1" } });

    // Assess
    expect(coloured.stdout).toContain("\x1b[32mdeploy v1 succeeded");
    expect(coloured.stdout).toMatch(/\r\x1b\[2K\x1b\[2m {2}\.\.\. in "[^"]+", /);
    expect(plain.stdout).not.toContain("\x1b[3");
  });

  it("watch follows a failing deploy to its rollback: exit 1, the failed state and the cause, the rehearsal's lines", async () => {
    // Prepare
    const w = await dev01();
    await release(w, "v1");
    const rehearsal = rehearsalLines(w, "dev01");
    w.region.setReleaseBehavior("v2", { appHealthy: false });
    const v2 = upload(w, "v2");

    // Act
    const run = await w.cli(["watch", "--stage", "dev01", "--json"]);
    // The runner reports the execution's end once its outcome is notified, which may come after watch returned.
    await w.runUntil(() => (rehearsal.get(v2.name) ?? []).some((line) => line.startsWith("deploy: execution ended")));

    // Assess
    expect(run.code).toBe(1);
    expect(run.json.deploy).toMatchObject({ outcome: "rolled-back", release: "v2", failedState: STATE.checkLoadBalancerHealth, error: "ReleaseUnhealthy" });
    expect(run.json.deploy.cause).toContain("not healthy at target group");
    expect(run.json.progress.map(text)).toEqual(rehearsal.get(run.json.deploy.execution));
    expect(run.json.progress.map(text)).toContain("deploy: rolling back: deleting the new group, restoring the old one...");
    expect(liveRelease(w)).toBe("v1");
  });

  it("watch says a deploy that stopped after its release went live needs attention (exit 3); redrive finishes it", async () => {
    // Prepare: deleting the old group is refused once, after v2 serves
    const w = await dev01();
    await release(w, "v1");
    w.region.faults.inject([{ operation: "AutoScaling:DeleteAutoScalingGroup", error: "AccessDenied", times: 1 }]);
    upload(w, "v2");

    // Act
    const watched = await w.cli(["watch", "--stage", "dev01"]);
    const settings = w.stages.dev01.settings;
    const lockWhileStopped = await readLock(settings.lockTableName, lockIdFor(settings));
    const redriven = await w.cli(["redrive", "--stage", "dev01", "--json"]);
    const history = await w.cli(["history", "--stage", "dev01", "--json"]);

    // Assess
    expect(watched.code).toBe(3);
    expect(watched.stdout).toContain(`deploy v2 needs attention: it stopped in "${STATE.deleteOldGroups}" after the release went live and holds the deploy lock: AccessDenied`);
    expect(watched.stdout).toContain("`npx immutable-deploy redrive --stage dev01`");
    expect(lockWhileStopped?.release).toBe("v2");
    expect(redriven.code).toBe(0);
    expect(redriven.json.deploy).toMatchObject({ outcome: "succeeded", redriveCount: 1 });
    expect(redriven.json.progress.map(text)[0]).toBe("deploy: deleting outdated group(s) and launch template versions...");
    expect(history.json.deploys[0]).toMatchObject({ release: "v2", outcome: "succeeded", redriveCount: 1 });
    expect(liveRelease(w)).toBe("v2");
  });
});

describe("status, history, images", () => {
  it("status shows the live release, its instances, the running deploy, the lock holder and the last outcomes", async () => {
    // Prepare: v1 live, v2 baking (without the lock: the bake runs before Lock)
    const w = await dev01();
    await release(w, "v1");
    const v2 = upload(w, "v2");
    await w.runUntil(() => v2.visited.includes(STATE.bake));
    const baking = await w.cli(["status", "--stage", "dev01", "--json"]);
    // Until Launch is entered: the Lock state writes the lock after its transition, invocation and cold start.
    await w.runUntil(() => v2.visited.includes(STATE.launch));

    // Act
    const json = await w.cli(["status", "--stage", "dev01", "--json"]);
    const human = await w.cli(["status", "--stage", "dev01"]);

    // Assess
    expect(baking.json).toMatchObject({ deploys: [{ execution: v2.name, release: "v2", state: STATE.bake }], lock: null });
    expect(json.code).toBe(0);
    expect(json.json).toMatchObject({
      command: "status",
      stage: "dev01",
      region: "us-east-1",
      siteUrl: "http://dev01.example.com",
      live: { release: "v1", desired: 2, instances: { inService: 2, healthyAtLoadBalancer: 2, total: 2 } },
      deploys: [{ execution: v2.name, release: "v2", state: json.json.deploys[0].state, cutover: { bakeTimeLeftSeconds: null } }],
      lock: { execution: v2.name, release: "v2", holderStatus: "RUNNING" },
      recent: [{ release: "v1", outcome: "succeeded" }],
    });
    expect(json.json.live.imageId).toMatch(/^ami-/);
    expect(human.stdout).toContain("live     v1  image ami-");
    expect(human.stdout).toContain("2/2 InService, 2/2 healthy at the load balancer (desired 2, min 1, max 4)");
    // Running for the bake (600 s) and what the status calls took (each AWS call takes region time).
    expect([STATE.lock, STATE.launch]).toContain(json.json.deploys[0].state);
    expect(human.stdout).toMatch(new RegExp(`deploy {3}v2 \\(${v2.name}\\) running for 10m 0\\ds, in "(${STATE.lock}|${STATE.launch})"`));
    expect(human.stdout).toContain(`lock     held by ${v2.name} (release v2`);

    // Once v2 ends, the table keeps the released lock (releasedBy) and each delivery's record: neither is a holder.
    await w.runUntil(() => v2.result !== undefined);
    const after = await w.cli(["status", "--stage", "dev01"]);
    const items = [...w.region.dynamodb.tables.get(w.stages.dev01.settings.lockTableName)!.items.values()];
    expect(items.filter((item) => item.lockId.S!.includes("#delivery#"))).toHaveLength(2);
    expect(items.find((item) => item.lockId.S === "webapp#dev01")).toMatchObject({ releasedBy: { S: v2.arn } });
    expect(after.stdout).toContain("lock     free");
  });

  it("history lists each deploy: release, outcome, duration, how started, failed state and cause", async () => {
    // Prepare: v1 succeeded, v2 rolled back, then a rollback to v1 that is a no-op (v1 is live)
    const w = await dev01();
    await release(w, "v1");
    w.region.setReleaseBehavior("v2", { appHealthy: false });
    await w.cli(["release", APP_DIR, "--label", "v2", "--stage", "dev01"]);

    // Act
    const run = await w.cli(["history", "--stage", "dev01", "--json"]);
    const human = await w.cli(["history", "--stage", "dev01", "--limit", "1"]);

    // Assess
    expect(run.json.deploys).toHaveLength(2);
    const [v2, v1] = run.json.deploys;
    expect(v2).toMatchObject({ release: "v2", outcome: "rolled-back", failedState: STATE.checkLoadBalancerHealth, error: "ReleaseUnhealthy", startedBy: "upload s3://webapp-dev01-artifacts/releases/v2.tgz" });
    expect(v2.seconds).toBeGreaterThan(600);
    expect(v1).toMatchObject({ release: "v1", outcome: "succeeded", failedState: null, error: null });
    expect(human.stdout.split("\n").filter(Boolean)).toHaveLength(2);
    expect(human.stdout).toContain(`rolled-back`);
    expect(human.stdout).toContain(`${STATE.checkLoadBalancerHealth}: ReleaseUnhealthy: deploy: new instance(s) not healthy`);
  });
});

describe("rollback", () => {
  it("after three releases goes back to the release before the live one without a bake, and --to to any retained one", async () => {
    // Prepare
    const w = await dev01();
    for (const label of ["v1", "v2", "v3"]) await release(w, label);
    const bakes = w.region.codeBuild.bakes.release;

    // Act
    const images = await w.cli(["images", "--stage", "dev01", "--json"]);
    const back = await w.cli(["rollback", "--stage", "dev01", "--json"]);
    const liveAfterBack = liveRelease(w);
    const further = await w.cli(["rollback", "--stage", "dev01", "--to", "v1", "--json"]);

    // Assess
    expect(images.json.images.map((i: any) => [i.release, i.live, i.rollbackTarget])).toEqual([
      ["v3", true, false],
      ["v2", false, true],
      ["v1", false, true],
    ]);
    expect(back.code).toBe(0);
    expect(back.json).toMatchObject({ from: { release: "v3" }, to: { release: "v2", imageId: images.json.images[1].imageId }, deploy: { outcome: "succeeded" } });
    expect(back.json.deploy.startedBy).toBe(`rollback ${images.json.images[1].imageId}`);
    expect(liveAfterBack).toBe("v2");
    expect(further.json).toMatchObject({ from: { release: "v2" }, to: { release: "v1" }, deploy: { outcome: "succeeded" } });
    expect(liveRelease(w)).toBe("v1");
    expect(w.region.codeBuild.bakes.release).toBe(bakes);
  });

  it("refuses while a deploy runs outside its cutover: there is nothing to switch back from yet; abort is the way", async () => {
    // Prepare
    const w = await dev01();
    await release(w, "v1");
    const v2 = upload(w, "v2");
    await w.runUntil(() => v2.visited.includes(STATE.launch));

    // Act
    const run = await w.cli(["rollback", "--stage", "dev01"]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`a deploy of v2 is running in dev01 (${v2.name}, in "`);
    expect(run.stderr).toContain("not in its cutover, so rollback cannot switch traffic back at once");
    expect(run.stderr).toContain("`npx immutable-deploy abort --stage dev01`");
    await w.runUntil(() => v2.result !== undefined);
  });
});

describe("promote", () => {
  it("deploys the image a stage tested to another without a bake; retention in both never deregisters what the other keeps or runs", async () => {
    // Prepare: dev01 and production keep one previous release each
    world = await cliWorld([
      { stage: "dev01", config: { retainReleaseImages: 1 } },
      { stage: "production", config: { retainReleaseImages: 1 } },
    ]);
    const w = world;
    await release(w, "v1");
    const v1Image = (await w.cli(["images", "--stage", "dev01", "--json"])).json.images[0].imageId as string;
    const bakes = w.region.codeBuild.bakes.release;
    const inUseViolations = () => deregisteredImagesInUse(w.region);

    // Act 1: promote v1; dev01 moves on to v2 and v3 (its retention lets go of v1)
    const promoted = await w.cli(["promote", "v1", "--stage", "dev01", "--to", "production", "--json"]);
    await release(w, "v2");
    await release(w, "v3");
    const imagesInProduction = await w.cli(["images", "--stage", "production", "--json"]);
    const imagesInDev = await w.cli(["images", "--stage", "dev01", "--json"]);

    // Assess 1: production runs v1's very image, dev01 no longer claims it, and it stays
    expect(promoted.code).toBe(0);
    expect(promoted.json).toMatchObject({ from: "dev01", to: "production", release: "v1", imageId: v1Image, deploy: { outcome: "succeeded" } });
    expect(promoted.json.deploy.startedBy).toBe(`promote ${v1Image}`);
    expect(w.region.codeBuild.bakes.release).toBe(bakes + 2);
    expect(liveRelease(w, "production")).toBe("v1");
    expect(w.region.ec2.images.get(v1Image)?.state).toBe("available");
    expect(imagesInProduction.json.images).toEqual([
      expect.objectContaining({ imageId: v1Image, release: "v1", bakedIn: "dev01", retainedBy: ["production"], live: true }),
    ]);
    expect(imagesInProduction.json.images[0].usedBy).toEqual([{ group: expect.stringMatching(/^webapp-production-v1-/), environment: "production" }]);
    expect(imagesInDev.json.images.map((i: any) => [i.release, i.retainedBy])).toEqual([
      ["v3", ["dev01"]],
      ["v2", ["dev01"]],
      ["v1", ["production"]],
    ]);
    expect(inUseViolations()).toEqual([]);

    // Act 2: production takes v3, then v2: its retention keeps v2 + v3 and lets go of v1, which nobody claims any more
    await w.cli(["promote", "v3", "--stage", "dev01", "--to", "production"]);
    const v1AfterV3 = w.region.ec2.images.get(v1Image)?.state;
    const last = await w.cli(["promote", "v2", "--stage", "dev01", "--to", "production", "--json"]);

    // Assess 2
    expect(v1AfterV3).toBe("available"); // production keeps one previous release: v1
    expect(last.json.deploy.outcome).toBe("succeeded");
    expect(w.region.ec2.images.has(v1Image)).toBe(false);
    expect(liveRelease(w, "production")).toBe("v2");
    const v3Image = imagesInDev.json.images[0].imageId;
    expect(w.region.ec2.images.get(v3Image)?.tags.map((t) => t.Key ?? "").filter((k) => k.startsWith("immutable-deploy:retained-by:")).sort()).toEqual([
      retainedByTag("dev01"),
      retainedByTag("production"),
    ]);
    expect(inUseViolations()).toEqual([]);
    const unknown = await w.cli(["promote", "v9", "--stage", "dev01", "--to", "production"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('<release>: unknown release "v9": no available image of it in stage dev01; allowed: v3, v2');
  });
});

describe("abort and approve", () => {
  it("abort after Launch stops the deploy and rolls back as a failure would: new group gone, old one serving, lock free", async () => {
    // Prepare
    const w = await dev01();
    await release(w, "v1");
    const v2 = upload(w, "v2");
    await w.runUntil(() => v2.visited.includes(STATE.checkGroupHealth));
    const published = w.region.sns.published.length;

    // Act
    const run = await w.cli(["abort", "--stage", "dev01", "--json"]);
    const history = await w.cli(["history", "--stage", "dev01", "--json"]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ command: "abort", execution: v2.name, release: "v2", phase: "launched", deploy: { status: "ABORTED", outcome: "aborted" } });
    expect(run.json.actions[0]).toMatch(/^rollback: deleted webapp-dev01-v2-/);
    expect(run.json.actions[1]).toBe("released the deploy lock of webapp/dev01");
    expect(liveRelease(w)).toBe("v1");
    const settings = w.stages.dev01.settings;
    expect(await readLock(settings.lockTableName, lockIdFor(settings))).toBeUndefined();
    // The outcome rule notifies the ABORTED status (no redrive: the failure path follows), then abort the rollback.
    const notifications = w.region.sns.published.slice(published);
    expect(notifications.map((m) => m.subject)).toEqual(["[webapp dev01] Deploy Aborted: v2", "[webapp dev01] Deploy Rolled Back: v2"]);
    expect(notifications[0].message.split("\n")[0]).toMatch(/^release v2 was aborted in "[^"]+": aborted with immutable-deploy abort .*; its outcome follows$/);
    expect(notifications[0].message).not.toContain("Resume:");
    expect(history.json.deploys[0]).toMatchObject({ release: "v2", outcome: "aborted", error: "DeployAborted" });
    // The stopped execution never acts again.
    const calls = w.region.apiCalls.get("AutoScaling:CreateAutoScalingGroup");
    w.region.advance(3600);
    expect(w.region.apiCalls.get("AutoScaling:CreateAutoScalingGroup")).toBe(calls);
  });

  it("abort before Launch only unlocks (nothing to release while it bakes); after the release went live it keeps the lock for a redrive (exit 3)", async () => {
    // Prepare
    const w = await dev01();
    await release(w, "v1");
    const v2 = upload(w, "v2");
    await w.runUntil(() => v2.visited.includes(STATE.bake));

    // Act 1
    const early = await w.cli(["abort", "--stage", "dev01", "--json"]);
    const v3 = upload(w, "v3");
    await w.runUntil(() => v3.visited.includes(STATE.waitForRetirement));
    const late = await w.cli(["abort", "--stage", "dev01", "--json"]);
    const redriven = await w.cli(["redrive", "--stage", "dev01"]);

    // Assess
    // Stopped while baking: the bake runs before Lock (issue 17 item 3), so there is no lock to release.
    expect(early).toMatchObject({
      code: 0,
      json: { phase: "before-launch", actions: [expect.stringMatching(/^this execution never held the deploy lock of webapp\/dev01 \(it is .*\): nothing to release$/), expect.stringContaining("failed")] },
    });
    expect(late.code).toBe(3);
    expect(late.json).toMatchObject({ phase: "live", deploy: { outcome: "aborted", needsAttention: true } });
    expect(redriven.code, redriven.stderr).toBe(0);
    expect(liveRelease(w)).toBe("v3");
  });

  it("a deploy stopped elsewhere after Launch (console, stop-execution) is aborted and needs attention: nothing rolled it back", async () => {
    // Prepare
    const w = await dev01();
    await release(w, "v1");
    const v2 = upload(w, "v2");
    await w.runUntil(() => v2.visited.includes(STATE.checkGroupHealth));
    w.region.stepFunctions.stateMachines.get(w.stages.dev01.runner.stateMachineArn)!.control.stop(v2.arn, "Stopped", "from the console");

    // Act
    const run = await w.cli(["watch", v2.name, "--stage", "dev01", "--json"]);

    // Assess
    expect(run.code).toBe(3);
    expect(run.json.deploy).toMatchObject({ outcome: "aborted", needsAttention: true, status: "ABORTED", failedState: STATE.checkGroupHealth, error: "Stopped" });
  });

  it("approve: refused where the stage asks for no approval; with cutover.approval the deploy moves to 100 % once approved", async () => {
    // Prepare
    const plain = await dev01();
    const idle = await plain.cli(["approve", "--stage", "dev01"]);
    const v1 = upload(plain, "v1");
    await plain.runUntil(() => v1.visited.includes(STATE.bake));
    const refused = await plain.cli(["approve", "--stage", "dev01", "--json"]);
    await plain.runUntil(() => v1.result !== undefined);
    const w = await dev01({ cutover: { approval: { timeoutSeconds: 900 } } });
    const first = upload(w, "v1");
    await w.runUntil(() => first.result !== undefined);
    const v2 = upload(w, "v2");
    await w.runUntil(() => v2.visited.includes(STATE.waitForCutover));

    // Act
    const run = await w.cli(["approve", "--stage", "dev01", "--json"]);
    await w.runUntil(() => v2.result !== undefined);

    // Assess
    expect(idle.code).toBe(2);
    expect(idle.stderr).toContain("no deploy is running in stage dev01: no approval is pending");
    expect(refused.code).toBe(2);
    expect(refused.json.error).toBe('no approval is pending: stage dev01 has no cutover.approval (its deploys move to 100 % by themselves; see README "Cutover")');
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ command: "approve", release: "v2", approved: true });
    expect(v2.result?.outcome).toBe("succeeded");
    expect(liveRelease(w)).toBe("v2");
  });

  it("rollback during a cutover switches traffic back at once and follows the deploy to its rollback", async () => {
    // Prepare
    const w = await dev01();
    const v1 = upload(w, "v1");
    await w.runUntil(() => v1.result !== undefined);
    const v2 = upload(w, "v2");
    await w.runUntil(() => v2.visited.includes(STATE.waitForCutover));

    // Act
    const run = await w.cli(["rollback", "--stage", "dev01", "--json"]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ command: "rollback", during: "cutover", deploy: { outcome: "rolled-back" } });
    expect(v2.result?.outcome).toBe("rolled-back");
    expect(liveRelease(w)).toBe("v1");
  });
});

describe("bad input", () => {
  it("each exits 2, naming the field, the value and what is allowed, before acting", async () => {
    // Prepare
    const w = await dev01();
    await release(w, "v1");
    await release(w, "v2");
    const dir = mkdtempSync(join(tmpdir(), "cli-bad-"));
    writeFileSync(join(dir, "v3.tgz"), "not a tarball");
    const executions = w.stages.dev01.runner.executions.length;

    // Act
    const cases: [string[], string][] = [
      [["status", "--stage", "dev02"], 'stage "dev02" is not deployed in us-east-1: no CloudFormation stack dev02-immutable-deploy-Pipeline'],
      [["status", "--stage", "no_such!"], '--stage: "no_such!" is not a stage name'],
      [["status", "--stage", "dev01", "--region", "mars"], '--region: "mars" is not an AWS region'],
      [["release", "does-not-exist", "--stage", "dev01"], '<app-dir|file.tgz>: "does-not-exist" does not exist'],
      [["release", join(dir, "v3.tgz"), "--stage", "dev01"], "is not gzip data"],
      [["release", dir, "--label", "v3", "--stage", "dev01"], "has no package.json"],
      [["release", APP_DIR, "--label", "v 3", "--stage", "dev01"], '--label: "v 3" is not a release label; allowed: 1-64 letters'],
      [["rollback", "--stage", "dev01", "--to", "v9"], '--to: unknown release "v9": no retained image of it in dev01; allowed: v1'],
      [["rollback", "--stage", "dev01", "--to", "v2"], "--to: release v2 is already live in dev01"],
      [["promote", "v9", "--stage", "dev01", "--to", "production"], 'stage "production" is not deployed'],
      [["promote", "v1", "--stage", "dev01", "--to", "dev01"], '--to: "dev01" is the source stage itself'],
      [["watch", "nope", "--stage", "dev01"], 'execution: no execution "nope"'],
      [["redrive", "--stage", "dev01"], "needs no redrive: it succeeded"],
      [["abort", "--stage", "dev01"], "no deploy is running in stage dev01: nothing to abort"],
      [["history", "--stage", "dev01", "--limit", "0"], '--limit: "0"; allowed: an integer from 1 to 100'],
      [["status"], "required option '--stage <stage>' not specified"],
      [["deploy", "--stage", "dev01"], "unknown command 'deploy'"],
    ];
    const runs = [];
    for (const [argv] of cases) runs.push(await w.cli(argv));
    const json = await w.cli(["rollback", "--stage", "dev01", "--to", "v9", "--json"]);

    // Assess
    for (const [i, [argv, message]] of cases.entries()) {
      expect({ argv, code: runs[i].code }).toEqual({ argv, code: 2 });
      expect(runs[i].stderr, argv.join(" ")).toContain(message);
    }
    expect(json.json).toEqual({ command: "rollback", error: expect.stringContaining('unknown release "v9"'), exitCode: 2 });
    expect(w.stages.dev01.runner.executions).toHaveLength(executions);
    expect(liveRelease(w)).toBe("v2");
  });
});

const models = checkModelSources();
describe.skipIf(!models.available)(`the CLI's AWS calls fit the published service models${models.reason}`, () => {
  it("every call of release, status, history, images, rollback, watch and abort", async () => {
    // Prepare
    const w = await dev01();
    const problems = new Set<string>();
    const operations = new Set<string>();
    w.region.onApiCall((operation, input) => {
      operations.add(operation);
      const [service, name] = operation.split(":");
      for (const problem of checkCall(service as ServiceName, name, input).problems) problems.add(`${operation} ${problem}`);
    });

    // Act
    await release(w, "v1");
    await release(w, "v2");
    for (const argv of [["status"], ["history"], ["images"], ["rollback"], ["watch"]]) await w.cli([...argv, "--stage", "dev01"]);
    const v3 = upload(w, "v3");
    await w.runUntil(() => v3.visited.includes(STATE.checkGroupHealth));
    await w.cli(["abort", "--stage", "dev01"]);

    // Assess
    expect([...problems]).toEqual([]);
    for (const op of ["CloudFormation:DescribeStacks", "SFN:DescribeStateMachine", "SFN:GetExecutionHistory", "SFN:StartExecution", "SFN:StopExecution", "S3:PutObject"])
      expect(operations).toContain(op);
  });
});
