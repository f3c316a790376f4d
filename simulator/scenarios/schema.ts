import { z, type ZodIssue } from "zod";
import type { Outcome } from "../../functions/lib/contract.js";
import { allowedErrorMap, didYouMean, innerSchema, show, valueAt } from "../../functions/lib/validation.js";
import { parseStageConfig, type StageConfig, StageConfigError } from "../../stacks/config.js";
import { SIMULATED_DOMAIN } from "../region/environment.js";
import { LIFECYCLE_HOOK_DEFAULTS, SCALING_PROCESSES } from "../region/services/autoscaling.js";
import { parseRecurrence } from "../../functions/lib/recurrence.js";
import { SimulatedRegion } from "../region/region.js";
import { CONSISTENCY_KINDS, HEALTH_CHECK_PHASES, IMMEDIATE_CONSISTENCY, LATENCY_TIMING_FIELDS, TIMING_NUMBERS, type TimingNumbers } from "../region/timing.js";
import { RELEASE_LABEL_PATTERN, RELEASE_LABEL_RULE } from "../../functions/lib/contract.js";

/**
 * The scenario file (docs/design.md "Simulation"; README "Writing a scenario"): every field validated, unknown
 * fields and operations the region does not model rejected, each message naming the field, the value and
 * what is allowed.
 */

/** The stage every scenario's environment is (tags, names). */
export const SCENARIO_STAGE = "sim";

const OUTCOMES = ["succeeded", "rolled-back", "failed", "no-op"] as const;
/** The services of "<Service>:<Operation>" names, as DESIGN.md's scenario contract lists them. */
export const SCENARIO_SERVICES = ["AutoScaling", "EC2", "ELB", "ELBv2", "DynamoDB", "S3", "SNS", "EventBridge", "CodeBuild", "SFN", "CloudWatch"] as const;

let modelled: Map<string, string[]> | undefined;
/** The operations the simulated region answers, by service. */
export function modelledOperations(): Map<string, string[]> {
  if (!modelled) {
    modelled = new Map(SCENARIO_SERVICES.map((service) => [service, [] as string[]]));
    for (const operation of new SimulatedRegion().operations()) {
      const [service, name] = operation.split(":");
      modelled.get(service)?.push(name);
    }
    for (const names of modelled.values()) names.sort();
  }
  return modelled;
}

/** Why `value` is not an operation a scenario may name, or undefined when it is one. */
function operationProblem(value: string): string | undefined {
  const [service, name, ...rest] = value.split(":");
  const operations = modelledOperations();
  if (rest.length > 0 || name === undefined || !operations.has(service))
    return `a "Service:Operation" with a service of ${SCENARIO_SERVICES.join(", ")}`;
  const names = operations.get(service)!;
  if (names.includes(name)) return undefined;
  return names.length === 0
    ? `an operation the simulated region models; it models none of ${service} (use the fault kinds that act on it)`
    : `an operation the simulated region models: ${names.map((n) => `${service}:${n}`).join(", ")}`;
}

const operation = z.string().superRefine((value, ctx) => {
  const problem = operationProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});
const positiveInt = z.number().int().positive();
const seconds = z.number().int().min(0);
/** Seconds that may be fractional (timing's Lambda and Step Functions latency). */
const anySeconds = z.number().min(0);
const positiveSeconds = z.number({ message: "a number of seconds > 0" }).positive({ message: "a number of seconds > 0" });

/** The nth call of an operation: "Service:Operation" (the first), or { operation, nth }. */
const CallSpecSchema = z.union([operation, z.object({ operation, nth: positiveInt.default(1) }).strict()]);

const FaultSchema = z.union([
  z.object({ operation, error: z.string().min(1), times: positiveInt.default(1), message: z.string().min(1).optional() }).strict(),
  z.object({ lifecycleHookSeconds: seconds }).strict(),
  z.object({ snapshotInUseTimes: positiveInt }).strict(),
  z.object({ bakeFailsTimes: positiveInt }).strict(),
  z.object({ launchCapacity: z.object({ available: seconds, times: positiveInt.optional() }).strict() }).strict(),
]);

