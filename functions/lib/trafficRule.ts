/**
 * The weights of an ALB environment (README "The listener and its two target groups"): the pipeline's own
 * listener rule (`CUTOVER_RULE`: the last priority, every path) forwards to both target groups with the weights a
 * deploy sets. The stack owns the listener and its default action (all to the first target group) and never
 * declares this rule, so `sst deploy` cannot reset a deploy in progress; the rule is created by the first deploy
 * that shifts traffic. Where the rule is missing, the default action's weights are what routes.
 */
import { CreateRuleCommand, DescribeRulesCommand, ModifyRuleCommand, type Action, type Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import { elbv2 } from "./clients.js";
import type { ApplicationLoadBalancerSettings } from "./contract.js";
import { hasErrorCode, PRIORITY_IN_USE_CODES } from "./errors.js";
import { CUTOVER_RULE } from "./names.js";

export interface Routing {
  /** The pipeline's rule, when it exists. */
  ruleArn?: string;
  /** The share of requests per target group ARN, percent (from the rule, else from the listener's default action). */
  percent: Record<string, number>;
}

/** The forward action's weights as percentages of their sum (a single target group without weights gets 100). */
function percentages(actions: Action[] | undefined): Record<string, number> {
  const forward = actions?.find((action) => action.Type === "forward");
  const groups = forward?.ForwardConfig?.TargetGroups?.length
    ? forward.ForwardConfig.TargetGroups.map((group) => ({ arn: group.TargetGroupArn ?? "", weight: group.Weight ?? 1 }))
    : forward?.TargetGroupArn
      ? [{ arn: forward.TargetGroupArn, weight: 1 }]
      : [];
  const total = groups.reduce((sum, group) => sum + group.weight, 0);
  return Object.fromEntries(groups.map((group) => [group.arn, total > 0 ? Math.round((100 * group.weight) / total) : 0]));
}

const isCutoverRule = (rule: Rule) => rule.Priority === String(CUTOVER_RULE.priority);

/** Where the listener sends requests now: one DescribeRules call (it lists the default rule too, `IsDefault`). */
export async function readRouting(loadBalancer: ApplicationLoadBalancerSettings): Promise<Routing> {
  const rules: Rule[] = [];
  let marker: string | undefined;
  do {
    const page = await elbv2.send(new DescribeRulesCommand({ ListenerArn: loadBalancer.listenerArn, Marker: marker }));
    rules.push(...(page.Rules ?? []));
    marker = page.NextMarker;
  } while (marker);
  const ours = rules.find(isCutoverRule);
  if (ours) return { ruleArn: ours.RuleArn, percent: percentages(ours.Actions) };
  return { percent: percentages(rules.find((rule) => rule.IsDefault)?.Actions) };
}

/** The target group that gets the most traffic (the default action's on a tie): the one live groups serve from. */
export function liveTargetGroup(loadBalancer: ApplicationLoadBalancerSettings, routing: Routing): string {
  const [first, second] = [loadBalancer.targetGroupArn, loadBalancer.alternateTargetGroupArn];
  return (routing.percent[second] ?? 0) > (routing.percent[first] ?? 0) ? second : first;
}

/** The other target group of the environment. */
export function otherTargetGroup(loadBalancer: ApplicationLoadBalancerSettings, arn: string): string {
  return arn === loadBalancer.targetGroupArn ? loadBalancer.alternateTargetGroupArn : loadBalancer.targetGroupArn;
}

/**
 * Sends `percent` % of requests to `newArn` and the rest to `oldArn`, through the pipeline's rule: created when it
 * is missing (a concurrent creation, `PriorityInUse`, is read back and modified), modified otherwise. Idempotent.
 */
export async function routeTraffic(
  loadBalancer: ApplicationLoadBalancerSettings,
  shares: { newArn: string; oldArn: string; percent: number },
  known?: Routing,
): Promise<void> {
  const percent = Math.min(100, Math.max(0, Math.round(shares.percent)));
  const Actions: Action[] = [
    {
      Type: "forward",
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: shares.newArn, Weight: percent },
          { TargetGroupArn: shares.oldArn, Weight: 100 - percent },
        ],
      },
    },
  ];
  let { ruleArn } = known ?? (await readRouting(loadBalancer));
  if (!ruleArn) {
    try {
      await elbv2.send(
        new CreateRuleCommand({
          ListenerArn: loadBalancer.listenerArn,
          Priority: CUTOVER_RULE.priority,
          Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: [CUTOVER_RULE.pathPattern] } }],
          Actions,
        }),
      );
      return;
    } catch (error) {
      if (!hasErrorCode(error, ...PRIORITY_IN_USE_CODES)) throw error;
      ruleArn = (await readRouting(loadBalancer)).ruleArn;
      if (!ruleArn) throw error;
    }
  }
  await elbv2.send(new ModifyRuleCommand({ RuleArn: ruleArn, Actions }));
}

/** Sends every request to `arn` (the other target group gets none), unless that is already so. True when it changed. */
export async function routeAllTo(loadBalancer: ApplicationLoadBalancerSettings, arn: string): Promise<boolean> {
  const routing = await readRouting(loadBalancer);
  if ((routing.percent[arn] ?? 0) === 100) return false;
  await routeTraffic(loadBalancer, { newArn: arn, oldArn: otherTargetGroup(loadBalancer, arn), percent: 100 }, routing);
  return true;
}
