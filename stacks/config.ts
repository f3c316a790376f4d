import { z } from "zod";
import { DEFAULTS, SCALING } from "../functions/lib/names.js";
import { isTimeZone, parseRecurrence } from "../functions/lib/recurrence.js";
import { allowedKeysAt, valueAt } from "../functions/lib/validation.js";

/**
 * Per-stage configuration: one typed object per stage. Everything but `domain` and `hostedZoneId` has a
 * default. `loadStageConfig` validates it and fails synthesis with a message that names the stage, the
 * field, the value and what is allowed.
 */

const intRange = (min: number, max: number) => {
  const allowed = `an integer from ${min} to ${max}`;
  return z
    .number({ invalid_type_error: allowed, required_error: allowed })
    .int({ message: allowed })
    .min(min, { message: allowed })
    .max(max, { message: allowed });
};

const pattern = (regex: RegExp, allowed: string) =>
  z.string({ invalid_type_error: allowed, required_error: allowed }).regex(regex, { message: allowed });

const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/;
const INSTANCE_TYPE_RULE = 'an EC2 instance type such as "t3.micro"';

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
      .array(pattern(INSTANCE_TYPE, INSTANCE_TYPE_RULE))
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
    instanceType: pattern(INSTANCE_TYPE, INSTANCE_TYPE_RULE).default(DEFAULTS.instanceType),
    /** Several instance types and an On-Demand/Spot split for every new group (instead of `instanceType` alone). */
    mixedInstances: MixedInstancesSchema,
    /** Target tracking and scheduled actions for every new group. */
    scaling: ScalingSchema,
    minCapacity: intRange(0, 500).default(DEFAULTS.minCapacity),
    desiredCapacity: intRange(1, 500).default(DEFAULTS.desiredCapacity),
    maxCapacity: intRange(1, 500).default(DEFAULTS.maxCapacity),
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
    /** The app's port on the instance (nginx listens on 80 and proxies to it). */
    appPort: intRange(1024, 65535).default(DEFAULTS.appPort),
    /** Node.js version baked into the base image. */
    nodeVersion: pattern(/^\d+\.\d+\.\d+$/, 'a Node.js version such as "22.11.0"').default("22.11.0"),
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
        availabilityZones: z
          .array(pattern(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, 'an availability zone such as "us-east-1a"'))
          .min(2, { message: "one zone per subnet, at least two" }),
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
  });

export type StageConfigInput = z.input<typeof StageConfigSchema>;
export type StageConfig = z.output<typeof StageConfigSchema> & { stage: string };

/**
 * The stages of this app. Edit `domain` and `hostedZoneId` to yours; every other field is optional.
 * `dev01` and `production` use an ALB; `classic01` shows the classic ELB variant.
 */
export const STAGES: Record<string, StageConfigInput> = {
  dev01: { domain: "example.com", hostedZoneId: "Z0123456789EXAMPLE01" },
  classic01: { domain: "example.com", hostedZoneId: "Z0123456789EXAMPLE01", loadBalancer: "classic" },
  production: {
    domain: "example.com",
    hostedZoneId: "Z0123456789EXAMPLE01",
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

function describeValue(value: unknown): string {
  return value === undefined ? "missing" : JSON.stringify(value);
}

/** Validates a stage's configuration; throws StageConfigError naming stage, field, value and what is allowed. */
export function parseStageConfig(stage: string, input: unknown): StageConfig {
  const result = StageConfigSchema.safeParse(input);
  if (result.success) return { ...result.data, stage };
  const lines = result.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const where = issue.path.length ? `${issue.path.join(".")}.` : "";
      return `${issue.keys.map((k) => where + k).join(", ")}: unknown field; allowed: ${allowedKeysAt(StageConfigSchema, issue.path).join(", ")}`;
    }
    const field = issue.path.join(".");
    return `${field}: ${describeValue(valueAt(input, issue.path))}; allowed: ${issue.message}`;
  });
  throw new StageConfigError(`Invalid configuration for stage "${stage}":\n  ${lines.join("\n  ")}`);
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
