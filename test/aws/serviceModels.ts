/**
 * AWS API calls checked against the services' published models, offline.
 *
 * Three sources, each used for what it has:
 * - the npm `aws-sdk` v2 models (`aws-sdk/apis/<id>.min.json`, current): which operations and members exist,
 *   their types and which members are required. Where it and botocore disagree, it wins (it is newer).
 * - Debian's `python3-botocore` models (`botocore/data/<service>/<version>/service-2.json`, December 2022):
 *   the constraints the v2 models leave out: min/max, pattern, enum; and the error shapes with their wire codes.
 * - the SDK v3 clients in node_modules (newer than both): their exported enum objects widen botocore's enums,
 *   their exported exceptions and error schemas add error codes modeled after 2022.
 * Every disagreement met while checking is reported as a note, never silently resolved.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** Service names as the simulator uses them ("Service:Operation"). */
export type ServiceName =
  | "AutoScaling"
  | "EC2"
  | "ELB"
  | "ELBv2"
  | "DynamoDB"
  | "SNS"
  | "EventBridge"
  | "SFN"
  | "S3"
  | "CodeBuild"
  | "CloudFormation"
  | "CloudWatch";

interface ServiceSources {
  /** `<service>/<api-version>` under botocore's data directory. */
  botocore: string;
  /** `<id>` of `aws-sdk/apis/<id>.min.json`. */
  sdkV2: string;
  /** The SDK v3 client package. */
  sdkV3: string;
}

export const SERVICE_SOURCES: Readonly<Record<ServiceName, ServiceSources>> = {
  AutoScaling: { botocore: "autoscaling/2011-01-01", sdkV2: "autoscaling-2011-01-01", sdkV3: "@aws-sdk/client-auto-scaling" },
  EC2: { botocore: "ec2/2016-11-15", sdkV2: "ec2-2016-11-15", sdkV3: "@aws-sdk/client-ec2" },
  ELB: { botocore: "elb/2012-06-01", sdkV2: "elasticloadbalancing-2012-06-01", sdkV3: "@aws-sdk/client-elastic-load-balancing" },
  ELBv2: { botocore: "elbv2/2015-12-01", sdkV2: "elasticloadbalancingv2-2015-12-01", sdkV3: "@aws-sdk/client-elastic-load-balancing-v2" },
  DynamoDB: { botocore: "dynamodb/2012-08-10", sdkV2: "dynamodb-2012-08-10", sdkV3: "@aws-sdk/client-dynamodb" },
  SNS: { botocore: "sns/2010-03-31", sdkV2: "sns-2010-03-31", sdkV3: "@aws-sdk/client-sns" },
  EventBridge: { botocore: "events/2015-10-07", sdkV2: "eventbridge-2015-10-07", sdkV3: "@aws-sdk/client-eventbridge" },
  SFN: { botocore: "stepfunctions/2016-11-23", sdkV2: "states-2016-11-23", sdkV3: "@aws-sdk/client-sfn" },
  S3: { botocore: "s3/2006-03-01", sdkV2: "s3-2006-03-01", sdkV3: "@aws-sdk/client-s3" },
  CodeBuild: { botocore: "codebuild/2016-10-06", sdkV2: "codebuild-2016-10-06", sdkV3: "@aws-sdk/client-codebuild" },
  CloudFormation: { botocore: "cloudformation/2010-05-15", sdkV2: "cloudformation-2010-05-15", sdkV3: "@aws-sdk/client-cloudformation" },
  CloudWatch: { botocore: "cloudwatch/2010-08-01", sdkV2: "monitoring-2010-08-01", sdkV3: "@aws-sdk/client-cloudwatch" },
};

export const SERVICE_NAMES = Object.keys(SERVICE_SOURCES) as ServiceName[];

/** Debian's python3-botocore data directory (`BOTOCORE_DATA_DIR` overrides it). */
export const BOTOCORE_DATA_DIR = process.env.BOTOCORE_DATA_DIR ?? "/usr/lib/python3/dist-packages/botocore/data";

