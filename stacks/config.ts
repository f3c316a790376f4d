import { _InstanceType } from "@aws-sdk/client-ec2";
import { z } from "zod";
import { NODE_RELEASES } from "./data/nodeVersions.js";
import { DEFAULTS, SCALING } from "../functions/lib/names.js";
import { SLOW_BOOT_AFTER_SECONDS } from "../functions/lib/polling.js";
import { isTimeZone, parseRecurrence } from "../functions/lib/recurrence.js";
import { allowedErrorMap, allowedKeysAt, didYouMean, show, valueAt } from "../functions/lib/validation.js";

/**
 * Per-stage configuration: one typed object per stage. Everything but `domain` and `hostedZoneId` has a
 * default. `loadStageConfig` validates it and fails synthesis with a message that names the stage, the
 * field, the value and what is allowed.
 */

/** Why capacities stop at 500 (see maxCapacity). */
const TARGET_QUOTA_REASON = "twice that, the old and the new group during a swap, must fit the load balancer's default quota of 1,000 targets";

const intRange = (min: number, max: number, why?: string) => {
  const allowed = `an integer from ${min} to ${max}${why ? ` (${why})` : ""}`;
  return z
    .number({ invalid_type_error: allowed, required_error: allowed })
    .int({ message: allowed })
    .min(min, { message: allowed })
    .max(max, { message: allowed });
};

const pattern = (regex: RegExp, allowed: string) =>
  z.string({ invalid_type_error: allowed, required_error: allowed }).regex(regex, { message: allowed });

const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

/** Every EC2 instance type the SDK knows (`_InstanceType`, @aws-sdk/client-ec2): a type outside it cannot launch. */
const INSTANCE_TYPES: ReadonlySet<string> = new Set(Object.values(_InstanceType));
const instanceType = () =>
  z.string({ invalid_type_error: "an EC2 instance type" }).refine((type) => INSTANCE_TYPES.has(type), {
    message: `an EC2 instance type the SDK knows (@aws-sdk/client-ec2 _InstanceType, ${INSTANCE_TYPES.size} types) such as "t3.micro" or "t4g.small"`,
  });

/** A cron recurrence as Auto Scaling reads it (functions/lib/recurrence.ts), with the parser's reason. */
const recurrence = z.string({ message: "a cron recurrence such as \"0 8 * * 1-5\"" }).superRefine((value, ctx) => {
  try {
    parseRecurrence(value);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `a cron recurrence "minute hour day-of-month month day-of-week" such as "0 8 * * 1-5" (${(error as Error).message})` });
  }
});

/**
 * `scaling`: what every new group gets from the configuration (functions/lib/groupConfiguration.ts applies it;
 * where the live group has the same thing, the configuration wins). Target tracking: "ASGAverageCPUUtilization"
 * or "ALBRequestCountPerTarget" (PutScalingPolicy, PredefinedMetricSpecification; the request count needs an
 * ALB); scheduled actions: PutScheduledUpdateGroupAction's Recurrence, MinSize/DesiredCapacity/MaxSize and an
 * IANA TimeZone (default UTC).
 */
const ScalingSchema = z
  .object({
    targetTracking: z
      .object({
        metric: z.enum(["cpu", "requestCountPerTarget"], { message: '"cpu" (average CPU %) or "requestCountPerTarget" (ALB requests per instance per minute)' }),
        targetValue: z
          .number({ message: "a number > 0 (a CPU percentage up to 100, or requests per target per minute)" })
          .positive({ message: "a number > 0 (a CPU percentage up to 100, or requests per target per minute)" }),
        /** Seconds a new instance's metrics are left out of the group's (EstimatedInstanceWarmup). */
        warmupSeconds: intRange(0, 3600).optional(),
      })
      .strict()
      .optional(),
    scheduledActions: z
      .array(
        z
          .object({
            name: pattern(/^[A-Za-z0-9._-]{1,64}$/, '1-64 letters, digits, ".", "_" or "-"'),
            recurrence,
            minCapacity: intRange(0, 500).optional(),
            desiredCapacity: intRange(0, 500).optional(),
            maxCapacity: intRange(0, 500).optional(),
            timeZone: z
              .string({ message: 'an IANA time zone such as "Europe/Berlin" or "UTC"' })
              .refine(isTimeZone, { message: 'an IANA time zone such as "Europe/Berlin" or "UTC"' })
              .optional(),
          })
          .strict(),
      )
      .max(SCALING.maxScheduledActions, { message: `at most ${SCALING.maxScheduledActions} scheduled actions` })
      .default([]),
  })
  .strict()
  .default({});

