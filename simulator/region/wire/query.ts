/**
 * The AWS query protocols, server side: a form-encoded request (`Action=...&Version=...&A.member.1=...`) read
 * into the operation's input object, and the answer written as the service's XML. Two dialects, both from
 * the models (`wire/models.ts`):
 * - `query` (Auto Scaling, ELB, ELBv2, SNS): lists as `Name.member.N`, answers wrapped in
 *   `<OpResponse><OpResult>...</OpResult><ResponseMetadata>`, errors as `<ErrorResponse><Error>`;
 * - `ec2`: lists as `Name.N` with capitalized names (or `queryName`), answers as `<OpResponse><requestId>`
 *   plus the members under their `locationName` with `<item>` list entries, errors as `<Response><Errors>`.
 * The parameter names mirror aws-sdk v2's QueryParamSerializer (`lib/query/query_param_serializer.js`), which
 * builds the same names the SDK v3 sends.
 */
import { membersOf, type ServiceModel, type ShapeNode, resolveShape, shapeType } from "./models.js";

type Dialect = "query" | "ec2";

// ---- reading a request ------------------------------------------------------------------------------------

/** The name a member goes by on the wire (aws-sdk v2 Shape: xmlName, queryName, locationName, member name). */
function wireName(node: ShapeNode, memberName: string): string {
  return node.xmlName ?? node.queryName ?? node.locationName ?? memberName;
}

function requestName(node: ShapeNode, memberName: string, dialect: Dialect): string {
  const name = wireName(node, memberName);
  return dialect === "ec2" && !node.queryName ? name[0].toUpperCase() + name.slice(1) : name;
}

class Params {
  private readonly values = new Map<string, string>();
  private readonly names: string[];

  constructor(body: string) {
    for (const [key, value] of new URLSearchParams(body)) this.values.set(key, value);
    this.names = [...this.values.keys()];
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  /** Whether anything was sent under `name` (the value itself or nested parameters). */
  has(name: string): boolean {
    return this.values.has(name) || this.names.some((key) => key.startsWith(`${name}.`));
  }
}

/** A scalar member from its text form (query parameters; REST headers and query strings too, wire/rest.ts). */
export function scalarFromString(node: ShapeNode, text: string): unknown {
  switch (shapeType(node)) {
    case "integer":
    case "long":
      return Number.parseInt(text, 10);
    case "float":
    case "double":
      return Number.parseFloat(text);
    case "boolean":
      return text === "true";
    case "timestamp":
      return /^\d+(\.\d+)?$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
    case "blob":
      return new Uint8Array(Buffer.from(text, "base64"));
    default:
      return text;
  }
}

function readMember(params: Params, name: string, node: ShapeNode, model: ServiceModel, dialect: Dialect): unknown {
  const shape = resolveShape(model, node);
  switch (shapeType(shape)) {
    case "structure":
      return params.has(name) ? readStructure(params, name, shape, model, dialect) : undefined;
    case "list": {
      if (!params.has(name)) return undefined;
      if (params.get(name) === "") return [];
      const member = shape.member ?? {};
      const itemPrefix =
        dialect === "ec2" ? name : shape.flattened ? name : `${name}.${wireName(member, "member")}`;
      const items: unknown[] = [];
      for (let i = 1; params.has(`${itemPrefix}.${i}`); i++) items.push(readMember(params, `${itemPrefix}.${i}`, member, model, dialect));
      return items;
    }
    case "map": {
      if (!params.has(name)) return undefined;
      const entryPrefix = shape.flattened ? name : `${name}.entry`;
      const keyName = wireName(shape.key ?? {}, "key");
      const valueName = wireName(shape.value ?? {}, "value");
      const map: Record<string, unknown> = {};
      for (let i = 1; params.has(`${entryPrefix}.${i}`); i++) {
        const key = params.get(`${entryPrefix}.${i}.${keyName}`) ?? "";
        map[key] = readMember(params, `${entryPrefix}.${i}.${valueName}`, shape.value ?? {}, model, dialect);
      }
      return map;
    }
    default: {
      const text = params.get(name);
      return text === undefined ? undefined : scalarFromString(shape, text);
    }
  }
}

function readStructure(params: Params, prefix: string, shape: ShapeNode, model: ServiceModel, dialect: Dialect): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [memberName, member] of Object.entries(shape.members ?? {})) {
    const name = requestName(member, memberName, dialect);
    const value = readMember(params, prefix ? `${prefix}.${name}` : name, member, model, dialect);
    if (value !== undefined) out[memberName] = value;
  }
  return out;
}