const require = createRequire(import.meta.url);
const SDK_V2_APIS_DIR = join(require.resolve("aws-sdk/package.json"), "..", "apis");

export interface SourceCheck {
  available: boolean;
  /** Why the checks that need the models are skipped (only outside CI), for the test name. */
  reason: string;
}

/**
 * Whether every model file is on this machine. In CI (`CI=true`) a missing source is an error, never a skip;
 * elsewhere the tests that need it are skipped, with the reason in their name.
 */
export function checkModelSources(): SourceCheck {
  const missing = SERVICE_NAMES.flatMap((service) => {
    const { botocore, sdkV2 } = SERVICE_SOURCES[service];
    return [join(BOTOCORE_DATA_DIR, botocore, "service-2.json"), join(SDK_V2_APIS_DIR, `${sdkV2}.min.json`)].filter((file) => !existsSync(file));
  });
  if (missing.length === 0) return { available: true, reason: "" };
  const hint = "apt-get install -y python3-botocore";
  if (process.env.CI === "true") throw new Error(`AWS service models missing, and CI=true requires them (${hint}): ${missing.join(", ")}`);
  return { available: false, reason: ` (skipped: service models missing, ${hint}: ${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ""})` };
}

// ---------------------------------------------------------------------------------------------------------------
// Model files

/** A botocore shape (the subset of fields the checks read). */
interface BotocoreShape {
  type: string;
  members?: Record<string, { shape: string }>;
  required?: string[];
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  union?: boolean;
  exception?: boolean;
  error?: { code?: string; httpStatusCode?: number };
  streaming?: boolean;
  document?: boolean;
  /** The events an operation streams (S3's SelectObjectContentEventStream). */
  eventstream?: boolean;
}

interface BotocoreModel {
  metadata: { protocol: string; serviceId: string };
  operations: Record<string, { input?: { shape: string }; errors?: { shape: string }[] }>;
  shapes: Record<string, BotocoreShape>;
}

/** An aws-sdk v2 (minified) shape: inline, or a reference (`shape`) into the model's shapes; no `type` means string. */
interface SdkV2Node {
  shape?: string;
  type?: string;
  members?: Record<string, SdkV2Node>;
  required?: string[];
  member?: SdkV2Node;
  key?: SdkV2Node;
  value?: SdkV2Node;
  streaming?: boolean;
  union?: boolean;
  document?: boolean;
}

interface SdkV2Model {
  operations: Record<string, { input?: SdkV2Node }>;
  shapes: Record<string, SdkV2Node>;
}

const botocoreCache = new Map<ServiceName, BotocoreModel>();
const sdkV2Cache = new Map<ServiceName, SdkV2Model>();
const sdkV3Cache = new Map<ServiceName, Record<string, unknown> | null>();

export function botocoreModel(service: ServiceName): BotocoreModel {
  let model = botocoreCache.get(service);
  if (!model) {
    model = JSON.parse(readFileSync(join(BOTOCORE_DATA_DIR, SERVICE_SOURCES[service].botocore, "service-2.json"), "utf8")) as BotocoreModel;
    botocoreCache.set(service, model);
  }
  return model;
}

function sdkV2Model(service: ServiceName): SdkV2Model {
  let model = sdkV2Cache.get(service);
  if (!model) {
    model = JSON.parse(readFileSync(join(SDK_V2_APIS_DIR, `${SERVICE_SOURCES[service].sdkV2}.min.json`), "utf8")) as SdkV2Model;
    sdkV2Cache.set(service, model);
  }
  return model;
}

/** The SDK v3 client module's exports, or null when the client is not installed. */
export function sdkV3Exports(service: ServiceName): Record<string, unknown> | null {
  if (!sdkV3Cache.has(service)) {
    let exports: Record<string, unknown> | null = null;
    try {
      exports = require(SERVICE_SOURCES[service].sdkV3) as Record<string, unknown>;
    } catch {
      exports = null;
    }
    sdkV3Cache.set(service, exports);
  }
  return sdkV3Cache.get(service) ?? null;
}