const DeploySchema = z
  .object({
    release: z.string().regex(RELEASE_LABEL_PATTERN, `a release label such as v2 (${RELEASE_LABEL_RULE})`),
    appHealthy: z.boolean().default(true),
    bootFails: z.boolean().default(false),
    appDiesAfterSeconds: seconds.optional(),
    appFlapSeconds: positiveInt.optional(),
    appSlowSeconds: positiveSeconds.optional(),
    trigger: z.enum(["s3", "start-execution"]).default("s3"),
    /** Deploy the image an earlier release baked (no bake: a rollback). */
    image: z.string().optional(),
    duplicateEvent: z.boolean().default(false),
    crashAfter: CallSpecSchema.optional(),
    loseResponseAfter: CallSpecSchema.optional(),
    keepImages: z.boolean().optional(),
  })
  .strict();

const capacity = z.number().int().min(0);
const ScaleLiveGroupSchema = z.object({ desired: capacity, min: capacity.optional(), max: capacity.optional() }).strict();

const recurrence = z.string().superRefine((value, ctx) => {
  try {
    parseRecurrence(value);
  } catch (error) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `a cron recurrence "minute hour day-of-month month day-of-week" in UTC (${(error as Error).message})` });
  }
});

const ConfigureLiveGroupSchema = z
  .object({
    targetTrackingCpuPercent: z.number().positive().max(100).optional(),
    lifecycleHookSeconds: z.number().int().min(LIFECYCLE_HOOK_DEFAULTS.minHeartbeat).max(LIFECYCLE_HOOK_DEFAULTS.maxHeartbeat).optional(),
    scheduledAction: z.object({ desired: capacity, recurrence, min: capacity.optional(), max: capacity.optional() }).strict().optional(),
    protectedInstances: positiveInt.optional(),
    standbyInstances: positiveInt.optional(),
    suspendProcesses: z.array(z.enum(SCALING_PROCESSES, { message: SCALING_PROCESSES.join(", ") })).min(1).optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, {
    message: "at least one of targetTrackingCpuPercent, lifecycleHookSeconds, scheduledAction, protectedInstances, standbyInstances, suspendProcesses",
  });

const DuringSchema = z.union([
  z.object({ atSeconds: seconds, scaleLiveGroup: ScaleLiveGroupSchema }).strict(),
  z.object({ atSeconds: seconds, configureLiveGroup: ConfigureLiveGroupSchema }).strict(),
  /** An operator approves the running deploy's move to 100 % (`npx immutable-deploy approve`). */
  z.object({ atSeconds: seconds, approve: z.literal(true) }).strict(),
  /** An operator asks the running deploy to switch back and roll back during its cutover (`npx immutable-deploy rollback`). */
  z.object({ atSeconds: seconds, operatorRollback: z.literal(true) }).strict(),
  /**
   * An operator stops the deploy that holds the lock with StopExecution (the console's Stop, `aws stepfunctions
   * stop-execution`; not `npx immutable-deploy abort`, which also runs the failure path): it ends ABORTED, the lock held.
   */
  z.object({ atSeconds: seconds, stopLockHolder: z.literal(true) }).strict(),
  /** An alarm changes state (CloudWatch SetAlarmState), e.g. one the stage's cutover.alarms names. */
  z
    .object({
      atSeconds: seconds,
      setAlarmState: z.object({ alarm: z.string().min(1), state: z.enum(["OK", "ALARM", "INSUFFICIENT_DATA"]) }).strict(),
    })
    .strict(),
]);

const names = z.array(z.string());
const ExpectLiveGroupSchema = z
  .object({
    release: z.string().optional(),
    desired: capacity.optional(),
    min: capacity.optional(),
    max: capacity.optional(),
    scalingPolicies: names.optional(),
    lifecycleHooks: names.optional(),
    scheduledActions: names.optional(),
    /** Exactly these, no more: what a deploy suspended must be resumed. */
    suspendedProcesses: names.optional(),
  })
  .strict();

const StepCommon = {
  faults: z.array(FaultSchema).default([]),
  expect: z.enum(OUTCOMES).optional(),
  during: z.array(DuringSchema).default([]),
  expectLiveGroup: ExpectLiveGroupSchema.optional(),
};
/** One schema per step kind, told apart by the step's key. */
const STEP_KINDS = {
  deploy: z.object({ deploy: DeploySchema, ...StepCommon }).strict(),
  redrive: z.object({ redrive: z.literal(true), ...StepCommon }).strict(),
  /** EventBridge delivers again the S3 event of that release's last upload (at-least-once delivery, up to a day late). */
  redeliver: z.object({ redeliver: z.string().regex(RELEASE_LABEL_PATTERN, `the release label of an earlier upload (${RELEASE_LABEL_RULE})`), ...StepCommon }).strict(),
  scaleLiveGroup: z.object({ scaleLiveGroup: ScaleLiveGroupSchema, ...StepCommon }).strict(),
  configureLiveGroup: z.object({ configureLiveGroup: ConfigureLiveGroupSchema, ...StepCommon }).strict(),
  concurrent: z
    .object({
      concurrent: z.array(z.object({ deploy: DeploySchema, expect: z.enum(OUTCOMES).optional() }).strict()).min(2),
      faults: StepCommon.faults,
      during: StepCommon.during,
      expectLiveGroup: StepCommon.expectLiveGroup,
    })
    .strict(),
};
const StepSchema = z.union([STEP_KINDS.deploy, STEP_KINDS.redrive, STEP_KINDS.redeliver, STEP_KINDS.scaleLiveGroup, STEP_KINDS.configureLiveGroup, STEP_KINDS.concurrent]);

/** `[min, max]` seconds of one eventual-consistency delay. */
const delayRange = z
  .tuple([z.number().min(0), z.number().min(0)], { invalid_type_error: "[min, max] seconds" })
  .refine(([min, max]) => min <= max, "[min, max] seconds with 0 <= min <= max");

/** Eventual consistency (region timing.ts `ConsistencySettings`): any field overrides the default; "immediate" turns all off. */
const ConsistencySchema = z.preprocess(
  (value) => (value === "immediate" ? { ...IMMEDIATE_CONSISTENCY } : value),
  z
    .object(
      {
        seed: z.number().int().min(0).optional(),
        ...(Object.fromEntries(CONSISTENCY_KINDS.map((key) => [key, delayRange.optional()])) as Record<
          (typeof CONSISTENCY_KINDS)[number],
          z.ZodOptional<typeof delayRange>
        >),
      },
      { invalid_type_error: `"immediate", or an object of seed, ${CONSISTENCY_KINDS.join(", ")}` },
    )
    .strict()
    .default({}),
);

export const ScenarioSchema = z
  .object({
    name: z.string().default("scenario"),
    /** Stage configuration fields (stacks/config.ts), validated below with the same schema as a real stage. */
    environment: z.record(z.unknown()).default({}),
    timing: z
      .object({
        ...(Object.fromEntries(
          TIMING_NUMBERS.map((key) => [key, ((LATENCY_TIMING_FIELDS as readonly string[]).includes(key) ? anySeconds : seconds).optional()]),
        ) as Record<TimingNumbers, z.ZodOptional<typeof seconds>>),
        /** When a new target's first health check comes (region timing.ts `HealthCheckPhase`). */
        healthCheckPhase: z.enum(HEALTH_CHECK_PHASES).optional(),
      })
      .strict()
      .default({}),
    traffic: z
      .object({
        requestsPerSecond: z.number().min(0).default(10),
        requestSeconds: z.number().min(0).default(0),
        requestsPerInstancePerSecond: z.number().positive().optional(),
      })
      .strict()
      .default({}),
    consistency: ConsistencySchema,
    steps: z.array(StepSchema).min(1),
  })
  .strict();

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioStep = Scenario["steps"][number];
export type DeploySpec = z.output<typeof DeploySchema>;
export type ScaleLiveGroupSpec = z.output<typeof ScaleLiveGroupSchema>;
export type ConfigureLiveGroupSpec = z.output<typeof ConfigureLiveGroupSchema>;
export type DuringSpec = z.output<typeof DuringSchema>;
export type ExpectLiveGroup = z.output<typeof ExpectLiveGroupSchema>;
export type ScenarioOutcome = Outcome;

/** What a union accepts, for messages when a value fits none of its shapes. */
const UNION_HINTS: Record<string, string> = {
  steps:
    '{"deploy": {...}}, {"redrive": true}, {"redeliver": "<release>"}, {"scaleLiveGroup": {"desired": n}}, {"configureLiveGroup": {...}} or {"concurrent": [...]}, each with optional "faults", "expect", "during" and "expectLiveGroup"',
  faults:
    '{"operation": "Service:Operation", "error": "<code>", "times": n, "message"?: "..."}, {"lifecycleHookSeconds": n}, {"snapshotInUseTimes": n}, {"bakeFailsTimes": n} or {"launchCapacity": {"available": n, "times": n}}',
  during:
    '{"atSeconds": n, "scaleLiveGroup": {...}}, {"atSeconds": n, "configureLiveGroup": {...}}, {"atSeconds": n, "approve": true}, ' +
    '{"atSeconds": n, "operatorRollback": true}, {"atSeconds": n, "stopLockHolder": true} or {"atSeconds": n, "setAlarmState": {"alarm": "...", "state": "ALARM"}}',
  crashAfter: '"Service:Operation" or {"operation": "Service:Operation", "nth": n}',
  loseResponseAfter: '"Service:Operation" or {"operation": "Service:Operation", "nth": n}',
};

function hintFor(path: (string | number)[]): string | undefined {
  const last = path.at(-1);
  return UNION_HINTS[String(typeof last === "number" ? path.at(-2) : last)];
}

/**
 * One line per problem. A value that fits none of a union's shapes is explained by the one shape it matches
 * at its own level (the right step kind, the right fault kind), else by the union's hint.
 */
function describeIssues(issues: ZodIssue[], input: unknown): string[] {
  return issues.flatMap((issue) => {
    const where = issue.path.join(".") || "(scenario)";
    const value = show(valueAt(input, issue.path));
    if (issue.code === "invalid_union") {
      const depth = issue.path.length;
      const fitting = issue.unionErrors.filter((error) => error.issues.every((inner) => inner.path.length > depth));
      if (fitting.length === 1) return describeIssues(fitting[0].issues, input);
      const hint = hintFor(issue.path) ?? "see README, Writing a scenario";
      return issue.path[0] === "steps" && depth === 2 ? [`${where}: ${value} is not a step; allowed: ${hint}`] : [`${where}: ${value}; allowed: ${hint}`];
    }
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedFields(input, issue.path);
      return issue.keys.map((key) => `${where}: unknown field(s) ${key}${didYouMean(key, allowed)}; allowed: ${allowed.join(", ")}`);
    }
    return [`${where}: ${value}; allowed: ${issue.message}`];
  });
}

