/**
 * Whether an AWS error code is one a service can return, and how a caller may see it.
 *
 * With SDK v3 a modeled error's `error.name` is its shape name (`ScalingActivityInProgressFault`), while the
 * wire code, which query-protocol services also put in `error.Code`, is the shape's `error.code`
 * (`ScalingActivityInProgress`); an unmodeled code (EC2's, throttling) is `error.name` itself. So a code
 * matched by name-or-code (`hasErrorCode`, which compares `name`, `Code` and `code`) may be either; a code
 * compared with the wire code alone (`error.Code === ...`, a simulator fault, Step Functions' error names
 * for SDK integrations) must be the wire code.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { botocoreModel, modeledErrors, type ServiceName } from "./serviceModels.js";
import { editDistance } from "../../functions/lib/didYouMean.js";

/** How a code is compared: SDK v3's error.name or the wire code (`name-or-code`), the wire code, or error.name. */
export type CodeUse = "name-or-code" | "wire-code" | "name";

export interface CodeVerdict {
  code: string;
  ok: boolean;
  /** Where the code comes from, or why it is not one the services in scope return. */
  reason: string;
}

interface Ec2ErrorCodes {
  source: string;
  common: string[];
  client: string[];
  server: string[];
}

const dataFile = (name: string) => JSON.parse(readFileSync(new URL(`./data/${name}`, import.meta.url), "utf8"));

/** AWS's published "Error codes for the Amazon EC2 API" (EC2's model has no error shapes). */
export const EC2_ERROR_CODES: Ec2ErrorCodes = dataFile("ec2-error-codes.json");
/** Errors AWS documents as common to all services. */
export const COMMON_ERROR_CODES: { sources: string[]; codes: string[] } = dataFile("common-error-codes.json");

/** The retry classification of the SDK the stage functions run with (throttling and transient codes). */
const sdkRequire = createRequire(import.meta.url);
const classification = (() => {
  const client = sdkRequire.resolve("@aws-sdk/client-auto-scaling");
  const retry = sdkRequire.resolve("@smithy/middleware-retry", { paths: [client] });
  return sdkRequire(sdkRequire.resolve("@smithy/service-error-classification", { paths: [retry] })) as {
    isThrottlingError(error: object): boolean;
    isTransientError(error: object): boolean;
  };
})();

function ec2Section(code: string): string | undefined {
  for (const section of ["common", "client", "server"] as const) if (EC2_ERROR_CODES[section].includes(code)) return section;
  return undefined;
}

/** Values of botocore enums named `...ErrorCode` (per-item error codes in responses, e.g. LaunchTemplateErrorCode). */
function errorCodeEnum(service: ServiceName, code: string): string | undefined {
  for (const [name, shape] of Object.entries(botocoreModel(service).shapes)) {
    if (/ErrorCode$/.test(name) && shape.enum?.includes(code)) return name;
  }
  return undefined;
}

/** Every code known for the services, for "did you mean". */
function knownCodes(services: ServiceName[]): string[] {
  const codes = new Set<string>([...COMMON_ERROR_CODES.codes]);
  for (const service of services) {
    for (const error of modeledErrors(service)) codes.add(error.code).add(error.shape);
    if (service === "EC2") for (const code of [...EC2_ERROR_CODES.common, ...EC2_ERROR_CODES.client, ...EC2_ERROR_CODES.server]) codes.add(code);
  }
  return [...codes];
}

/**
 * Classifies `code` for the services in scope. Accepted: a modeled error's wire code; with `name-or-code`
 * also its shape name (SDK v3's error.name); for EC2 a code of AWS's published list; a code documented as
 * common to all services; a code the SDK's own retry logic classifies as throttling or transient; a value of a
 * modeled `...ErrorCode` enum (per-item errors in responses).
 */
export function classifyErrorCode(code: string, services: readonly ServiceName[], use: CodeUse): CodeVerdict {
  const mismatches: string[] = [];
  for (const service of services) {
    for (const error of modeledErrors(service)) {
      const isCode = error.code === code;
      const isShape = error.shape === code;
      if (!isCode && !isShape) continue;
      if (use === "name-or-code" || (use === "wire-code" && isCode) || (use === "name" && isShape)) {
        const how = isCode ? `wire code of the modeled error ${error.shape}` : `SDK v3 error.name of the modeled error whose wire code is ${error.code}`;
        return { code, ok: true, reason: `${service}: ${how} (${error.source})` };
      }
      mismatches.push(
        use === "wire-code"
          ? `${service}'s shape ${error.shape} goes by the wire code ${error.code} (SDK v3 sets the shape name as error.name only; error.Code and injected faults carry the wire code)`
          : `${service}'s wire code ${error.code} arrives in SDK v3 as error.name ${error.shape}`,
      );
    }
  }
  if (mismatches.length > 0) return { code, ok: false, reason: `${use === "wire-code" ? "a shape name, not a wire code" : "a wire code, not SDK v3's error.name"}: ${mismatches.join("; ")}` };
  if (services.includes("EC2")) {
    const section = ec2Section(code);
    if (section) return { code, ok: true, reason: `EC2: in AWS's published EC2 error codes (${section})` };
  }
  if (COMMON_ERROR_CODES.codes.includes(code)) return { code, ok: true, reason: "documented as common to all AWS services" };
  const probe = { name: code, $metadata: {} };
  if (classification.isThrottlingError(probe)) return { code, ok: true, reason: "a throttling code of the SDK v3 retry classification" };
  if (classification.isTransientError(probe)) return { code, ok: true, reason: "a transient code of the SDK v3 retry classification" };
  for (const service of services) {
    const enumName = errorCodeEnum(service, code);
    if (enumName) return { code, ok: true, reason: `${service}: a value of the modeled enum ${enumName} (per-item errors in responses)` };
  }
  const near = knownCodes([...services]).filter((known) => editDistance(known, code) <= 2);
  return {
    code,
    ok: false,
    reason: `no service in scope (${services.join(", ")}) returns it: not a modeled error${services.includes("EC2") ? ", not in EC2's published list" : ""}, not a common or SDK throttling/transient code${near.length ? `; did you mean ${near.join(" or ")}?` : ""}`,
  };
}
