import "aws-sdk-client-mock-vitest/extend";
import {
  type Action,
  CreateRuleCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { ApplicationLoadBalancerSettings } from "../../../functions/lib/contract.js";
import { CUTOVER_RULE } from "../../../functions/lib/names.js";
import { liveTargetGroup, otherTargetGroup, readRouting, routeAllTo, routeTraffic } from "../../../functions/lib/trafficRule.js";
import { ALTERNATE_TARGET_GROUP_ARN as SECOND, awsError, CUTOVER_RULE_ARN, LISTENER_ARN, TARGET_GROUP_ARN as FIRST } from "../fixtures.js";

const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const ALB: ApplicationLoadBalancerSettings = { kind: "application", targetGroupArn: FIRST, alternateTargetGroupArn: SECOND, listenerArn: LISTENER_ARN };

const forward = (...groups: [string, number | undefined][]): Action[] => [
  { Type: "forward", ForwardConfig: { TargetGroups: groups.map(([arn, weight]) => ({ TargetGroupArn: arn, Weight: weight })) } },
];
const defaultRule = (actions: Action[]): Rule => ({ RuleArn: "arn:default", Priority: "default", IsDefault: true, Actions: actions });
const cutoverRule = (actions: Action[]): Rule => ({ RuleArn: CUTOVER_RULE_ARN, Priority: String(CUTOVER_RULE.priority), IsDefault: false, Actions: actions });
const otherRule: Rule = { RuleArn: "arn:other-rule", Priority: "10", IsDefault: false, Actions: forward([SECOND, 1]) };
/** The forward action routeTraffic writes: `percent` to `newArn`, the rest to `oldArn`. */
const weights = (newArn: string, oldArn: string, percent: number) => forward([newArn, percent], [oldArn, 100 - percent]);

beforeEach(() => {
  elbv2Mock.reset();
});

describe("readRouting", () => {
  it("reads the pipeline's rule, over every page", async () => {
    elbv2Mock
      .on(DescribeRulesCommand)
      .resolvesOnce({ Rules: [otherRule, defaultRule(forward([FIRST, 1], [SECOND, 0]))], NextMarker: "m" })
      .resolvesOnce({ Rules: [cutoverRule(forward([FIRST, 30], [SECOND, 10]))] });

    expect(await readRouting(ALB)).toEqual({ ruleArn: CUTOVER_RULE_ARN, percent: { [FIRST]: 75, [SECOND]: 25 } });
    expect(elbv2Mock.commandCalls(DescribeRulesCommand).map((call) => call.args[0].input)).toEqual([
      { ListenerArn: LISTENER_ARN, Marker: undefined },
      { ListenerArn: LISTENER_ARN, Marker: "m" },
    ]);
  });

  it("without the pipeline's rule, the default action's weights route", async () => {
    elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: [otherRule, defaultRule(forward([FIRST, 1], [SECOND, 0]))] });

    expect(await readRouting(ALB)).toEqual({ percent: { [FIRST]: 100, [SECOND]: 0 } });
  });

  it.each<[string, Action[] | undefined, Record<string, number>]>([
    ["weights of 1 each without a weight", forward([FIRST, undefined], [SECOND, undefined]), { [FIRST]: 50, [SECOND]: 50 }],
    ["a plain forward to one target group", [{ Type: "forward", TargetGroupArn: SECOND }], { [SECOND]: 100 }],
    ["an empty ForwardConfig falls back to the plain target group", [{ Type: "forward", TargetGroupArn: FIRST, ForwardConfig: { TargetGroups: [] } }], { [FIRST]: 100 }],
    ["a ForwardConfig without target groups falls back to the plain target group", [{ Type: "forward", TargetGroupArn: FIRST, ForwardConfig: {} }], { [FIRST]: 100 }],
    ["weights of 0 each", forward([FIRST, 0], [SECOND, 0]), { [FIRST]: 0, [SECOND]: 0 }],
    ["rounded shares", forward([FIRST, 2], [SECOND, 1]), { [FIRST]: 67, [SECOND]: 33 }],
    ["the forward action among others", [{ Type: "fixed-response" }, ...forward([SECOND, 5])], { [SECOND]: 100 }],
    ["no forward action", [{ Type: "fixed-response" }], {}],
    ["no actions", undefined, {}],
  ])("the default action's shares: %s", async (_, actions, percent) => {
    elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: "arn:default", IsDefault: true, Actions: actions }] });

    expect((await readRouting(ALB)).percent).toEqual(percent);
  });

  it("no rules at all: no shares", async () => {
    elbv2Mock.on(DescribeRulesCommand).resolves({});

    expect(await readRouting(ALB)).toEqual({ percent: {} });
  });
});

describe("target groups", () => {
  it("the live one has the larger share, the default action's first on a tie", () => {
    expect(liveTargetGroup(ALB, { percent: { [FIRST]: 10, [SECOND]: 90 } })).toBe(SECOND);
    expect(liveTargetGroup(ALB, { percent: { [FIRST]: 90, [SECOND]: 10 } })).toBe(FIRST);
    expect(liveTargetGroup(ALB, { percent: { [FIRST]: 50, [SECOND]: 50 } })).toBe(FIRST);
    expect(liveTargetGroup(ALB, { percent: { [SECOND]: 1 } })).toBe(SECOND);
    expect(liveTargetGroup(ALB, { percent: { [FIRST]: 1 } })).toBe(FIRST);
    expect(liveTargetGroup(ALB, { percent: {} })).toBe(FIRST);
  });

  it("the other one", () => {
    expect(otherTargetGroup(ALB, FIRST)).toBe(SECOND);
    expect(otherTargetGroup(ALB, SECOND)).toBe(FIRST);
  });
});