/**
 * The fields allowed at `path`: walks the schema along the input, and at a union takes the shape that shares
 * the most fields with the value there (the step kind, the fault kind it was meant as).
 */
function allowedFields(input: unknown, path: (string | number)[]): string[] {
  let schema = innerSchema(ScenarioSchema);
  let depth = 0;
  for (;;) {
    if (schema instanceof z.ZodUnion) {
      const value = valueAt(input, path.slice(0, depth));
      const keys = value && typeof value === "object" ? Object.keys(value) : [];
      const options = (schema.options as z.ZodTypeAny[]).map(innerSchema).filter((option) => option instanceof z.ZodObject) as z.AnyZodObject[];
      const shared = (option: z.AnyZodObject) => keys.filter((key) => key in option.shape).length;
      schema = options.sort((a, b) => shared(b) - shared(a))[0] ?? z.never();
      continue;
    }
    if (depth === path.length) break;
    const key = path[depth++];
    if (schema instanceof z.ZodArray && typeof key === "number") schema = innerSchema(schema.element);
    else if (schema instanceof z.ZodObject && typeof key === "string") schema = innerSchema(schema.shape[key] ?? z.never());
    else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** Parses a scenario; a bad one fails with the field, the value and what is allowed. */
export function parseScenario(input: unknown): Scenario {
  const result = ScenarioSchema.safeParse(input, { errorMap: allowedErrorMap });
  if (!result.success) throw new Error(`invalid scenario:\n  ${describeIssues(result.error.issues, input).join("\n  ")}`);
  checkEnvironment(result.data.environment);
  return result.data;
}

/** The scenario's environment is a stage configuration: the same validation, defaults and messages as stacks/config.ts. */
export function scenarioStageConfig(environment: Record<string, unknown>): StageConfig {
  return parseStageConfig(SCENARIO_STAGE, { ...SIMULATED_DOMAIN, ...environment });
}

function checkEnvironment(environment: Record<string, unknown>): void {
  try {
    scenarioStageConfig(environment);
  } catch (error) {
    if (!(error instanceof StageConfigError)) throw error;
    const lines = error.message.split("\n").slice(1).map((line) => `environment.${line.trim()}`);
    throw new Error(`invalid scenario:\n  ${lines.join("\n  ")}`);
  }
}
