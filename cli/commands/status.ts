import { DescribeExecutionCommand } from "@aws-sdk/client-sfn";
import { sfn } from "../../functions/lib/clients.js";
import { executionName, lockIdFor, readLock } from "../../functions/lib/lock.js";
import { type DeploySummary, listExecutions, summarizeExecution } from "../deploys.js";
import { environmentGroups, type GroupView, liveGroupOf } from "../environment.js";
import { EXIT } from "../errors.js";
import type { CommandContext } from "../main.js";
import { duration, table, timestamp } from "../output.js";

/** How many finished deploys `status` shows. */
const RECENT = 5;

/**
 * Said of a running deploy's cutover: this version cuts over all at once when the new group is healthy at the
 * load balancer, with no canary steps and no bake time (the cutover issue adds them; `bakeTimeLeftSeconds`
 * stays null until then).
 */
const CUTOVER_NOTE = "all at once when healthy at the load balancer; no bake time in this version";

/** `status`: what is live, the running deploy, the lock, the last five outcomes. */
export async function run(context: CommandContext, stageName: string): Promise<number> {
  const { printer } = context;
  const { colors } = printer;
  const stage = await context.stage(stageName);
  const { settings } = stage;
  const groups = await environmentGroups(settings);
  const live = liveGroupOf(groups);
  const running = await listExecutions(stage.stateMachineArn, { status: "RUNNING", max: 10 });
  const deploys = await Promise.all(running.map(summarizeExecution));
  const recent = await Promise.all(
    (await listExecutions(stage.stateMachineArn, { max: RECENT + running.length }))
      .filter((e) => e.status !== "RUNNING")
      .slice(0, RECENT)
      .map(summarizeExecution),
  );
  const lockItem = await readLock(settings.lockTableName, lockIdFor(settings));
  const lock = lockItem
    ? {
        holder: lockItem.holder,
        execution: executionName(lockItem.holder),
        release: lockItem.release,
        acquiredAt: new Date(lockItem.acquiredAt * 1000).toISOString(),
        holderStatus: await sfn
          .send(new DescribeExecutionCommand({ executionArn: lockItem.holder }))
          .then((e) => e.status ?? "unknown")
          .catch(() => "gone"),
      }
    : null;

  const groupJson = (group: GroupView) => ({ ...group, live: group === live });
  const runningJson = deploys.map((deploy) => ({
    execution: deploy.execution,
    release: deploy.release,
    state: deploy.currentState,
    runningSeconds: Math.round((context.now() - Date.parse(deploy.startedAt)) / 1000),
    cutover: { state: deploy.currentState, strategy: "all-at-once", bakeTimeLeftSeconds: null, note: CUTOVER_NOTE },
  }));
  printer.result({
    command: "status",
    stage: stage.name,
    region: stage.region,
    siteUrl: stage.siteUrl ?? null,
    live: live
      ? { release: live.release, imageId: live.imageId, group: live.name, desired: live.desired, instances: live.instances }
      : null,
    groups: groups.map(groupJson),
    deploys: runningJson,
    lock,
    recent,
  });

  printer.line(`${colors.bold(`stage ${stage.name}`)} (${stage.region}, app ${settings.app})${stage.siteUrl ? `  ${stage.siteUrl}` : ""}`);
  if (live) {
    const { inService, healthyAtLoadBalancer, total } = live.instances;
    const healthy = healthyAtLoadBalancer === live.desired && inService === live.desired ? colors.green : colors.yellow;
    printer.line(`live     ${colors.bold(live.release ?? "(no release tag)")}  image ${live.imageId ?? "?"}  group ${live.name}`);
    printer.line(`         ${healthy(`${inService}/${total} InService, ${healthyAtLoadBalancer}/${total} healthy at the load balancer`)} (desired ${live.desired}, min ${live.min}, max ${live.max})`);
  } else {
    printer.line(`live     ${colors.yellow("nothing: no group of this environment is attached to the load balancer")}`);
  }
  for (const group of groups.filter((g) => g !== live)) {
    const { inService, healthyAtLoadBalancer, total } = group.instances;
    printer.line(`also     ${group.release ?? "?"}  group ${group.name} (${group.attached ? "attached" : "detached"}): ${inService}/${total} InService, ${healthyAtLoadBalancer}/${total} healthy at the load balancer, desired ${group.desired}`);
  }
  if (deploys.length === 0) printer.line("deploy   none running");
  for (const deploy of runningJson)
    printer.line(`deploy   ${colors.bold(deploy.release ?? "?")} (${deploy.execution}) running for ${duration(deploy.runningSeconds)}, in "${deploy.state}"; cutover: ${CUTOVER_NOTE}`);
  printer.line(
    lock
      ? `lock     held by ${lock.execution} (release ${lock.release}, since ${timestamp(new Date(lock.acquiredAt))}, that execution is ${lock.holderStatus})`
      : "lock     free",
  );
  if (recent.length === 0) printer.line("recent   no finished deploy yet");
  else {
    printer.line(`recent   the last ${recent.length} finished deploys`);
    for (const row of table(["execution", "release", "outcome", "started", "took"], recent.map(recentRow))) printer.line(`  ${row}`);
  }
  return EXIT.ok;
}

function recentRow(deploy: DeploySummary): string[] {
  return [deploy.execution, deploy.release ?? "-", deploy.outcome, timestamp(new Date(deploy.startedAt)), deploy.seconds === null ? "-" : duration(deploy.seconds)];
}