/**
 * `mixedInstances`: several instance types and an On-Demand/Spot split (CreateAutoScalingGroup's
 * MixedInstancesPolicy: "You can specify up to 40 instance types per Auto Scaling group"; OnDemandBaseCapacity,
 * OnDemandPercentageAboveBaseCapacity 0-100, SpotAllocationStrategy; botocore autoscaling 2011-01-01 model).
 * The types are tried in the order given for On-Demand ("prioritized").
 */
const MixedInstancesSchema = z
  .object({
    instanceTypes: z
      .array(instanceType())
      .min(1, { message: "1-40 EC2 instance types, most preferred first" })
      .max(40, { message: "1-40 EC2 instance types, most preferred first" }),
    onDemandBaseCapacity: intRange(0, 500).default(0),
    onDemandPercentageAboveBaseCapacity: intRange(0, 100).default(100),
    spotAllocationStrategy: z
      .enum(SCALING.spotAllocationStrategies, { message: SCALING.spotAllocationStrategies.map((s) => `"${s}"`).join(", ") })
      .default("price-capacity-optimized"),
  })
  .strict()
  .optional();
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const AVAILABILITY_ZONE = /^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/;
const availabilityZone = () => pattern(AVAILABILITY_ZONE, 'an availability zone such as "us-east-1a"');

/**
 * Node.js releases a stage may bake (18.x and later), shipped in stacks/data/nodeVersions.ts with where they
 * come from (`npx tsx scripts/node-versions.ts` refreshes it): the bake downloads nodejs.org/dist/v<version>/,
 * so a version never released would fail only there. A release newer than the file is refused until it is
 * refreshed.
 */
const NODE_VERSIONS: ReadonlySet<string> = new Set(NODE_RELEASES.versions);

/**
 * The shipped stages' domain and hosted zone: placeholders that make the examples synthesize. They can only fail
 * at deploy time (no such zone in your account), so a deploy refuses them (see `deployOnlyProblems`).
 */
export const PLACEHOLDERS = { domain: "example.com", hostedZoneId: "Z0123456789EXAMPLE01" } as const;