/** The current values of an enum shape: the SDK v3 client's exported enum object of that name, if any. */
function sdkV3EnumValues(service: ServiceName, shapeName: string): string[] | undefined {
  const exports = sdkV3Exports(service);
  for (const name of [shapeName, `_${shapeName}`]) {
    const candidate = exports?.[name];
    if (candidate && typeof candidate === "object" && !Array.isArray(candidate)) {
      const values = Object.values(candidate as Record<string, unknown>);
      if (values.length > 0 && values.every((v) => typeof v === "string")) return values as string[];
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// checkCall

export interface CallCheck {
  service: ServiceName;
  operation: string;
  /** What the service would reject (or the SDK could not serialize): `<path>: <what is wrong>`. */
  problems: string[];
  /** Where the sources disagree, or something could not be checked: `<path>: <note>`. */
  notes: string[];
}

export interface CheckCallOptions {
  /**
   * Member names may differ from the model's in the case of their first letter: Step Functions service
   * integrations write every parameter in PascalCase, even for camelCase APIs such as CodeBuild's.
   */
  pascalCaseMembers?: boolean;
}

/**
 * Checks an SDK v3 command input against the published model of `service`: the operation exists; required
 * members are present; no unknown members; types (structure, list, map, string, integer, long, float, double,
 * boolean, timestamp as Date, blob as Uint8Array); min/max, pattern and enum where botocore has them.
 */
export function checkCall(service: ServiceName, operation: string, input: unknown, options: CheckCallOptions = {}): CallCheck {
  const result: CallCheck = { service, operation, problems: [], notes: [] };
  if (!(service in SERVICE_SOURCES)) {
    result.problems.push(`unknown service "${service}"; known: ${SERVICE_NAMES.join(", ")}`);
    return result;
  }
  const v2 = sdkV2Model(service);
  const boto = botocoreModel(service);
  const v2Operation = v2.operations[operation];
  const botoOperation = boto.operations[operation];
  if (!v2Operation) {
    result.problems.push(`${service} has no operation ${operation}${botoOperation ? " (botocore 2022 has it; aws-sdk v2, newer, does not)" : ""}`);
    return result;
  }
  if (!botoOperation) result.notes.push(`${operation}: not in botocore 1.29 (December 2022), only in aws-sdk v2; constraints unchecked`);
  const context: WalkContext = { service, v2, boto, result, pascalCaseMembers: options.pascalCaseMembers ?? false };
  const v2Input: SdkV2Node = v2Operation.input ?? { type: "structure", members: {} };
  checkValue(context, onlyInSdkV3(service, operation, input ?? {}, resolveV2(v2, v2Input), result), v2Input, botoOperation?.input?.shape, "input");
  return result;
}

/**
 * The SDK v3 client is newer than both models (e.g. DeregisterImage's `DeleteAssociatedSnapshots`, 2025: in
 * @aws-sdk/client-ec2's declarations, in neither aws-sdk 2.1693's model nor botocore 1.29's). A top-level input
 * member neither model has, but the client's `<Operation>Request` declaration does, is checked against the
 * declared primitive type and noted (constraints unchecked); the rest of the input goes on to the models. The
 * newer source decides existence.
 */
function onlyInSdkV3(service: ServiceName, operation: string, input: unknown, v2Input: SdkV2Node, result: CallCheck): unknown {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  const known = new Set(Object.keys(v2Input.members ?? {}));
  const unknown = Object.keys(input).filter((key) => !known.has(key) && (input as Record<string, unknown>)[key] !== undefined);
  if (unknown.length === 0) return input;
  const declared = sdkV3RequestMembers(service, operation);
  const rest: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const key of unknown) {
    const type = declared.get(key);
    if (!type) continue; // unknown to every source: the model walk reports it
    delete rest[key];
    const value = (input as Record<string, unknown>)[key];
    const primitive = /^(boolean|string|number)\b/.exec(type)?.[1];
    if (primitive && typeof value !== primitive) result.problems.push(`input.${key}: ${describe(value)}, the SDK v3 client declares ${type}`);
    result.notes.push(`input.${key}: only in the SDK v3 client (${SERVICE_SOURCES[service].sdkV3}), not in aws-sdk v2 or botocore 2022; ${primitive ? "type checked, " : ""}constraints unchecked`);
  }
  return rest;
}

const sdkV3Declarations = new Map<string, Map<string, string>>();

/** Member -> declared type of `<Operation>Request` in the SDK v3 client's type declarations. */
function sdkV3RequestMembers(service: ServiceName, operation: string): Map<string, string> {
  const key = `${service}:${operation}`;
  const cached = sdkV3Declarations.get(key);
  if (cached) return cached;
  const members = new Map<string, string>();
  const dir = join(require.resolve(`${SERVICE_SOURCES[service].sdkV3}/package.json`), "..", "dist-types", "models");
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".d.ts"))) {
    const text = readFileSync(join(dir, file), "utf8");
    const start = text.indexOf(`export interface ${operation}Request {`);
    if (start < 0) continue;
    const body = text.slice(start, text.indexOf("\n}", start));
    for (const match of body.matchAll(/^ {4}(\w+)\??: ([^;]+);$/gm)) members.set(match[1], match[2].replace(/ \| undefined$/, ""));
    break;
  }
  sdkV3Declarations.set(key, members);
  return members;
}

