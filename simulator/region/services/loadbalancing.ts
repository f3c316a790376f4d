import type {
  DeregisterInstancesFromLoadBalancerCommandInput,
  DeregisterInstancesFromLoadBalancerCommandOutput,
  DescribeInstanceHealthCommandInput,
  DescribeInstanceHealthCommandOutput,
  DescribeLoadBalancersCommandInput as DescribeClassicLoadBalancersCommandInput,
  DescribeLoadBalancersCommandOutput as DescribeClassicLoadBalancersCommandOutput,
  InstanceState,
} from "@aws-sdk/client-elastic-load-balancing";
import type {
  Action,
  CreateRuleCommandInput,
  CreateRuleCommandOutput,
  DescribeRulesCommandInput,
  DescribeRulesCommandOutput,
  ModifyRuleCommandInput,
  ModifyRuleCommandOutput,
  Rule,
  RuleCondition,
  DeregisterTargetsCommandInput,
  DeregisterTargetsCommandOutput,
  DescribeTargetGroupsCommandInput,
  DescribeTargetGroupsCommandOutput,
  DescribeTargetHealthCommandInput,
  DescribeTargetHealthCommandOutput,
  TargetGroup,
  TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { EnvironmentSettings } from "../../../functions/lib/contract.js";
import { DEFAULTS } from "../../../functions/lib/names.js";
import { type CallContext, type OperationHandlers, type Output, type RegionContext, isHidden } from "../context.js";
import { awsError } from "../errors.js";
import type { Ec2Service } from "./ec2.js";
import { type HealthCheckSettings, HealthCheckedPool, type HealthProbe, type Registration, type RegistrationListener } from "./health.js";

export interface SimTargetGroup {
  arn: string;
  name: string;
  port: number;
  pool: HealthCheckedPool;
}

/** A target group a forward action sends requests to, with its weight (0-999). */
export interface WeightedTargetGroup {
  targetGroupArn: string;
  weight: number;
}

/** An ALB listener rule: priority (a number, or "default" for the listener's default action) and its forward action. */
export interface SimRule {
  arn: string;
  priority: string;
  conditions: RuleCondition[];
  forward: WeightedTargetGroup[];
}

/** An ALB listener: its default action (the stack's) and the rules anyone added (the pipeline's among them). */
export interface SimListener {
  arn: string;
  loadBalancerName: string;
  defaultRule: SimRule;
  rules: SimRule[];
}

export interface SimClassicLoadBalancer {
  name: string;
  dnsName: string;
  createdAtMs: number;
  pool: HealthCheckedPool;
}

/** Both load balancer kinds, sharing the health-checked registration model. */
export class LoadBalancingService {
  readonly targetGroups = new Map<string, SimTargetGroup>();
  readonly classicLoadBalancers = new Map<string, SimClassicLoadBalancer>();
  readonly albListeners = new Map<string, SimListener>();
  private readonly listeners: RegistrationListener[] = [];
  private readonly routingListeners: (() => void)[] = [];
  private healthProbe?: HealthProbe;
  private readonly currentProbe = () => this.healthProbe;

  constructor(
    private readonly ctx: RegionContext,
    private readonly ec2: Ec2Service,
  ) {}

  /** Called when a listener rule is created or changed (an ALB's weights). */
  onRoutingChange(listener: () => void): void {
    this.routingListeners.push(listener);
  }

  private routingChanged(): void {
    this.ctx.touch();
    for (const listener of this.routingListeners) listener();
  }

  /** Called when a registration appears, changes state, or is removed (`registration` undefined). */
  onRegistrationChange(listener: RegistrationListener): void {
    this.listeners.push(listener);
  }

  /** Health checks of every pool are performed by `probe` from now on (undefined: the model decides again). */
  setHealthProbe(probe: HealthProbe | undefined): void {
    this.healthProbe = probe;
  }

  private readonly notify: RegistrationListener = (pool, instanceId, registration) => {
    for (const listener of this.listeners) listener(pool, instanceId, registration);
  };

  createTargetGroup(options: { name: string; port?: number; healthCheck: HealthCheckSettings; drainingSeconds: number }): SimTargetGroup {
    const arn = `arn:aws:elasticloadbalancing:${this.ctx.regionName}:${this.ctx.account}:targetgroup/${options.name}/${this.ctx.ids.next("tg", 16).slice(3)}`;
    const group: SimTargetGroup = {
      arn,
      name: options.name,
      port: options.port ?? DEFAULTS.appPort,
      // "After your target is registered, it must pass one health check to be considered healthy" (ALB guide,
      // "Health checks for Application Load Balancer target groups"); HealthyThresholdCount applies to a target
      // that was unhealthy.
      pool: new HealthCheckedPool(arn, this.ctx, this.ec2, options.healthCheck, options.drainingSeconds, this.notify, false, this.currentProbe, {
        initialHealthyAfterOnePass: true,
      }),
    };
    this.targetGroups.set(arn, group);
    return group;
  }

  /**
   * An ALB with one listener whose default action forwards to `targetGroups` by weight (the Environment stack's:
   * all to the first, the second at 0 so it is associated with the load balancer).
   */
  createListener(options: { loadBalancerName: string; defaultForward: WeightedTargetGroup[] }): SimListener {
    const lbId = this.ctx.ids.next("lb", 16).slice(3);
    const arn = `arn:aws:elasticloadbalancing:${this.ctx.regionName}:${this.ctx.account}:listener/app/${options.loadBalancerName}/${lbId}/${this.ctx.ids.next("ls", 16).slice(3)}`;
    const listener: SimListener = {
      arn,
      loadBalancerName: options.loadBalancerName,
      defaultRule: { arn: this.ruleArn(arn), priority: "default", conditions: [], forward: options.defaultForward.map((entry) => ({ ...entry })) },
      rules: [],
    };
    this.albListeners.set(arn, listener);
    return listener;
  }

  private ruleArn(listenerArn: string): string {
    return `${listenerArn.replace(":listener/", ":listener-rule/")}/${this.ctx.ids.next("rule", 16).slice(5)}`;
  }

  /**
   * Where a request to the listener goes: the forward of the first rule (lowest priority) whose conditions match
   * every request, else the default action. Only path patterns of `*` are modelled as matching everything; a rule
   * with other conditions sees none of the simulated requests (they go to "/").
   */
  routingOf(listenerArn: string): WeightedTargetGroup[] {
    const listener = this.albListeners.get(listenerArn);
    if (!listener) return [];
    const matching = [...listener.rules]
      .sort((a, b) => Number(a.priority) - Number(b.priority))
      .find((rule) => rule.conditions.every((condition) => [...(condition.Values ?? []), ...(condition.PathPatternConfig?.Values ?? [])].some((value) => value === "*" || value === "/*")));
    return (matching ?? listener.defaultRule).forward;
  }

  /**
   * The CloudWatch metrics of a target group or classic load balancer that the cutover watches, named as ELB
   * publishes them: AWS/ApplicationELB `HTTPCode_Target_5XX_Count` and `UnHealthyHostCount` by TargetGroup and
   * LoadBalancer (`targetgroup/<name>/<id>`, `app/<name>/<id>`), AWS/ELB `HTTPCode_Backend_5XX` and
   * `UnHealthyHostCount` by LoadBalancerName (ALB and Classic Load Balancer User Guides, "CloudWatch metrics").
   */
  metricsOf(target: string): { namespace: string; dimensions: Record<string, string>; errors: string; unhealthy: string } {
    const group = this.targetGroups.get(target);
    if (!group) return { namespace: "AWS/ELB", dimensions: { LoadBalancerName: target }, errors: "HTTPCode_Backend_5XX", unhealthy: "UnHealthyHostCount" };
    const loadBalancer = this.loadBalancerOf(target) ?? "app/unattached/0";
    return {
      namespace: "AWS/ApplicationELB",
      dimensions: { TargetGroup: target.slice(target.indexOf(":targetgroup/") + 1), LoadBalancer: loadBalancer },
      errors: "HTTPCode_Target_5XX_Count",
      unhealthy: "UnHealthyHostCount",
    };
  }

  /** `app/<name>/<id>` of the ALB whose listener forwards to the target group (undefined: none does). */
  private loadBalancerOf(targetGroupArn: string): string | undefined {
    const listener = [...this.albListeners.values()].find((candidate) =>
      [candidate.defaultRule, ...candidate.rules].some((rule) => rule.forward.some((entry) => entry.targetGroupArn === targetGroupArn)),
    );
    return listener?.arn.slice(listener.arn.indexOf(":listener/") + ":listener/".length).split("/").slice(0, 3).join("/");
  }

  /** Every pool of an environment's load balancer: an ALB's two target groups, or the classic load balancer's. */
  environmentPools(loadBalancer: EnvironmentSettings["loadBalancer"]): HealthCheckedPool[] {
    if (loadBalancer.kind === "classic") return [this.classicLoadBalancers.get(loadBalancer.loadBalancerName)?.pool].filter((p): p is HealthCheckedPool => p !== undefined);
    return [loadBalancer.targetGroupArn, loadBalancer.alternateTargetGroupArn].flatMap((arn) => this.targetGroups.get(arn)?.pool ?? []);
  }

  /** The pools requests go to now, with their weights (an ALB's by its listener's rules; a classic ELB's one pool). */
  routedPools(loadBalancer: EnvironmentSettings["loadBalancer"]): { id: string; pool: HealthCheckedPool; weight: number }[] {
    if (loadBalancer.kind === "classic") return this.environmentPools(loadBalancer).map((pool) => ({ id: pool.id, pool, weight: 1 }));
    return this.routingOf(loadBalancer.listenerArn).flatMap(({ targetGroupArn, weight }) => {
      const pool = this.targetGroups.get(targetGroupArn)?.pool;
      return pool && weight > 0 ? [{ id: targetGroupArn, pool, weight }] : [];
    });
  }

  createClassicLoadBalancer(options: { name: string; healthCheck: HealthCheckSettings; drainingSeconds: number }): SimClassicLoadBalancer {
    const lb: SimClassicLoadBalancer = {
      name: options.name,
      dnsName: `${options.name}-1234567890.${this.ctx.regionName}.elb.amazonaws.com`,
      createdAtMs: this.ctx.clock.now(),
      // Connection draining applies to in-service instances only; an out-of-service one leaves at once. A new
      // instance needs HealthyThreshold passes ("the number of consecutive health check successes required before
      // moving the instance to the Healthy state", Classic Load Balancer guide, "Configure health checks").
      pool: new HealthCheckedPool(options.name, this.ctx, this.ec2, options.healthCheck, options.drainingSeconds, this.notify, true, this.currentProbe),
    };
    this.classicLoadBalancers.set(options.name, lb);
    return lb;
  }

  requireTargetGroup(arn: string): SimTargetGroup {
    const group = this.targetGroups.get(arn);
    if (!group) throw awsError("ELBv2", "TargetGroupNotFound", `Target groups '${arn}' not found`);
    return group;
  }

  requireClassic(name: string): SimClassicLoadBalancer {
    const lb = this.classicLoadBalancers.get(name);
    if (!lb) throw awsError("ELB", "LoadBalancerNotFound", `There is no ACTIVE Load Balancer named '${name}'`);
    return lb;
  }

  /** Every pool an instance is registered with (including draining), for the Auto Scaling group's checks. */
  poolsOf(instanceId: string): HealthCheckedPool[] {
    const pools: HealthCheckedPool[] = [];
    for (const group of this.targetGroups.values()) if (group.pool.registrations.has(instanceId)) pools.push(group.pool);
    for (const lb of this.classicLoadBalancers.values()) if (lb.pool.registrations.has(instanceId)) pools.push(lb.pool);
    return pools;
  }

  handlers(): { elbv2: OperationHandlers; elb: OperationHandlers } {
    return {
      elbv2: {
        DescribeTargetHealth: (input: DescribeTargetHealthCommandInput, call: CallContext) => this.describeTargetHealth(input, call),
        DeregisterTargets: (input: DeregisterTargetsCommandInput) => this.deregisterTargets(input),
        DescribeTargetGroups: (input: DescribeTargetGroupsCommandInput) => this.describeTargetGroups(input),
        DescribeRules: (input: DescribeRulesCommandInput) => this.describeRules(input),
        CreateRule: (input: CreateRuleCommandInput) => this.createRule(input),
        ModifyRule: (input: ModifyRuleCommandInput) => this.modifyRule(input),
      },
      elb: {
        DescribeInstanceHealth: (input: DescribeInstanceHealthCommandInput) => this.describeInstanceHealth(input),
        DeregisterInstancesFromLoadBalancer: (input: DeregisterInstancesFromLoadBalancerCommandInput) => this.deregisterInstances(input),
        DescribeLoadBalancers: (input: DescribeClassicLoadBalancersCommandInput) => this.describeClassicLoadBalancers(input),
      },
    };
  }

  // ---- ALB target groups -----------------------------------------------------------------------------

  /**
   * A newly registered target shows in the load balancer's own answers only after a while (eventual
   * consistency): until then DescribeTargetHealth without ids leaves it out, and by id it is
   * `initial`/`Elb.RegistrationInProgress` ("the target is in the process of being registered").
   */
  private registrationVisible(poolId: string, registration: Registration): boolean {
    const key = `${poolId}|${registration.instanceId}|${registration.registeredAtMs}`;
    return this.ctx.clock.now() >= registration.registeredAtMs + this.ctx.consistency.delayMs("targetVisibleSeconds", key);
  }

  private targetHealth(group: SimTargetGroup, instanceId: string, registration: Registration | undefined): TargetHealthDescription {
    const target = { Id: instanceId, Port: group.port };
    if (!registration) {
      return { Target: target, TargetHealth: { State: "unused", Reason: "Target.NotRegistered", Description: "Target is not registered to the target group" } };
    }
    const base = { Target: target, HealthCheckPort: String(group.port) };
    switch (registration.state) {
      case "initial":
        // TargetHealth (ELBv2 API reference): RegistrationInProgress while registering, then InitialHealthChecking
        // while the load balancer sends the checks that decide the target's health.
        return this.registrationVisible(group.arn, registration)
          ? { ...base, TargetHealth: { State: "initial", Reason: "Elb.InitialHealthChecking", Description: "Initial health checks in progress" } }
          : { ...base, TargetHealth: { State: "initial", Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress" } };
      case "healthy":
        return { ...base, TargetHealth: { State: "healthy" } };
      case "unhealthy":
        return registration.failureKind === "timeout"
          ? { ...base, TargetHealth: { State: "unhealthy", Reason: "Target.Timeout", Description: "Request timed out" } }
          : { ...base, TargetHealth: { State: "unhealthy", Reason: "Target.FailedHealthChecks", Description: "Health checks failed" } };
      case "draining":
        return { ...base, TargetHealth: { State: "draining", Reason: "Target.DeregistrationInProgress", Description: "Target deregistration is in progress" } };
    }
  }

  private describeTargetHealth(input: DescribeTargetHealthCommandInput, call: CallContext): Output<DescribeTargetHealthCommandOutput> {
    const group = this.requireTargetGroup(input.TargetGroupArn ?? "");
    if (input.Targets && input.Targets.length > 0) {
      return {
        TargetHealthDescriptions: input.Targets.map((target) => {
          const id = target.Id ?? "";
          if (!this.ec2.instances.has(id)) throw awsError("ELBv2", "InvalidTarget", `The following targets are not valid instances: '${id}'`);
          return this.targetHealth(group, id, group.pool.registrations.get(id));
        }),
      };
    }
    const registrations = [...group.pool.registrations.values()].filter((r) => !isHidden(r.registeredAtMs, call) && this.registrationVisible(group.arn, r));
    return { TargetHealthDescriptions: registrations.map((r) => this.targetHealth(group, r.instanceId, r)) };
  }

  private deregisterTargets(input: DeregisterTargetsCommandInput): Output<DeregisterTargetsCommandOutput> {
    const group = this.requireTargetGroup(input.TargetGroupArn ?? "");
    for (const target of input.Targets ?? []) {
      const id = target.Id ?? "";
      if (!this.ec2.instances.has(id)) throw awsError("ELBv2", "InvalidTarget", `The following targets are not valid instances: '${id}'`);
      group.pool.deregister(id);
    }
    return {};
  }

  private toTargetGroup(group: SimTargetGroup): TargetGroup {
    const check = group.pool.healthCheck;
    return {
      TargetGroupArn: group.arn,
      TargetGroupName: group.name,
      Protocol: "HTTP",
      Port: group.port,
      VpcId: "vpc-00000000000000001",
      TargetType: "instance",
      HealthCheckProtocol: "HTTP",
      HealthCheckPort: "traffic-port",
      HealthCheckEnabled: true,
      HealthCheckPath: DEFAULTS.healthCheckPath,
      HealthCheckIntervalSeconds: check.intervalSeconds,
      HealthCheckTimeoutSeconds: check.timeoutSeconds ?? DEFAULTS.healthCheckTimeoutSeconds,
      HealthyThresholdCount: check.healthyThreshold,
      UnhealthyThresholdCount: check.unhealthyThreshold,
      Matcher: { HttpCode: "200" },
      LoadBalancerArns: [`arn:aws:elasticloadbalancing:${this.ctx.regionName}:${this.ctx.account}:loadbalancer/${this.loadBalancerOf(group.arn) ?? `app/${group.name}/0000000000000001`}`],
    };
  }

  private describeTargetGroups(input: DescribeTargetGroupsCommandInput): Output<DescribeTargetGroupsCommandOutput> {
    const arns = input.TargetGroupArns ?? [];
    const names = input.Names ?? [];
    for (const arn of arns) this.requireTargetGroup(arn);
    const groups = [...this.targetGroups.values()].filter(
      (group) => (arns.length === 0 || arns.includes(group.arn)) && (names.length === 0 || names.includes(group.name)),
    );
    if (names.length > 0 && groups.length < names.length) throw awsError("ELBv2", "TargetGroupNotFound", `One or more target groups not found`);
    return { TargetGroups: groups.map((group) => this.toTargetGroup(group)) };
  }

  // ---- ALB listener rules (the weights) --------------------------------------------------------------------

  private requireListener(arn: string): SimListener {
    const listener = this.albListeners.get(arn);
    if (!listener) throw awsError("ELBv2", "ListenerNotFound", "One or more listeners not found");
    return listener;
  }

  /**
   * A forward action's target groups. ELBv2 API reference (Action, ForwardActionConfig, TargetGroupTuple): a forward
   * names either TargetGroupArn or ForwardConfig.TargetGroups; each weight is 0-999; a target group must exist.
   */
  private forwardOf(actions: Action[] | undefined): WeightedTargetGroup[] {
    const forward = (actions ?? []).filter((action) => action.Type === "forward");
    if (forward.length !== 1 || (actions ?? []).length !== 1)
      throw awsError("ELBv2", "ValidationError", "The simulated region models rules with exactly one forward action");
    const [action] = forward;
    const groups = action.ForwardConfig?.TargetGroups?.length
      ? action.ForwardConfig.TargetGroups.map((group) => ({ targetGroupArn: group.TargetGroupArn ?? "", weight: group.Weight ?? 1 }))
      : [{ targetGroupArn: action.TargetGroupArn ?? "", weight: 1 }];
    for (const group of groups) {
      this.requireTargetGroup(group.targetGroupArn);
      if (!Number.isInteger(group.weight) || group.weight < 0 || group.weight > 999)
        throw awsError("ELBv2", "ValidationError", `Target group weight '${group.weight}' must be between 0 and 999`);
    }
    return groups;
  }

  private toRule(rule: SimRule): Rule {
    return {
      RuleArn: rule.arn,
      Priority: rule.priority,
      Conditions: structuredClone(rule.conditions),
      IsDefault: rule.priority === "default",
      Actions: [
        {
          Type: "forward",
          ForwardConfig: { TargetGroups: rule.forward.map((group) => ({ TargetGroupArn: group.targetGroupArn, Weight: group.weight })) },
        },
      ],
    };
  }

  /** DescribeRules by listener (the default rule last, as AWS lists it) or by rule ARNs; one page. */
  private describeRules(input: DescribeRulesCommandInput): Output<DescribeRulesCommandOutput> {
    if (input.ListenerArn) {
      const listener = this.requireListener(input.ListenerArn);
      const rules = [...listener.rules].sort((a, b) => Number(a.priority) - Number(b.priority));
      return { Rules: [...rules, listener.defaultRule].map((rule) => this.toRule(rule)) };
    }
    const all = [...this.albListeners.values()].flatMap((listener) => [...listener.rules, listener.defaultRule]);
    const found = (input.RuleArns ?? []).map((arn) => {
      const rule = all.find((candidate) => candidate.arn === arn);
      if (!rule) throw awsError("ELBv2", "RuleNotFound", "One or more rules not found");
      return rule;
    });
    return { Rules: found.map((rule) => this.toRule(rule)) };
  }

  /** CreateRule: "A listener can't have multiple rules with the same priority" (PriorityInUse); Priority 1-50000. */
  private createRule(input: CreateRuleCommandInput): Output<CreateRuleCommandOutput> {
    const listener = this.requireListener(input.ListenerArn ?? "");
    const priority = input.Priority ?? 0;
    if (!Number.isInteger(priority) || priority < 1 || priority > 50000) throw awsError("ELBv2", "ValidationError", "Priority must be between 1 and 50000");
    if (listener.rules.some((rule) => rule.priority === String(priority))) throw awsError("ELBv2", "PriorityInUse", `Priority '${priority}' is currently in use`);
    if (!input.Conditions?.length) throw awsError("ELBv2", "ValidationError", "A rule must have at least one condition");
    const rule: SimRule = { arn: this.ruleArn(listener.arn), priority: String(priority), conditions: structuredClone(input.Conditions), forward: this.forwardOf(input.Actions) };
    listener.rules.push(rule);
    this.routingChanged();
    return { Rules: [this.toRule(rule)] };
  }

  /** ModifyRule: replaces the actions (and conditions, when given) of a rule; the default rule's actions too. */
  private modifyRule(input: ModifyRuleCommandInput): Output<ModifyRuleCommandOutput> {
    const rule = [...this.albListeners.values()].flatMap((listener) => [...listener.rules, listener.defaultRule]).find((candidate) => candidate.arn === input.RuleArn);
    if (!rule) throw awsError("ELBv2", "RuleNotFound", "One or more rules not found");
    if (input.Actions) rule.forward = this.forwardOf(input.Actions);
    if (input.Conditions && rule.priority !== "default") rule.conditions = structuredClone(input.Conditions);
    this.routingChanged();
    return { Rules: [this.toRule(rule)] };
  }

  // ---- classic ELB --------------------------------------------------------------------------------------

  /**
   * What DescribeInstanceHealth reports. Checked against the Classic Load Balancer guide ("Configure
   * connection draining"): while a deregistering instance drains, it is still reported `InService` with
   * "Instance deregistration currently in progress."; after draining, `OutOfService` with "Instance is not
   * currently registered with the LoadBalancer." So a check must not count InService alone as healthy.
   */
  private instanceState(instanceId: string, registration: Registration | undefined): InstanceState {
    if (!registration) {
      return { InstanceId: instanceId, State: "OutOfService", ReasonCode: "N/A", Description: "Instance is not currently registered with the LoadBalancer." };
    }
    switch (registration.state) {
      case "initial":
        return { InstanceId: instanceId, State: "OutOfService", ReasonCode: "ELB", Description: "Instance registration is still in progress." };
      case "healthy":
        return { InstanceId: instanceId, State: "InService", ReasonCode: "N/A", Description: "N/A" };
      case "unhealthy":
        return {
          InstanceId: instanceId,
          State: "OutOfService",
          ReasonCode: "Instance",
          Description: "Instance has failed at least the UnhealthyThreshold number of health checks consecutively.",
        };
      case "draining":
        return { InstanceId: instanceId, State: "InService", ReasonCode: "N/A", Description: "Instance deregistration currently in progress." };
    }
  }

  private describeInstanceHealth(input: DescribeInstanceHealthCommandInput): Output<DescribeInstanceHealthCommandOutput> {
    const lb = this.requireClassic(input.LoadBalancerName ?? "");
    if (input.Instances && input.Instances.length > 0) {
      return {
        InstanceStates: input.Instances.map((entry) => {
          const id = entry.InstanceId ?? "";
          if (!this.ec2.instances.has(id)) throw awsError("ELB", "InvalidInstance", `Could not find EC2 instance ${id}.`);
          return this.instanceState(id, lb.pool.registrations.get(id));
        }),
      };
    }
    const visible = [...lb.pool.registrations.values()].filter((r) => this.registrationVisible(lb.name, r));
    return { InstanceStates: visible.map((r) => this.instanceState(r.instanceId, r)) };
  }

  private registeredInstances(lb: SimClassicLoadBalancer): Array<{ InstanceId: string }> {
    return [...lb.pool.registrations.values()].filter((r) => r.state !== "draining").map((r) => ({ InstanceId: r.instanceId }));
  }

  private deregisterInstances(input: DeregisterInstancesFromLoadBalancerCommandInput): Output<DeregisterInstancesFromLoadBalancerCommandOutput> {
    const lb = this.requireClassic(input.LoadBalancerName ?? "");
    for (const entry of input.Instances ?? []) {
      const id = entry.InstanceId ?? "";
      if (!this.ec2.instances.has(id)) throw awsError("ELB", "InvalidInstance", `Could not find EC2 instance ${id}.`);
      lb.pool.deregister(id);
    }
    return { Instances: this.registeredInstances(lb) };
  }

  private describeClassicLoadBalancers(input: DescribeClassicLoadBalancersCommandInput): Output<DescribeClassicLoadBalancersCommandOutput> {
    const names = input.LoadBalancerNames ?? [];
    for (const name of names) this.requireClassic(name);
    const lbs = [...this.classicLoadBalancers.values()].filter((lb) => names.length === 0 || names.includes(lb.name));
    return {
      LoadBalancerDescriptions: lbs.map((lb) => ({
        LoadBalancerName: lb.name,
        DNSName: lb.dnsName,
        CreatedTime: new Date(lb.createdAtMs),
        Scheme: "internet-facing",
        Instances: this.registeredInstances(lb),
        HealthCheck: {
          Target: `HTTP:${DEFAULTS.appPort}${DEFAULTS.healthCheckPath}`,
          Interval: lb.pool.healthCheck.intervalSeconds,
          Timeout: lb.pool.healthCheck.timeoutSeconds ?? DEFAULTS.healthCheckTimeoutSeconds,
          HealthyThreshold: lb.pool.healthCheck.healthyThreshold,
          UnhealthyThreshold: lb.pool.healthCheck.unhealthyThreshold,
        },
      })),
    };
  }

}