export const StageConfigSchema = z
  .object({
    /** Apex domain of the site; `<stage>.<domain>`, or the apex for `production`. */
    domain: pattern(DOMAIN, "a lower-case DNS name such as example.com"),
    /** Route 53 hosted zone of `domain` (looked up by id, so synthesis needs no AWS access). */
    hostedZoneId: pattern(/^Z[A-Z0-9]{1,31}$/, 'a Route 53 hosted zone id such as "Z0123456789ABCDEFGHIJ"'),
    /** AWS region of the stage. */
    region: pattern(AWS_REGION, 'an AWS region such as "us-east-1"').default("us-east-1"),
    /** Name of the web app (tag `immutable-deploy:app`, resource names). */
    app: pattern(/^[a-z][a-z0-9-]{1,30}$/, "2-31 lower-case letters, digits or hyphens, starting with a letter").default(
      "webapp",
    ),
    /** `application` (ALB + target group) or `classic` (classic ELB). */
    loadBalancer: z
      .enum(["application", "classic"], { message: '"application" or "classic"' })
      .default("application"),
    /** Serve AAAA as well as A (dualstack ALB only). */
    ipv6: z.boolean({ message: "true or false" }).default(false),
    instanceType: instanceType().default(DEFAULTS.instanceType),
    /** Several instance types and an On-Demand/Spot split for every new group (instead of `instanceType` alone). */
    mixedInstances: MixedInstancesSchema,
    /** Target tracking and scheduled actions for every new group. */
    scaling: ScalingSchema,
    /**
     * The availability zones of the new VPC's public subnets (2 or more, in `region`). Zone names map to
     * different physical zones per account and not every zone offers every instance type: without this, `sst
     * deploy` looks the zones up (CDK's availability-zone lookup, cached in cdk.context.json) and takes the first
     * two. With `vpc`, its own `availabilityZones` apply.
     */
    availabilityZones: z
      .array(availabilityZone())
      .min(2, { message: "at least two availability zones of the stage's region" })
      .max(6, { message: "at most six availability zones" })
      .optional(),
    minCapacity: intRange(0, 500).default(DEFAULTS.minCapacity),
    desiredCapacity: intRange(1, 500).default(DEFAULTS.desiredCapacity),
    // At most 500: during a swap the old and the new group are both registered with the load balancer, and it
    // takes 1,000 targets by default ("Targets per Target Group per Region", "Targets per Application Load
    // Balancer", "Registered Instances per Classic Load Balancer": ELB User Guides, quotas; the simulated region
    // enforces it). A live group an operator scaled beyond that (carried over) needs a raised quota.
    maxCapacity: intRange(1, 500, TARGET_QUOTA_REASON).default(DEFAULTS.maxCapacity),
    healthCheck: z
      .object({
        path: pattern(/^\/[A-Za-z0-9._~\/-]*$/, 'an absolute URL path such as "/api/status/health"').default(
          DEFAULTS.healthCheckPath,
        ),
        intervalSeconds: intRange(5, 300).default(DEFAULTS.healthCheckIntervalSeconds),
        timeoutSeconds: intRange(2, 120).default(DEFAULTS.healthCheckTimeoutSeconds),
        healthyThreshold: intRange(2, 10).default(DEFAULTS.healthyThreshold),
        unhealthyThreshold: intRange(2, 10).default(DEFAULTS.unhealthyThreshold),
      })
      .strict()
      .default({}),
    /** Connection draining (classic) / deregistration delay (ALB), seconds. */
    drainingSeconds: intRange(0, 3600).default(DEFAULTS.drainingSeconds),
    /** Seconds after launch before the group acts on failed load-balancer health checks. */
    healthCheckGracePeriodSeconds: intRange(0, 7200).default(DEFAULTS.healthCheckGracePeriodSeconds),
    /**
     * Seconds after the new instances go InService during which a release whose every target failed the load
     * balancer's health check (unhealthyThreshold in a row) is not yet rolled back: for apps that start slowly.
     */
    slowStartAllowanceSeconds: intRange(0, 7200).default(DEFAULTS.slowStartAllowanceSeconds),
    /** The app's port on the instance (nginx listens on 80 and proxies to it). */
    appPort: intRange(1024, 65535).default(DEFAULTS.appPort),
    /** Node.js version baked into the base image: a released version (NODE_RELEASES). */
    nodeVersion: z
      .string({ invalid_type_error: "a Node.js version" })
      .refine((version) => NODE_VERSIONS.has(version), {
        message: `a released Node.js version, 18.0.0 or later, such as "22.11.0" (stacks/data/nodeVersions.ts, known through ${NODE_RELEASES.newest.version} as of ${NODE_RELEASES.retrieved}; refresh it with npx tsx scripts/node-versions.ts)`,
      })
      .default("22.11.0"),
    /** ACM certificate for HTTPS on 443 (with an HTTP -> HTTPS redirect). */
    certificateArn: pattern(
      /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/,
      "an ACM certificate ARN",
    ).optional(),
    /** Imports an EC2 key pair for SSH; off by default (Session Manager is the way in). */
    sshPublicKey: pattern(
      /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/,
      "an OpenSSH public key line (ssh-ed25519, ssh-rsa or ecdsa-sha2-*)",
    ).optional(),
    /** Use an existing VPC instead of creating one: its id, two or more public subnets and their zones. */
    vpc: z
      .object({
        vpcId: pattern(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id such as "vpc-0abc12345def67890"'),
        publicSubnetIds: z
          .array(pattern(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id such as "subnet-0abc1234"'))
          .min(2, { message: "at least two subnets, in different availability zones" }),
        availabilityZones: z.array(availabilityZone()).min(2, { message: "one zone per subnet, at least two" }),
      })
      .strict()
      .optional(),
    /** Release images kept besides the live one, for instant rollback. */
    retainReleaseImages: intRange(0, 50).default(DEFAULTS.retainReleaseImages),
    /** Subscribe this address to the outcome topic. */
    notificationEmail: z.string().email({ message: "an e-mail address" }).optional(),
    /** Bounds of the wait loops, seconds. */
    timeouts: z
      .object({
        lockWaitSeconds: intRange(0, 86400).default(DEFAULTS.lockWaitSeconds),
        groupHealthySeconds: intRange(60, 7200).default(DEFAULTS.groupHealthySeconds),
        loadBalancerHealthySeconds: intRange(60, 7200).default(DEFAULTS.loadBalancerHealthySeconds),
        retireSeconds: intRange(60, 7200).default(DEFAULTS.retireSeconds),
      })
      .strict()
      .default({}),
    /** How long old artifacts stay in the artifact bucket, days. */
    artifactRetentionDays: intRange(1, 3650).default(90),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.minCapacity > c.desiredCapacity)
      ctx.addIssue({ code: "custom", path: ["minCapacity"], message: `at most desiredCapacity (${c.desiredCapacity})` });
    if (c.desiredCapacity > c.maxCapacity)
      ctx.addIssue({ code: "custom", path: ["desiredCapacity"], message: `at most maxCapacity (${c.maxCapacity})` });
    // Past the grace period a release not healthy at the load balancer is rolled back anyway.
    if (c.slowStartAllowanceSeconds > c.healthCheckGracePeriodSeconds)
      ctx.addIssue({ code: "custom", path: ["slowStartAllowanceSeconds"], message: `at most healthCheckGracePeriodSeconds (${c.healthCheckGracePeriodSeconds})` });
    if (c.healthCheck.timeoutSeconds >= c.healthCheck.intervalSeconds)
      ctx.addIssue({
        code: "custom",
        path: ["healthCheck", "timeoutSeconds"],
        message: `less than healthCheck.intervalSeconds (${c.healthCheck.intervalSeconds})`,
      });
    if (c.ipv6 && c.loadBalancer !== "application")
      ctx.addIssue({ code: "custom", path: ["ipv6"], message: 'false unless loadBalancer is "application"' });
    const tracking = c.scaling.targetTracking;
    if (tracking?.metric === "requestCountPerTarget" && c.loadBalancer !== "application")
      ctx.addIssue({ code: "custom", path: ["scaling", "targetTracking", "metric"], message: '"cpu" unless loadBalancer is "application" (the request count is an ALB metric)' });
    if (tracking?.metric === "cpu" && tracking.targetValue > 100)
      ctx.addIssue({ code: "custom", path: ["scaling", "targetTracking", "targetValue"], message: "a CPU percentage: more than 0, at most 100" });
    const names = new Set<string>();
    for (const [i, action] of c.scaling.scheduledActions.entries()) {
      const at = (field: string) => ["scaling", "scheduledActions", i, field];
      if (names.has(action.name)) ctx.addIssue({ code: "custom", path: at("name"), message: "a name no other scheduled action of this stage has" });
      names.add(action.name);
      const { minCapacity: min, desiredCapacity: desired, maxCapacity: max } = action;
      if (min === undefined && desired === undefined && max === undefined)
        ctx.addIssue({ code: "custom", path: at("desiredCapacity"), message: "at least one of minCapacity, desiredCapacity, maxCapacity" });
      if (min !== undefined && max !== undefined && min > max) ctx.addIssue({ code: "custom", path: at("minCapacity"), message: `at most maxCapacity (${max})` });
      if (desired !== undefined && min !== undefined && desired < min) ctx.addIssue({ code: "custom", path: at("desiredCapacity"), message: `at least minCapacity (${min})` });
      if (desired !== undefined && max !== undefined && desired > max) ctx.addIssue({ code: "custom", path: at("desiredCapacity"), message: `at most maxCapacity (${max})` });
    }
    const types = c.mixedInstances?.instanceTypes ?? [];
    if (new Set(types).size !== types.length)
      ctx.addIssue({ code: "custom", path: ["mixedInstances", "instanceTypes"], message: "each instance type once" });
    if (c.vpc && c.vpc.availabilityZones.length !== c.vpc.publicSubnetIds.length)
      ctx.addIssue({
        code: "custom",
        path: ["vpc", "availabilityZones"],
        message: `one zone per subnet (${c.vpc.publicSubnetIds.length})`,
      });
    if (c.availabilityZones && c.vpc)
      ctx.addIssue({ code: "custom", path: ["availabilityZones"], message: "none with vpc (vpc.availabilityZones are the zones of its subnets)" });
    for (const [path, zones] of [[["availabilityZones"], c.availabilityZones], [["vpc", "availabilityZones"], c.vpc?.availabilityZones]] as const) {
      if (!zones) continue;
      if (zones.some((zone) => !zone.startsWith(c.region)) || new Set(zones).size !== zones.length)
        ctx.addIssue({ code: "custom", path: [...path], message: `distinct zones of the stage's region ${c.region}, such as "${c.region}a"` });
    }
    // The health deadline counts from the group's creation; the load-balancer check gives up when the grace
    // period ends after an instance went InService. A deadline before both is a rollback of a release that
    // might still have become healthy.
    const deadline = c.timeouts.groupHealthySeconds + c.timeouts.loadBalancerHealthySeconds;
    const needed = c.healthCheckGracePeriodSeconds + SLOW_BOOT_AFTER_SECONDS;
    if (deadline < needed)
      ctx.addIssue({
        code: "custom",
        path: ["timeouts", "loadBalancerHealthySeconds"],
        message:
          `timeouts.groupHealthySeconds + timeouts.loadBalancerHealthySeconds (${c.timeouts.groupHealthySeconds} + ` +
          `${c.timeouts.loadBalancerHealthySeconds} = ${deadline}) of at least healthCheckGracePeriodSeconds plus a boot ` +
          `(${c.healthCheckGracePeriodSeconds} + ${SLOW_BOOT_AFTER_SECONDS} = ${needed})`,
      });
  });

export type StageConfigInput = z.input<typeof StageConfigSchema>;
export type StageConfig = z.output<typeof StageConfigSchema> & { stage: string };

/**
 * The stages of this app: examples until `domain` and `hostedZoneId` are yours (a deploy refuses the
 * placeholders; they synthesize, so the examples and the tests work offline). Every other field is optional.
 * `dev01` and `production` use an ALB; `classic01` shows the classic ELB variant.
 */
export const STAGES: Record<string, StageConfigInput> = {
  dev01: { ...PLACEHOLDERS },
  classic01: { ...PLACEHOLDERS, loadBalancer: "classic" },
  production: {
    ...PLACEHOLDERS,
    desiredCapacity: 3,
    maxCapacity: 12,
    minCapacity: 2,
  },
};

export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StageConfigError";
  }
}