interface WalkContext {
  service: ServiceName;
  v2: SdkV2Model;
  boto: BotocoreModel;
  result: CallCheck;
  pascalCaseMembers: boolean;
}

/** An aws-sdk v2 node with its reference resolved (the reference's own fields win, as in the SDK). */
function resolveV2(model: SdkV2Model, node: SdkV2Node): SdkV2Node & { type: string } {
  const target = node.shape ? { ...model.shapes[node.shape], ...node, shape: undefined } : node;
  return { ...target, type: target.type ?? "string" };
}

const NUMBER_TYPES = new Set(["integer", "long", "float", "double"]);

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a Date";
  if (value instanceof Uint8Array) return "a Uint8Array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function checkValue(context: WalkContext, value: unknown, v2Node: SdkV2Node, botoShapeName: string | undefined, path: string): void {
  const { result } = context;
  const node = resolveV2(context.v2, v2Node);
  const boto = botoShapeName ? context.boto.shapes[botoShapeName] : undefined;
  if (boto && boto.type !== node.type && !(NUMBER_TYPES.has(boto.type) && NUMBER_TYPES.has(node.type))) {
    result.notes.push(`${path}: botocore says ${boto.type}, aws-sdk v2 (used) says ${node.type}`);
  }
  const problem = (message: string) => result.problems.push(`${path}: ${message}`);
  switch (node.type) {
    case "structure": {
      if (node.document) return;
      if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Date || value instanceof Uint8Array) {
        problem(`expected a structure, got ${describe(value)}`);
        return;
      }
      const record = value as Record<string, unknown>;
      const members = node.members ?? {};
      const botoMembers = boto?.members ?? {};
      const sameButFirstCase = (a: string, b: string) => a.length === b.length && a.slice(1) === b.slice(1) && a[0].toLowerCase() === b[0].toLowerCase();
      const givenName = (member: string): string => (context.pascalCaseMembers && !(member in record) ? (Object.keys(record).find((k) => sameButFirstCase(k, member)) ?? member) : member);
      for (const required of node.required ?? []) {
        const value = record[givenName(required)];
        if (value === undefined || value === null) problem(`required member ${required} is missing`);
      }
      for (const required of boto?.required ?? []) {
        if (!(node.required ?? []).includes(required) && required in members)
          result.notes.push(`${path}.${required}: required in botocore 2022, optional in aws-sdk v2 (used)`);
      }
      const memberName = (key: string): string => {
        if (Object.prototype.hasOwnProperty.call(members, key) || !context.pascalCaseMembers) return key;
        return Object.keys(members).find((m) => sameButFirstCase(m, key)) ?? key;
      };
      const present = Object.keys(record).filter((key) => record[key] !== undefined);
      for (const given of present) {
        const key = memberName(given);
        if (!Object.prototype.hasOwnProperty.call(members, key)) {
          const allowed = Object.keys(members);
          problem(`unknown member ${key}${key in botoMembers ? " (botocore 2022 had it; aws-sdk v2, newer, does not)" : ""}; allowed: ${allowed.length ? allowed.join(", ") : "none"}`);
          continue;
        }
        const botoMember = botoMembers[key];
        if (boto && !botoMember) result.notes.push(`${path}.${key}: only in aws-sdk v2, not in botocore 2022; constraints unchecked`);
        checkValue(context, record[given], members[key], botoMember?.shape, `${path}.${given}`);
      }
      if ((node.union || boto?.union) && present.length !== 1) problem(`a union takes exactly one member, got ${present.length} (${present.join(", ") || "none"})`);
      return;
    }
    case "list": {
      if (!Array.isArray(value)) {
        problem(`expected a list, got ${describe(value)}`);
        return;
      }
      checkLength(context, value.length, boto, path, "items");
      value.forEach((item, index) => checkValue(context, item, node.member ?? {}, boto?.member?.shape, `${path}[${index}]`));
      return;
    }
    case "map": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        problem(`expected a map, got ${describe(value)}`);
        return;
      }
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      checkLength(context, entries.length, boto, path, "entries");
      for (const [key, item] of entries) {
        checkValue(context, key, node.key ?? {}, boto?.key?.shape, `${path}{key ${JSON.stringify(key)}}`);
        checkValue(context, item, node.value ?? {}, boto?.value?.shape, `${path}[${JSON.stringify(key)}]`);
      }
      return;
    }
    case "string": {
      if (typeof value !== "string") {
        problem(`expected a string, got ${describe(value)}`);
        return;
      }
      checkLength(context, [...value].length, boto, path, "characters");
      if (boto?.enum && !boto.enum.includes(value)) {
        const current = botoShapeName ? sdkV3EnumValues(context.service, botoShapeName) : undefined;
        if (current?.includes(value)) result.notes.push(`${path}: ${JSON.stringify(value)} is not in botocore 2022's enum ${botoShapeName}, but is in the SDK v3 client's (newer): accepted`);
        else problem(`${JSON.stringify(value)} is not one of ${botoShapeName}: ${(current ?? boto.enum).join(", ")}`);
      }
      if (boto?.pattern) {
        const pattern = compilePattern(boto.pattern);
        if (!pattern) result.notes.push(`${path}: pattern ${boto.pattern} does not compile as a JavaScript regular expression; unchecked`);
        else if (!pattern.test(value)) problem(`${describe(value)} does not match the pattern ${boto.pattern}`);
      }
      return;
    }
    case "integer":
    case "long":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        problem(`expected an integer, got ${describe(value)}`);
        return;
      }
      checkRange(boto, value, problem);
      return;
    case "float":
    case "double":
      if (typeof value !== "number" || !Number.isFinite(value)) {
        problem(`expected a number, got ${describe(value)}`);
        return;
      }
      checkRange(boto, value, problem);
      return;
    case "boolean":
      if (typeof value !== "boolean") problem(`expected a boolean, got ${describe(value)}`);
      return;
    case "timestamp":
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) problem(`expected a timestamp (a valid Date in SDK v3), got ${describe(value)}`);
      return;
    case "blob":
      if (value instanceof Uint8Array) {
        checkLength(context, value.byteLength, boto, path, "bytes");
        return;
      }
      if (node.streaming && typeof value === "string") return;
      problem(`expected a blob (a Uint8Array in SDK v3), got ${describe(value)}`);
      return;
    default:
      result.notes.push(`${path}: type ${node.type} is not checked`);
  }
}

