import { z } from "zod";
import { type ArtifactRef, isArtifactKey, RELEASE_LABEL_PATTERN, RELEASE_LABEL_RULE, releaseFromArtifactKey } from "./contract.js";
import { InvalidDeployInputError } from "./errors.js";
import { DEFAULTS } from "./names.js";
import { allowedErrorMap, allowedKeysAt, didYouMean, show, valueAt } from "./validation.js";

/**
 * The two execution-input shapes of docs/design.md ("Execution input"), validated with zod. Every problem becomes
 * one line naming the field path, the value received and what is allowed, thrown as `InvalidDeployInput`.
 * Pure: no AWS calls (Prepare checks the named images afterwards).
 */

export const AMI_ID_PATTERN = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** S3 bucket naming rules (lower case, digits, dots, hyphens; 3-63 characters). */
export const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const ALLOWED = {
  ami: 'is not an AMI id; allowed: "ami-" followed by 8 or 17 lower-case hex digits',
  release: `is not a release label; allowed: ${RELEASE_LABEL_RULE}`,
  bucket: "is not an S3 bucket name; allowed: 3-63 lower-case letters, digits, dots and hyphens",
  key: `is not a release artifact key; allowed: a key under "${DEFAULTS.artifactPrefix}" ending in "${DEFAULTS.artifactSuffix}" (at most 1024 characters)`,
  versionId: "is not an S3 version id; allowed: a non-empty string of at most 1024 characters",
  source: 'is not an S3 event source; allowed: "aws.s3"',
  detailType: 'is not a supported event; allowed: "Object Created"',
} as const;

/**
 * S3 event notifications URL-encode object keys (a space arrives as "+", other characters as %XX). Decoded as
 * AWS's Powertools does (Python's unquote_plus: "+" to space, then %XX as UTF-8); undefined when a "%" is not
 * followed by the hex of valid UTF-8 (unquote_plus would guess; a deploy refuses).
 */
export function decodeS3EventKey(key: string): string | undefined {
  try {
    return decodeURIComponent(key.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** `"<raw>"`, or `"<raw>" (URL-decoded: "<key>")` when decoding changed it. */
const asReceived = (raw: string, key: string) => (raw === key ? show(raw) : `${show(raw)} (URL-decoded: ${show(key)})`);

const amiId = z.string().regex(AMI_ID_PATTERN, ALLOWED.ami);
const releaseLabel = z.string().regex(RELEASE_LABEL_PATTERN, ALLOWED.release);
const bucketName = z.string().regex(BUCKET_NAME_PATTERN, ALLOWED.bucket);
const artifactKey = z.string().refine(isArtifactKey, ALLOWED.key);
/** An S3 event's key: URL-decoded, then the same rule as a given key; the message shows both forms. */
const s3EventKey = z.string().transform((raw, ctx) => {
  const key = decodeS3EventKey(raw);
  const fail = (message: string) => {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message, params: { complete: true } });
    return z.NEVER;
  };
  if (key === undefined) {
    return fail(`detail.object.key: ${show(raw)} is not a URL-encoded S3 key; allowed: the key as S3 event notifications encode it ("+" for a space, "%" and two hex digits of UTF-8 for other characters)`);
  }
  if (!isArtifactKey(key)) return fail(`detail.object.key: ${asReceived(raw, key)} ${ALLOWED.key}`);
  return key;
});
const versionId = z.string().min(1, ALLOWED.versionId).max(1024, ALLOWED.versionId);

/** An S3 `Object Created` event as EventBridge delivers it; envelope fields we don't use may vary, so pass them. */
const s3EventSchema = z
  .object({
    source: z.string().refine((v) => v === "aws.s3", ALLOWED.source),
    "detail-type": z.string().refine((v) => v === "Object Created", ALLOWED.detailType),
    detail: z
      .object({
        bucket: z.object({ name: bucketName }).passthrough(),
        object: z
          .object({
            key: s3EventKey,
            etag: z.string().min(1, "is empty; allowed: the object's ETag"),
            "version-id": versionId.optional(),
          })
          .passthrough(),
      })
      .passthrough(),
  })
  .passthrough();

/** The manual input of `aws stepfunctions start-execution`: unknown keys are typos, so they are rejected. */
const manualInputSchema = z
  .object({
    artifact: z.object({ bucket: bucketName, key: artifactKey, versionId: versionId.optional() }).strict().optional(),
    imageId: amiId.optional(),
    baseImageId: amiId.optional(),
    rebuildBase: z.boolean().optional(),
    keepImages: z.boolean().optional(),
    release: releaseLabel.optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const complete = (message: string, path: string[] = []) =>
      ctx.addIssue({ code: z.ZodIssueCode.custom, path, message, params: { complete: true } });
    if (input.artifact === undefined && input.imageId === undefined) {
      complete('input: neither "artifact" nor "imageId" given; allowed: exactly one of them');
    }
    if (input.artifact !== undefined && input.imageId !== undefined) {
      complete('input: both "artifact" and "imageId" given; allowed: exactly one of them (an image is deployed without a bake)');
    }
    if (input.imageId !== undefined && input.baseImageId !== undefined) {
      complete(`baseImageId: ${show(input.baseImageId)} given with "imageId"; allowed: only with "artifact" (it selects the base image to bake on)`, ["baseImageId"]);
    }
    if (input.imageId !== undefined && input.rebuildBase === true) {
      complete('rebuildBase: true given with "imageId"; allowed: only with "artifact" (nothing is baked)', ["rebuildBase"]);
    }
    if (input.baseImageId !== undefined && input.rebuildBase === true) {
      complete(`rebuildBase: true given with baseImageId ${show(input.baseImageId)}; allowed: one of them (rebuild the base, or bake on the given one)`, ["rebuildBase"]);
    }
  });

/** What the execution asks for, whichever shape it came in. */
export interface DeployRequest {
  source: "s3-event" | "manual";
  artifact?: ArtifactRef;
  imageId?: string;
  baseImageId?: string;
  rebuildBase: boolean;
  keepImages: boolean;
  /** Given, or derived from the artifact key; absent for an image-only input (Prepare reads the image's tag). */
  release?: string;
}

export function isS3EventShape(input: Record<string, unknown>): boolean {
  return "source" in input || "detail-type" in input || "detail" in input;
}

/** Validates either input shape; throws `InvalidDeployInputError` listing every problem found. */
export function parseDeployInput(input: unknown): DeployRequest {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new InvalidDeployInputError(
      `input: ${show(input)} is not an object; allowed: an EventBridge S3 "Object Created" event, or {"artifact": {"bucket", "key"}} or {"imageId": "ami-..."} with optional baseImageId, rebuildBase, keepImages, release`,
    );
  }
  const record = input as Record<string, unknown>;
  return isS3EventShape(record) ? parseS3Event(record) : parseManualInput(record);
}