/** The usual configuration error: the stage, then one `field: value; allowed: ...` line per problem. */
export function stageConfigError(stage: string, lines: string[]): StageConfigError {
  return new StageConfigError(`Invalid configuration for stage "${stage}":\n  ${lines.join("\n  ")}`);
}

/** Validates a stage's configuration; throws StageConfigError naming stage, field, value and what is allowed. */
export function parseStageConfig(stage: string, input: unknown): StageConfig {
  const result = StageConfigSchema.safeParse(input, { errorMap: allowedErrorMap });
  if (result.success) return { ...result.data, stage };
  const lines = result.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const where = issue.path.length ? `${issue.path.join(".")}.` : "";
      const allowed = allowedKeysAt(StageConfigSchema, issue.path);
      return issue.keys.map((k) => `${where}${k}: unknown field${didYouMean(k, allowed)}; allowed: ${allowed.join(", ")}`).join("\n  ");
    }
    const field = issue.path.join(".");
    return `${field}: ${show(valueAt(input, issue.path))}; allowed: ${issue.message}`;
  });
  throw stageConfigError(stage, lines);
}

/**
 * What is valid to synthesize but cannot deploy: the shipped placeholder domain and hosted zone. `sst deploy`
 * (stacks/app.ts) refuses them with these lines; the offline synthesis reports them as notes, so the shipped
 * example stages still synthesize.
 */