function checkLength(context: WalkContext, length: number, boto: BotocoreShape | undefined, path: string, unit: string): void {
  if (boto?.min !== undefined && length < boto.min) context.result.problems.push(`${path}: ${length} ${unit}, at least ${boto.min} allowed`);
  if (boto?.max !== undefined && length > boto.max) context.result.problems.push(`${path}: ${length} ${unit}, at most ${boto.max} allowed`);
}

function checkRange(boto: BotocoreShape | undefined, value: number, problem: (message: string) => void): void {
  if (boto?.min !== undefined && value < boto.min) problem(`${value} is below the minimum ${boto.min}`);
  if (boto?.max !== undefined && value > boto.max) problem(`${value} is above the maximum ${boto.max}`);
}

const patternCache = new Map<string, RegExp | null>();

/**
 * A model pattern as a JavaScript RegExp that must match the whole value: the services apply the documented
 * patterns to the whole value (read unanchored, the common `[\u0020-...]*` would accept anything). Unicode
 * mode first (the models write astral ranges as surrogate pairs, which only compile as code points there),
 * then plain mode unless the pattern uses `\p{...}` (plain mode would read it as literal text); null when
 * neither compiles.
 */
function compilePattern(source: string): RegExp | null {
  if (!patternCache.has(source)) {
    let compiled: RegExp | null = null;
    for (const flags of /\\[pP]\{/.test(source) ? ["u"] : ["u", ""]) {
      try {
        compiled = new RegExp(`^(?:${source})$`, flags);
        break;
      } catch {
        // try the next mode
      }
    }
    patternCache.set(source, compiled);
  }
  return patternCache.get(source) ?? null;
}

// ---------------------------------------------------------------------------------------------------------------
// Error shapes

export interface ModeledError {
  /** The shape name: what SDK v3 sets as `error.name` for a modeled exception. */
  shape: string;
  /** The code on the wire (query protocols: the shape's `error.code`/awsQueryError; JSON and REST: the shape name). */
  code: string;
  /** Where it comes from. */
  source: "botocore 1.29" | "SDK v3 client";
}

const errorCache = new Map<ServiceName, ModeledError[]>();

/** The errors a service's model declares: botocore's error shapes, plus the installed SDK v3 client's exceptions. */
export function modeledErrors(service: ServiceName): ModeledError[] {
  const cached = errorCache.get(service);
  if (cached) return cached;
  const errors: ModeledError[] = [];
  for (const [shape, definition] of Object.entries(botocoreModel(service).shapes)) {
    if (definition.exception) errors.push({ shape, code: definition.error?.code ?? shape, source: "botocore 1.29" });
  }
  const exports = sdkV3Exports(service);
  const base = exports && Object.entries(exports).find(([name, value]) => name.endsWith("ServiceException") && typeof value === "function")?.[1];
  // Query protocols put the error's `error.code` on the wire; JSON and REST protocols the shape name.
  const query = ["query", "ec2"].includes(botocoreModel(service).metadata.protocol);
  if (exports && typeof base === "function") {
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value !== "function" || value === base || !(value.prototype instanceof (base as new () => unknown))) continue;
      // Newer clients export each error's schema as `<Name>$`: [kind, namespace, name, traits, ...]; for query
      // protocols the `awsQueryError` trait holds the wire code (other protocols may carry it too, unused).
      const schema = exports[`${name}$`];
      const traits = Array.isArray(schema) ? (schema[3] as { awsQueryError?: [string, number] } | undefined) : undefined;
      const code = query ? (traits?.awsQueryError?.[0] ?? errors.find((e) => e.shape === name)?.code ?? name) : name;
      if (!errors.some((e) => e.shape === name && e.code === code)) errors.push({ shape: name, code, source: "SDK v3 client" });
    }
  }
  errorCache.set(service, errors);
  return errors;
}