describe("routeTraffic", () => {
  it("creates the pipeline's rule when there is none", async () => {
    elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: [defaultRule(forward([FIRST, 1], [SECOND, 0]))] });

    await routeTraffic(ALB, { newArn: SECOND, oldArn: FIRST, percent: 10 });

    expect(elbv2Mock).toHaveReceivedCommandWith(CreateRuleCommand, {
      ListenerArn: LISTENER_ARN,
      Priority: CUTOVER_RULE.priority,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["*"] } }],
      Actions: weights(SECOND, FIRST, 10),
    });
    expect(elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
  });

  it("modifies the rule it knows or reads, rounding and bounding the share", async () => {
    elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: [cutoverRule(forward([FIRST, 1]))] });

    await routeTraffic(ALB, { newArn: SECOND, oldArn: FIRST, percent: 33.4 });
    await routeTraffic(ALB, { newArn: SECOND, oldArn: FIRST, percent: 150 }, { ruleArn: "arn:known", percent: {} });
    await routeTraffic(ALB, { newArn: SECOND, oldArn: FIRST, percent: -5 }, { ruleArn: "arn:known", percent: {} });

    expect(elbv2Mock).toHaveReceivedCommandTimes(DescribeRulesCommand, 1);
    expect(elbv2Mock.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input)).toEqual([
      { RuleArn: CUTOVER_RULE_ARN, Actions: weights(SECOND, FIRST, 33) },
      { RuleArn: "arn:known", Actions: weights(SECOND, FIRST, 100) },
      { RuleArn: "arn:known", Actions: weights(SECOND, FIRST, 0) },
    ]);
    expect(elbv2Mock).toHaveReceivedCommandTimes(CreateRuleCommand, 0);
  });

  it("a rule created meanwhile (PriorityInUse) is read back and modified", async () => {
    elbv2Mock
      .on(DescribeRulesCommand)
      .resolvesOnce({ Rules: [defaultRule(forward([FIRST, 1]))] })
      .resolves({ Rules: [defaultRule(forward([FIRST, 1])), cutoverRule(forward([FIRST, 1]))] });
    elbv2Mock.on(CreateRuleCommand).rejects(awsError("PriorityInUseException", "Priority '50000' is currently in use"));

    await routeTraffic(ALB, { newArn: SECOND, oldArn: FIRST, percent: 50 });

    expect(elbv2Mock).toHaveReceivedCommandWith(ModifyRuleCommand, { RuleArn: CUTOVER_RULE_ARN, Actions: weights(SECOND, FIRST, 50) });
  });

  it("PriorityInUse without the rule to read back, and other errors, pass on", async () => {
    const inUse = awsError("PriorityInUseException", "Priority '50000' is currently in use");
    elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: [defaultRule(forward([FIRST, 1]))] });
    elbv2Mock.on(CreateRuleCommand).rejectsOnce(inUse).rejectsOnce(awsError("TooManyRules", "too many rules"));

    await expect(routeTraffic(ALB, { newArn: SECOND, oldArn: FIRST, percent: 50 })).rejects.toBe(inUse);
    await expect(routeTraffic(ALB, { newArn: SECOND, oldArn: FIRST, percent: 50 })).rejects.toThrow("too many rules");
    expect(elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(elbv2Mock).toHaveReceivedCommandTimes(DescribeRulesCommand, 3);
  });
});

describe("routeAllTo", () => {
  it("does nothing when all traffic goes there already", async () => {
    elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: [cutoverRule(forward([FIRST, 0], [SECOND, 100]))] });

    expect(await routeAllTo(ALB, SECOND)).toBe(false);
    expect(elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
  });

  it("sends everything there, the other group nothing, with the routing it read", async () => {
    elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: [cutoverRule(forward([FIRST, 60], [SECOND, 40]))] });

    expect(await routeAllTo(ALB, SECOND)).toBe(true);
    expect(await routeAllTo(ALB, FIRST)).toBe(true);

    expect(elbv2Mock).toHaveReceivedCommandTimes(DescribeRulesCommand, 2);
    expect(elbv2Mock.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input)).toEqual([
      { RuleArn: CUTOVER_RULE_ARN, Actions: weights(SECOND, FIRST, 100) },
      { RuleArn: CUTOVER_RULE_ARN, Actions: weights(FIRST, SECOND, 100) },
    ]);
  });

  it("a target group the routing does not name gets everything", async () => {
    elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: [defaultRule([{ Type: "fixed-response" }])] });

    expect(await routeAllTo(ALB, SECOND)).toBe(true);
    expect(elbv2Mock).toHaveReceivedCommandWith(CreateRuleCommand, { Actions: weights(SECOND, FIRST, 100) });
  });
});