export function deployOnlyProblems(config: StageConfig): string[] {
  const problems: string[] = [];
  if (config.domain === PLACEHOLDERS.domain)
    problems.push(`domain: ${JSON.stringify(config.domain)}; allowed: a domain whose hosted zone you own (${PLACEHOLDERS.domain} is the shipped placeholder: set yours in stacks/config.ts)`);
  if (config.hostedZoneId === PLACEHOLDERS.hostedZoneId)
    problems.push(`hostedZoneId: ${JSON.stringify(config.hostedZoneId)}; allowed: the Route 53 hosted zone id of your domain (${PLACEHOLDERS.hostedZoneId} is the shipped placeholder: aws route53 list-hosted-zones-by-name --dns-name <domain>)`);
  return problems;
}

/** The validated configuration of a configured stage; an unknown stage fails with the list of known ones. */
export function loadStageConfig(stage: string, stages: Record<string, unknown> = STAGES): StageConfig {
  const input = stages[stage];
  if (input === undefined) {
    throw new StageConfigError(
      `Unknown stage "${stage}"; configured stages: ${Object.keys(stages).join(", ")} (add one in stacks/config.ts)`,
    );
  }
  return parseStageConfig(stage, input);
}

/** The site's host name: the apex for `production`, `<stage>.<domain>` otherwise. */
export function siteDomain(config: StageConfig): string {
  return config.stage === "production" ? config.domain : `${config.stage}.${config.domain}`;
}