/** An S3 event: its key arrives URL-encoded, and the bake gets the decoded key, as S3 stores it. */
function parseS3Event(input: Record<string, unknown>): DeployRequest {
  const result = s3EventSchema.safeParse(input, { errorMap: allowedErrorMap });
  if (!result.success) throw invalidInput(result.error, input);
  const { bucket, object } = result.data.detail;
  const raw = String(valueAt(input, ["detail", "object", "key"]));
  return {
    source: "s3-event",
    artifact: {
      bucket: bucket.name,
      key: object.key,
      etag: object.etag,
      ...(object["version-id"] !== undefined && { versionId: object["version-id"] }),
      ...(typeof object.sequencer === "string" && { sequencer: object.sequencer }),
    },
    rebuildBase: false,
    keepImages: false,
    release: derivedRelease(object.key, "detail.object.key", raw),
  };
}

function parseManualInput(input: Record<string, unknown>): DeployRequest {
  const result = manualInputSchema.safeParse(input, { errorMap: allowedErrorMap });
  if (!result.success) throw invalidInput(result.error, input);
  const parsed = result.data;
  const artifact = parsed.artifact && {
    bucket: parsed.artifact.bucket,
    key: parsed.artifact.key,
    ...(parsed.artifact.versionId !== undefined && { versionId: parsed.artifact.versionId }),
  };
  return {
    source: "manual",
    ...(artifact && { artifact }),
    ...(parsed.imageId !== undefined && { imageId: parsed.imageId }),
    ...(parsed.baseImageId !== undefined && { baseImageId: parsed.baseImageId }),
    rebuildBase: parsed.rebuildBase ?? false,
    keepImages: parsed.keepImages ?? false,
    release: parsed.release ?? (artifact ? derivedRelease(artifact.key, "artifact.key") : undefined),
  };
}

function derivedRelease(key: string, field: string, raw = key): string {
  const release = releaseFromArtifactKey(key);
  if (!RELEASE_LABEL_PATTERN.test(release)) {
    throw new InvalidDeployInputError(
      `${field}: ${asReceived(raw, key)} gives release label ${show(release)}, which is not a release label; allowed: a file name (before "${DEFAULTS.artifactSuffix}") of ${RELEASE_LABEL_RULE}${field === "artifact.key" ? ', or give "release" explicitly' : ""}`,
    );
  }
  return release;
}

const EXPECTED_TYPE: Record<string, string> = {
  string: "a string",
  boolean: "true or false",
  object: "an object",
  number: "a number",
};

function describeIssue(issue: z.ZodIssue, input: unknown): string {
  const field = issue.path.length > 0 ? issue.path.join(".") : "input";
  const value = valueAt(input, issue.path);
  if (issue.code === z.ZodIssueCode.custom && issue.params?.complete) return issue.message;
  if (issue.code === z.ZodIssueCode.unrecognized_keys) {
    const prefix = issue.path.length > 0 ? `${field}.` : "";
    const allowed = allowedKeysAt(manualInputSchema, issue.path);
    return issue.keys.map((key) => `${prefix}${key}: unknown field${didYouMean(key, allowed)}; allowed: ${allowed.join(", ")}`).join(" | ");
  }
  if (issue.code === z.ZodIssueCode.invalid_type) {
    const expected = EXPECTED_TYPE[issue.expected] ?? issue.expected;
    if (value === undefined) return `${field}: (missing); required: ${expected}`;
    return `${field}: ${show(value)} is ${issue.received === "null" ? "null" : `a ${issue.received}`}; allowed: ${expected}`;
  }
  return `${field}: ${show(value)} ${issue.message}`;
}

function invalidInput(error: z.ZodError, input: unknown): InvalidDeployInputError {
  return new InvalidDeployInputError(error.issues.map((issue) => describeIssue(issue, input)).join(" | "));
}
