/**
 * What every validated input (execution input, stage configuration, scenario file) shares when it reports a
 * problem: the value at a field's path, a value as it appears in a message, and the fields a zod object
 * schema allows at a path (for "unknown field; allowed: ...").
 */
import { z } from "zod";

export type FieldPath = readonly (string | number)[];

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: FieldPath): unknown {
  let value: unknown = root;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** A value as it appears in messages: JSON, shortened so a huge input cannot flood an execution history. */
export function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Unwraps effects, defaults, optionals and nullables down to the schema that gives the value its shape. */
export function innerSchema(schema: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (schema instanceof z.ZodEffects) schema = schema.innerType();
    else if (schema instanceof z.ZodDefault) schema = schema._def.innerType;
    else if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) schema = schema.unwrap();
    else return schema;
  }
}

/** The field names an object schema allows at `path` (through nested objects and arrays); [] when not an object. */
export function allowedKeysAt(schema: z.ZodTypeAny, path: FieldPath): string[] {
  let current = innerSchema(schema);
  for (const key of path) {
    if (current instanceof z.ZodArray && typeof key === "number") current = innerSchema(current.element);
    else if (current instanceof z.ZodObject && typeof key === "string") current = innerSchema(current.shape[key] ?? z.never());
    else return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}