/** The operation a query-protocol body names (`Action`), and its input as the SDK built it. */
export function readQueryRequest(body: string, model: ServiceModel): { operation: string; input: Record<string, unknown> } {
  const params = new Params(body);
  const operation = params.get("Action") ?? "";
  const spec = model.operations[operation];
  if (!spec) return { operation, input: {} };
  const dialect: Dialect = model.metadata.protocol === "ec2" ? "ec2" : "query";
  const input = spec.input ? readStructure(params, "", resolveShape(model, spec.input), model, dialect) : {};
  return { operation, input };
}

// ---- writing an answer ------------------------------------------------------------------------------------

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

function scalarToString(node: ShapeNode, value: unknown): string {
  if (value instanceof Date) return node.timestampFormat === "unixTimestamp" ? String(value.getTime() / 1000) : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return String(value);
}

function writeMember(name: string, node: ShapeNode, value: unknown, model: ServiceModel, dialect: Dialect): string {
  const shape = resolveShape(model, node);
  switch (shapeType(shape)) {
    case "structure":
      return `<${name}>${writeStructure(shape, value as Record<string, unknown>, model, dialect)}</${name}>`;
    case "list": {
      const member = shape.member ?? {};
      const items = value as unknown[];
      if (shape.flattened) return items.map((item) => writeMember(wireName(member, name), member, item, model, dialect)).join("");
      const itemName = member.xmlName ?? member.locationName ?? "member";
      return `<${name}>${items.map((item) => writeMember(itemName, member, item, model, dialect)).join("")}</${name}>`;
    }
    case "map": {
      const keyName = wireName(shape.key ?? {}, "key");
      const valueName = wireName(shape.value ?? {}, "value");
      const entries = Object.entries(value as Record<string, unknown>).map(
        ([key, entry]) =>
          `<${keyName}>${escapeXml(key)}</${keyName}>${writeMember(valueName, shape.value ?? {}, entry, model, dialect)}`,
      );
      return shape.flattened
        ? entries.map((entry) => `<${name}>${entry}</${name}>`).join("")
        : `<${name}>${entries.map((entry) => `<entry>${entry}</entry>`).join("")}</${name}>`;
    }
    default:
      return `<${name}>${escapeXml(scalarToString(shape, value))}</${name}>`;
  }
}

/** The members the model knows, under their wire names; anything else in `value` never reaches the wire. */
function writeStructure(shape: ShapeNode, value: Record<string, unknown>, model: ServiceModel, dialect: Dialect): string {
  let xml = "";
  for (const [memberName, member] of membersOf(shape)) {
    const memberValue = value?.[memberName];
    if (memberValue === undefined || memberValue === null) continue;
    xml += writeMember(member.xmlName ?? member.locationName ?? memberName, member, memberValue, model, dialect);
  }
  return xml;
}

/** The XML body of a successful answer. */
export function writeQueryResponse(operation: string, output: Record<string, unknown>, model: ServiceModel, requestId: string): string {
  const spec = model.operations[operation];
  const dialect: Dialect = model.metadata.protocol === "ec2" ? "ec2" : "query";
  const shape = spec?.output ? resolveShape(model, spec.output) : undefined;
  const body = shape ? writeStructure(shape, output, model, dialect) : "";
  const xmlns = dialect === "ec2" ? `${model.metadata.xmlNamespace?.replace(/\/?$/, "/")}` : model.metadata.xmlNamespace;
  const root = `${operation}Response`;
  if (dialect === "ec2") return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${xmlns}"><requestId>${requestId}</requestId>${body}</${root}>`;
  const result = shape?.resultWrapper ? `<${shape.resultWrapper}>${body}</${shape.resultWrapper}>` : "";
  return `<${root} xmlns="${xmlns}">${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${root}>`;
}

/** The XML body of an error answer, as each dialect sends it. */
export function writeQueryError(model: ServiceModel, error: { code: string; message: string; fault: "client" | "server" }, requestId: string): string {
  const message = escapeXml(error.message);
  if (model.metadata.protocol === "ec2") {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(error.code)}</Code><Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
  }
  const type = error.fault === "server" ? "Receiver" : "Sender";
  return `<ErrorResponse xmlns="${model.metadata.xmlNamespace}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
