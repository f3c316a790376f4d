/**
 * The AWS REST-XML protocol (S3), server side, from the model's HTTP bindings: the operation found by method and
 * `requestUri` template (S3's `x-id` query parameter, which the SDK adds where paths are shared, decides first),
 * members read from the URI (`location: "uri"`, greedy `{Key+}`), headers, the query string and the payload;
 * answers written back the same way. S3's virtual-hosted-style requests carry the bucket in the host name
 * (`<bucket>.s3.<region>.amazonaws.com`), which the `{Bucket}` label then takes.
 *
 * What the region answers over S3 today (PutObject, HeadObject) binds only headers and a blob payload; a
 * structured XML body in either direction throws, so an operation that needs one shows up instead of passing
 * with a wrong answer.
 */
import type { HttpRequest } from "@smithy/types";
import { escapeXml, scalarFromString } from "./query.js";
import { type ServiceModel, resolveShape, shapeType } from "./models.js";

interface HttpBinding {
  method: string;
  requestUri: string;
}

type Operation = ServiceModel["operations"][string] & { http?: HttpBinding };

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

/** The request's path segments, decoded, with the bucket of a virtual-hosted-style host name in front. */
function pathSegments(request: HttpRequest, model: ServiceModel): string[] {
  const segments = request.path.split("/").slice(1).map(decodeURIComponent);
  const host = request.hostname ?? "";
  const bucket = host.match(/^(.+)\.s3[.-]/)?.[1];
  return model.metadata.serviceId === "S3" && bucket ? [bucket, ...segments] : segments;
}

/** Matches the request against one `requestUri` template; the URI labels it binds, or undefined. */
function matchUri(template: string, segments: string[], query: Record<string, unknown>): Record<string, string> | undefined {
  const [pathPart, queryPart] = template.split("?");
  const parts = pathPart.split("/").slice(1).filter((part, i, all) => part !== "" || i < all.length - 1);
  const labels: Record<string, string> = {};
  let i = 0;
  for (const part of parts) {
    const label = part.match(/^\{(\w+)(\+?)\}$/);
    if (label?.[2]) {
      if (i >= segments.length) return undefined;
      labels[label[1]] = segments.slice(i).join("/");
      i = segments.length;
    } else if (label) {
      if (segments[i] === undefined || segments[i] === "") return undefined;
      labels[label[1]] = segments[i++];
    } else if (segments[i++] !== part) return undefined;
  }
  const rest = segments.slice(i).filter((segment) => segment !== "");
  if (rest.length > 0) return undefined;
  // Literal query keys (`?uploads`, `?tagging`) must be there.
  for (const literal of (queryPart ?? "").split("&").filter(Boolean)) if (!(literal.split("=")[0] in query)) return undefined;
  return labels;
}

/** The operation a REST-XML request addresses and its input as the SDK built it. */
export function readRestRequest(request: HttpRequest, body: Uint8Array, model: ServiceModel): { operation: string; input: Record<string, unknown> } {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const segments = pathSegments(request, model);
  const operations = Object.entries(model.operations as Record<string, Operation>);
  const byId = typeof query["x-id"] === "string" ? operations.filter(([name]) => name === query["x-id"]) : [];
  const candidates = (byId.length > 0 ? byId : operations).filter(([, spec]) => spec.http?.method === request.method);
  // A template with literal query keys is more specific than one without.
  candidates.sort(([, a], [, b]) => Number((b.http?.requestUri ?? "").includes("?")) - Number((a.http?.requestUri ?? "").includes("?")));
  for (const [operation, spec] of candidates) {
    const labels = matchUri(spec.http?.requestUri ?? "", segments, query);
    if (!labels) continue;
    const input: Record<string, unknown> = {};
    const shape = spec.input ? resolveShape(model, spec.input) : { members: {} };
    const payload = (shape as { payload?: string }).payload;
    for (const [memberName, member] of Object.entries(shape.members ?? {})) {
      const target = resolveShape(model, member);
      const name = member.locationName ?? memberName;
      const location = (member as { location?: string }).location;
      let value: unknown;
      if (location === "uri") value = labels[name];
      else if (location === "querystring") value = typeof query[name] === "string" ? scalarFromString(target, query[name] as string) : undefined;
      else if (location === "header") {
        const text = headerValue(request.headers, name);
        value = text === undefined ? undefined : scalarFromString(target, text);
      } else if (location === "headers") {
        const prefix = name.toLowerCase();
        const entries = Object.entries(request.headers).filter(([key]) => key.toLowerCase().startsWith(prefix));
        value = entries.length > 0 ? Object.fromEntries(entries.map(([key, text]) => [key.slice(prefix.length), text])) : undefined;
      } else if (memberName === payload) {
        if (shapeType(target) !== "blob") throw new Error(`the simulated region does not read ${operation}'s XML request body`);
        value = body;
      }
      if (value !== undefined) input[memberName] = value;
    }
    return { operation, input };
  }
  return { operation: "", input: {} };
}

/** HTTP dates in headers (RFC 7231), as S3 writes `Last-Modified`. */
function headerText(value: unknown): string {
  if (value instanceof Date) return value.toUTCString();
  return String(value);
}

/** A successful answer: the output's header members as headers; a structured body is not written (see the module). */
export function writeRestResponse(operation: string, output: Record<string, unknown>, model: ServiceModel): { headers: Record<string, string>; body: string } {
  const spec = model.operations[operation] as Operation | undefined;
  const shape = spec?.output ? resolveShape(model, spec.output) : { members: {} };
  const headers: Record<string, string> = {};
  for (const [memberName, member] of Object.entries(shape.members ?? {})) {
    const value = output[memberName];
    if (value === undefined || value === null) continue;
    const location = (member as { location?: string }).location;
    if (location === "header") headers[(member.locationName ?? memberName).toLowerCase()] = headerText(value);
    else if (location !== "statusCode") throw new Error(`the simulated region does not write ${operation}'s ${memberName} into an XML answer body`);
  }
  return { headers, body: "" };
}

/** An error answer as S3 writes it (`<Error><Code>`); HEAD answers carry no body, the SDK reads the status. */
export function writeRestError(error: { code: string; message: string }, requestId: string, method: string): string {
  if (method === "HEAD") return "";
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message><RequestId>${requestId}</RequestId></Error>`;
}
