import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import { DescribeAlarmsCommand, type MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { cloudWatch } from "./lib/clients.js";
import { nowSeconds } from "./lib/clock.js";
import { type CutoverResult, type DeployState, trafficLevels } from "./lib/contract.js";
import { describeGroupsByName, describeLiveGroup } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import {
  attachGroup,
  attachedTargets,
  describeInstanceHealth,
  describeInstanceState,
  describeLoadBalancer,
  detachGroup,
  newGroupTarget,
  targetById,
  targetId,
  type TrafficTarget,
} from "./lib/loadBalancer.js";
import { assertLockHeld, type LockItem } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import { listSome, POLL_BOUNDS } from "./lib/polling.js";
import { liveTargetGroup, otherTargetGroup, readRouting, routeTraffic } from "./lib/trafficRule.js";

/**
 * How often the watch looks (seconds): target health changes at most once per health-check interval and the
 * alarms once per minute (their period), so 15 s sees either within a quarter of its own period.
 */
export const WATCH_POLL_SECONDS = 15;
/** Alarms per DescribeAlarms call (its AlarmNames takes at most 100, botocore cloudwatch 2010-08-01). */
const ALARMS_PER_CALL = 100;


const time = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z");
const minutes = (seconds: number) => (seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${Math.max(0, Math.round(seconds))} s`);

interface Breach {
  what: string;
  at: number;
}

/** The groups a breach switches back to: those that served when the deploy started (a rollback restores the same). */
function servingGroupNames(state: DeployState): string[] {
  const newGroup = state.launch?.groupName;
  return (state.plan?.liveGroups ?? []).filter((group) => group.name !== newGroup && group.serving !== false).map((group) => group.name);
}

/** Cost line: both groups run from Launch until the old ones retire (README "Cutover", the extra instance-minutes). */
function bothGroupsRunning(state: DeployState, now: number): string {
  const { launch, settings, plan } = state;
  if (!launch) return "";
  const launchedAt = launch.healthyBy - settings.timeouts.groupHealthySeconds - settings.timeouts.loadBalancerHealthySeconds;
  const oldInstances = (plan?.liveGroups ?? []).filter((group) => group.serving !== false).reduce((sum, group) => sum + group.desired, 0);
  const seconds = now - launchedAt;
  return `; both groups running for ${minutes(seconds)} (${oldInstances} old + ${launch.desiredCapacity} new instances)`;
}

/** The configured and built-in alarms for the new group's target, read in calls of 100. */
async function readAlarms(names: string[]): Promise<MetricAlarm[]> {
  const alarms: MetricAlarm[] = [];
  for (let i = 0; i < names.length; i += ALARMS_PER_CALL) {
    const answer = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + ALARMS_PER_CALL), AlarmTypes: ["MetricAlarm"] }));
    alarms.push(...(answer.MetricAlarms ?? []));
  }
  return alarms;
}

function watchedAlarmNames(state: DeployState, target: TrafficTarget): string[] {
  const { cutover } = state.settings;
  const builtIn = cutover.builtInAlarms.find((entry) => entry.target === targetId(target))?.alarms ?? [];
  return [...new Set([...builtIn, ...cutover.alarms])];
}

/**
 * What says the new release fails under traffic, first found first: an operator's rollback request, a new instance
 * the load balancer calls unhealthy, an alarm in ALARM (configured or built in). Undefined: all is well.
 */
async function findBreach(state: DeployState, lock: LockItem, target: TrafficTarget, newGroup: AutoScalingGroup | undefined, now: number): Promise<Breach | undefined> {
  if (lock.rollbackRequest) return { what: `operator ${lock.rollbackRequest.by} asked for a rollback`, at: lock.rollbackRequest.at };
  if (!newGroup) return { what: `the new group ${state.launch?.groupName} is gone`, at: now };
  const instanceIds = (newGroup.Instances ?? [])
    .filter((instance) => instance.LifecycleState === "InService")
    .flatMap((instance) => (instance.InstanceId ? [instance.InstanceId] : []));
  const unhealthy = (await describeInstanceHealth(target, instanceIds)).filter(
    (instance) => instance.state === "unhealthy" || instance.state === "OutOfService",
  );
  if (unhealthy.length > 0)
    return { what: `target health at ${describeLoadBalancer(target)}: ${listSome(unhealthy.map(describeInstanceState))}`, at: now };
  const alarms = await readAlarms(watchedAlarmNames(state, target));
  const firing = alarms.filter((alarm) => alarm.StateValue === "ALARM");
  if (firing.length > 0) {
    const first = firing.reduce((a, b) => ((a.StateUpdatedTimestamp?.getTime() ?? 0) <= (b.StateUpdatedTimestamp?.getTime() ?? 0) ? a : b));
    const at = Math.floor((first.StateUpdatedTimestamp?.getTime() ?? now * 1000) / 1000);
    return { what: `alarm ${first.AlarmName} in ALARM since ${time(at)} (${first.StateReason ?? "no reason given"})`, at };
  }
  return undefined;
}

/** Refuses, before any traffic moves, alarm names CloudWatch does not know: a typo would watch nothing. */
async function missingAlarms(state: DeployState, target: TrafficTarget): Promise<string[]> {
  const names = watchedAlarmNames(state, target);
  const found = new Set((await readAlarms(names)).map((alarm) => alarm.AlarmName));
  return names.filter((name) => !found.has(name));
}

/**
 * Sends `percent` % of requests to the new release. ALB: the pipeline's listener rule weights the two target groups.
 * Classic ELB (all at once): the old groups leave the load balancer (they drain) and stay scaled, ready to come back.
 */
async function moveTraffic(state: DeployState, cutover: Pick<CutoverResult, "newTarget" | "oldTarget">, percent: number): Promise<void> {
  const { loadBalancer } = state.settings;
  if (loadBalancer.kind === "application") {
    await routeTraffic(loadBalancer, { newArn: cutover.newTarget, oldArn: cutover.oldTarget ?? "", percent });
    return;
  }
  if (percent < 100) return;
  for (const group of await describeGroupsByName(servingGroupNames(state))) await detachGroup(group, loadBalancer);
}

/**
 * All traffic back to the old groups. ALB: one rule change, the old targets never left their target group. Classic
 * ELB: the old groups are attached again and the new group leaves only once an old instance is InService again
 * (false until then: the next poll looks again), so the site is never left without a healthy instance.
 */
async function switchBack(state: DeployState, cutover: CutoverResult): Promise<boolean> {
  const { loadBalancer } = state.settings;
  if (loadBalancer.kind === "application") {
    await routeTraffic(loadBalancer, { newArn: cutover.newTarget, oldArn: cutover.oldTarget ?? otherTargetGroup(loadBalancer, cutover.newTarget), percent: 0 });
    return true;
  }
  const target = targetById(loadBalancer, cutover.newTarget);
  const oldGroups = await describeGroupsByName(servingGroupNames(state));
  for (const group of oldGroups) if (attachedTargets(group, loadBalancer).length === 0) await attachGroup(group.AutoScalingGroupName ?? "", target);
  const oldInstances = oldGroups.flatMap((group) => (group.Instances ?? []).filter((i) => i.LifecycleState === "InService").flatMap((i) => (i.InstanceId ? [i.InstanceId] : [])));
  const ready = (await describeInstanceHealth(target, oldInstances)).some((instance) => instance.healthy);
  if (!ready && oldInstances.length > 0) return false;
  const newGroup = await describeLiveGroup(state.launch?.groupName ?? "");
  if (newGroup) await detachGroup(newGroup, loadBalancer);
  return true;
}

function failed(state: DeployState, cutover: CutoverResult, breach: Breach, switchedBackAt: number): CutoverResult {
  return {
    ...cutover,
    status: "failed",
    nextPollSeconds: 0,
    breach: { ...breach, switchedBackAt },
    message:
      `cutover: ${breach.what}; seen at ${time(breach.at)} with ${cutover.percent} % of requests on the new release, ` +
      `all traffic back on the old groups at ${time(switchedBackAt)}${bothGroupsRunning(state, switchedBackAt)}`,
  };
}

/** The first call: where traffic is now, and the checks that must pass before any of it moves. */
async function begin(state: DeployState, target: TrafficTarget, strategy: CutoverResult["strategy"], now: number): Promise<CutoverResult> {
  const { settings } = state;
  const { loadBalancer } = settings;
  let oldTarget: string | undefined;
  if (loadBalancer.kind === "application") {
    const live = liveTargetGroup(loadBalancer, await readRouting(loadBalancer));
    oldTarget = live === targetId(target) ? otherTargetGroup(loadBalancer, live) : live;
  }
  return {
    status: "waiting",
    nextPollSeconds: 0,
    message: "cutover: starting",
    strategy,
    newTarget: targetId(target),
    ...(oldTarget && { oldTarget }),
    percent: 0,
    percentSince: now,
    trafficSince: now,
  };
}

/**
 * The cutover, one poll at a time (a wait loop: docs/design.md "Wait loops"): moves traffic to the new group level
 * by level (`cutover.strategy`), watches it between levels and for `bakeTimeSeconds` at 100 % while the old groups
 * stay ready, and on a breach switches all traffic back at once and reports `failed` (the state machine rolls back).
 * `ready` at the end of the bake time: the point of no return. Every poll is idempotent: it acts on the level the
 * last poll recorded, and re-applying a level changes nothing.
 */
export async function shiftTraffic(state: DeployState): Promise<CutoverResult> {
  const { settings, launch } = state;
  if (!launch) throw new Error("shiftTraffic needs $.launch");
  const lock = await assertLockHeld(settings, state.execution.id);
  const now = nowSeconds();
  const target = newGroupTarget(settings.loadBalancer, launch);
  // Nothing served before this deploy (the first one, or after every group was emptied by hand): there is nothing
  // to switch back to, so the new release takes all traffic at once, without approval or bake time.
  const firstRelease = servingGroupNames(state).length === 0;
  const config = firstRelease ? { ...settings.cutover, strategy: "all-at-once" as const, bakeTimeSeconds: 0, approval: undefined } : settings.cutover;
  const levels = trafficLevels(config.strategy, config.stepPercent);
  // `endsNext` says something about the next poll only: never carried over from the last one.
  const { endsNext: _, ...carried } = state.cutover ?? (await begin(state, target, config.strategy, now));
  let current: CutoverResult = carried;

  // A breach seen earlier whose switch back was not complete (classic ELB: old instances coming back).
  if (current.breach) {
    return (await switchBack(state, current)) ? failed(state, current, current.breach, now) : { ...current, nextPollSeconds: POLL_BOUNDS.minSeconds };
  }

  if (!state.cutover) {
    const missing = await missingAlarms(state, target);
    if (missing.length > 0)
      return { ...current, status: "failed", message: `cutover: no CloudWatch alarm named ${missing.join(", ")} (cutover.alarms must name existing alarms; nothing was moved)` };
  }
  // The first poll is at 0 %: a rollback asked for before it (`rollback` is accepted once the deploy is in
  // "Shift traffic", e.g. while that poll is retried) moves no traffic.
  if (current.percent > 0) {
    const breach = await findBreach(state, lock, target, await describeLiveGroup(launch.groupName), now);
    if (breach) {
      logger.warn("cutover breach: switching traffic back", { breach, percent: current.percent });
      current = { ...current, breach: { ...breach, switchedBackAt: now } };
      return (await switchBack(state, current)) ? failed(state, current, breach, nowSeconds()) : { ...current, nextPollSeconds: POLL_BOUNDS.minSeconds };
    }
  } else if (lock.rollbackRequest) {
    // Asked before any traffic moved: nothing to switch back.
    return failed(state, current, { what: `operator ${lock.rollbackRequest.by} asked for a rollback`, at: lock.rollbackRequest.at }, now);
  }

  // The next level, when the current one has been watched long enough (the first at once).
  const nextLevel = levels.find((level) => level > current.percent);
  const due = current.percent === 0 || now >= current.percentSince + config.stepSeconds;
  if (nextLevel !== undefined && due) {
    const approved = current.approvedAt ?? lock.approval?.at;
    if (nextLevel === 100 && config.approval && approved === undefined) {
      const askedAt = current.percent === 0 ? current.percentSince : current.percentSince + config.stepSeconds;
      const deadline = askedAt + config.approval.timeoutSeconds;
      if (now >= deadline) {
        const breach = { what: `no approval within ${config.approval.timeoutSeconds} s (cutover.approval.timeoutSeconds)`, at: deadline };
        current = { ...current, breach: { ...breach, switchedBackAt: now } };
        return current.percent === 0 || (await switchBack(state, current)) ? failed(state, current, breach, nowSeconds()) : { ...current, nextPollSeconds: POLL_BOUNDS.minSeconds };
      }
      return {
        ...current,
        status: "waiting",
        nextPollSeconds: Math.max(1, Math.min(WATCH_POLL_SECONDS, deadline - now)),
        message:
          `cutover: ${current.percent} % of requests on the new release; waiting for approval of 100 % until ${time(deadline)} ` +
          `(npx immutable-deploy approve --stage ${settings.environment})${bothGroupsRunning(state, now)}`,
      };
    }
    await moveTraffic(state, current, nextLevel);
    logger.info("cutover: traffic moved", { percent: nextLevel, to: current.newTarget });
    current = {
      ...current,
      percent: nextLevel,
      percentSince: now,
      ...(current.percent === 0 && { trafficSince: now }),
      ...(approved !== undefined && { approvedAt: approved }),
      ...(nextLevel === 100 && { bakeTimeEndsAt: now + config.bakeTimeSeconds }),
    };
  }

  const where = describeLoadBalancer(target);
  if (current.percent === 100) {
    const endsAt = current.bakeTimeEndsAt ?? current.percentSince + config.bakeTimeSeconds;
    if (now >= endsAt)
      return {
        ...current,
        status: "ready",
        nextPollSeconds: 0,
        message: `cutover: 100 % of requests on the new release (${where}) since ${time(current.percentSince)}; bake time over, nothing breached${bothGroupsRunning(state, now)}`,
      };
    const nextPoll = Math.max(1, Math.min(WATCH_POLL_SECONDS, endsAt - now));
    return {
      ...current,
      status: "waiting",
      nextPollSeconds: nextPoll,
      // The next poll is the one at the end of the bake time: the state machine warms Retire up meanwhile.
      ...(now + nextPoll >= endsAt && { endsNext: true }),
      message: `cutover: 100 % of requests on the new release (${where}); bake time until ${time(endsAt)}, old groups ready${bothGroupsRunning(state, now)}`,
    };
  }
  const stepEndsAt = current.percentSince + config.stepSeconds;
  return {
    ...current,
    status: "waiting",
    nextPollSeconds: Math.max(1, Math.min(WATCH_POLL_SECONDS, stepEndsAt - now)),
    message: `cutover: ${current.percent} % of requests on the new release (${where}) until ${time(stepEndsAt)}, then ${levels.find((level) => level > current.percent)} %${bothGroupsRunning(state, now)}`,
  };
}

export const handler = stageHandler(shiftTraffic);
