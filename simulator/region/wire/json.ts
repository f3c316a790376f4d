/**
 * The AWS JSON protocols (1.0: DynamoDB, Step Functions, CloudWatch; 1.1: EventBridge, CodeBuild), server side: the
 * operation from `X-Amz-Target: <prefix>.<Operation>`, the body read into the input with the model's types
 * (timestamps as epoch seconds -> Date, blobs as base64 -> bytes), answers written back the same way, errors
 * as `x-amzn-ErrorType` plus `{"__type", "message"}`.
 */
import { membersOf, type ServiceModel, type ShapeNode, resolveShape, shapeType } from "./models.js";

function memberKey(node: ShapeNode, memberName: string): string {
  return node.locationName ?? memberName;
}

/** One direction of the conversion between the JSON on the wire and the objects the handlers use. */
interface Direction {
  /** The key a member is read from (`source`) and written to (`target`). */
  sourceKey(member: ShapeNode, memberName: string): string;
  targetKey(member: ShapeNode, memberName: string): string;
  timestamp(value: unknown, shape: ShapeNode): unknown;
  blob(value: unknown): unknown;
}

/** Wire -> input: timestamps in epoch seconds (or ISO) to Date, base64 to bytes. */
const FROM_WIRE: Direction = {
  sourceKey: memberKey,
  targetKey: (_member, memberName) => memberName,
  timestamp: (value) => (typeof value === "number" ? new Date(value * 1000) : new Date(String(value))),
  blob: (value) => new Uint8Array(Buffer.from(String(value), "base64")),
};

/** Output -> wire: Date to epoch seconds (ISO where the model says so), bytes to base64. */
const TO_WIRE: Direction = {
  sourceKey: (_member, memberName) => memberName,
  targetKey: memberKey,
  timestamp: (value, shape) => {
    const date = value instanceof Date ? value : new Date(value as string);
    return shape.timestampFormat === "iso8601" ? date.toISOString() : date.getTime() / 1000;
  },
  blob: (value) => Buffer.from(value as Uint8Array).toString("base64"),
};

/** A structure's member, and the key it is written to. */
type MemberKey = { node: ShapeNode; targetKey: string };

/** A structure's members by the key they are read from, with the key they are written to: once per shape and direction. */
function memberKeys(shape: ShapeNode, direction: Direction): Map<string, MemberKey> {
  const cache = direction === TO_WIRE ? TO_WIRE_KEYS : FROM_WIRE_KEYS;
  let keys = cache.get(shape);
  if (!keys) {
    keys = new Map(membersOf(shape).map(([memberName, member]) => [direction.sourceKey(member, memberName), { node: member, targetKey: direction.targetKey(member, memberName) }]));
    cache.set(shape, keys);
  }
  return keys;
}
const TO_WIRE_KEYS = new WeakMap<ShapeNode, Map<string, MemberKey>>();
const FROM_WIRE_KEYS = new WeakMap<ShapeNode, Map<string, MemberKey>>();

function convert(node: ShapeNode, value: unknown, model: ServiceModel, direction: Direction): unknown {
  if (value === null || value === undefined) return undefined;
  const shape = resolveShape(model, node);
  switch (shapeType(shape)) {
    case "structure": {
      // The keys present, each looked up among the members (a history event has 3 of its 60): anything else in the
      // value never reaches the other side.
      const source = value as Record<string, unknown>;
      const members = memberKeys(shape, direction);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(source)) {
        const member = members.get(key);
        if (!member) continue;
        const converted = convert(member.node, source[key], model, direction);
        if (converted !== undefined) out[member.targetKey] = converted;
      }
      return out;
    }
    case "list":
      return (value as unknown[]).map((item) => convert(shape.member ?? {}, item, model, direction));
    case "map":
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, convert(shape.value ?? {}, item, model, direction)]),
      );
    case "timestamp":
      return direction.timestamp(value, shape);
    case "blob":
      return direction.blob(value);
    default:
      return value;
  }
}

/** The operation `X-Amz-Target` names and the body read as its input. */
export function readJsonRequest(target: string, body: string, model: ServiceModel): { operation: string; input: Record<string, unknown> } {
  const prefix = `${model.metadata.targetPrefix}.`;
  const operation = target.startsWith(prefix) ? target.slice(prefix.length) : "";
  const spec = model.operations[operation];
  if (!spec) return { operation, input: {} };
  const parsed = body ? JSON.parse(body) : {};
  const input = spec.input ? (convert(spec.input, parsed, model, FROM_WIRE) as Record<string, unknown>) : {};
  return { operation, input };
}

export function writeJsonResponse(operation: string, output: Record<string, unknown>, model: ServiceModel): string {
  const spec = model.operations[operation];
  return JSON.stringify(spec?.output ? convert(spec.output, output, model, TO_WIRE) : {});
}

/** Error fields beyond the message (DynamoDB's `Item`): written as plain JSON, bytes as base64. */
export function writeJsonError(error: { code: string; message: string; fields?: Record<string, unknown> }): string {
  const fields = JSON.parse(
    JSON.stringify(error.fields ?? {}, (_key, value) => (value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value)),
  );
  return JSON.stringify({ __type: error.code, message: error.message, ...fields });
}

/**
 * An awsQueryCompatible service (CloudWatch) also names each error by its query code and fault:
 * `x-amzn-query-error: <Code>;<Sender|Receiver>` (Smithy, `aws.protocols#awsQueryCompatible` trait), which the
 * SDK prefers to `__type` when it picks the exception class and sets `Code` and `Type` on the error.
 */
export function queryCompatibleErrorHeader(model: ServiceModel, error: { code: string; fault: "client" | "server" }): Record<string, string> {
  if (!model.metadata.awsQueryCompatible) return {};
  return { "x-amzn-query-error": `${error.code};${error.fault === "server" ? "Receiver" : "Sender"}` };
}

export function jsonContentType(model: ServiceModel): string {
  return `application/x-amz-json-${model.metadata.jsonVersion ?? "1.0"}`;
}
