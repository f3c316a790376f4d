/**
 * The AWS JSON protocols (1.0: DynamoDB, Step Functions; 1.1: EventBridge, CodeBuild), server side: the
 * operation from `X-Amz-Target: <prefix>.<Operation>`, the body read into the input with the model's types
 * (timestamps as epoch seconds -> Date, blobs as base64 -> bytes), answers written back the same way, errors
 * as `x-amzn-ErrorType` plus `{"__type", "message"}`.
 */
import { type ServiceModel, type ShapeNode, resolveShape, shapeType } from "./models.js";

function memberKey(node: ShapeNode, memberName: string): string {
  return node.locationName ?? memberName;
}

function fromJson(node: ShapeNode, value: unknown, model: ServiceModel): unknown {
  if (value === null || value === undefined) return undefined;
  const shape = resolveShape(model, node);
  switch (shapeType(shape)) {
    case "structure": {
      const source = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [memberName, member] of Object.entries(shape.members ?? {})) {
        const converted = fromJson(member, source[memberKey(member, memberName)], model);
        if (converted !== undefined) out[memberName] = converted;
      }
      return out;
    }
    case "list":
      return (value as unknown[]).map((item) => fromJson(shape.member ?? {}, item, model));
    case "map":
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, fromJson(shape.value ?? {}, item, model)]));
    case "timestamp":
      return typeof value === "number" ? new Date(value * 1000) : new Date(String(value));
    case "blob":
      return new Uint8Array(Buffer.from(String(value), "base64"));
    default:
      return value;
  }
}

function toJson(node: ShapeNode, value: unknown, model: ServiceModel): unknown {
  if (value === null || value === undefined) return undefined;
  const shape = resolveShape(model, node);
  switch (shapeType(shape)) {
    case "structure": {
      const source = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [memberName, member] of Object.entries(shape.members ?? {})) {
        const converted = toJson(member, source[memberName], model);
        if (converted !== undefined) out[memberKey(member, memberName)] = converted;
      }
      return out;
    }
    case "list":
      return (value as unknown[]).map((item) => toJson(shape.member ?? {}, item, model));
    case "map":
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, toJson(shape.value ?? {}, item, model)]));
    case "timestamp": {
      const date = value instanceof Date ? value : new Date(value as string);
      return shape.timestampFormat === "iso8601" ? date.toISOString() : date.getTime() / 1000;
    }
    case "blob":
      return Buffer.from(value as Uint8Array).toString("base64");
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
  const input = spec.input ? (fromJson(spec.input, parsed, model) as Record<string, unknown>) : {};
  return { operation, input };
}

export function writeJsonResponse(operation: string, output: Record<string, unknown>, model: ServiceModel): string {
  const spec = model.operations[operation];
  return JSON.stringify(spec?.output ? toJson(spec.output, output, model) : {});
}

/** Error fields beyond the message (DynamoDB's `Item`): written as plain JSON, bytes as base64. */
export function writeJsonError(error: { code: string; message: string; fields?: Record<string, unknown> }): string {
  const fields = JSON.parse(
    JSON.stringify(error.fields ?? {}, (_key, value) => (value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value)),
  );
  return JSON.stringify({ __type: error.code, message: error.message, ...fields });
}

export function jsonContentType(model: ServiceModel): string {
  return `application/x-amz-json-${model.metadata.jsonVersion ?? "1.0"}`;
}
