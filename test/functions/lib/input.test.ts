import { describe, expect, it } from "vitest";
import { InvalidDeployInputError } from "../../../functions/lib/errors.js";
import { AMI_ID_PATTERN, BUCKET_NAME_PATTERN, decodeS3EventKey, isS3EventShape, parseDeployInput } from "../../../functions/lib/input.js";
import { ERROR } from "../../../functions/lib/names.js";
import { s3ObjectCreatedEvent } from "../controlFixtures.js";

const IMAGE = "ami-0123456789abcdef0";
const BASE = "ami-01234567";
const ARTIFACT = { bucket: "shop-artifacts", key: "releases/v2.tgz" };
const KEY_RULE = 'is not a release artifact key; allowed: a key under "releases/" ending in ".tgz" (at most 1024 characters)';
const LABEL_RULE = '1-64 letters, digits, ".", "_", "-", "+", starting with a letter or digit';
const NOT_AN_OBJECT =
  'is not an object; allowed: an EventBridge S3 "Object Created" event, or {"artifact": {"bucket", "key"}} or {"imageId": "ami-..."} with optional baseImageId, rebuildBase, keepImages, release';

/** The whole message parseDeployInput throws for `input` (it must throw InvalidDeployInput). */
function problem(input: unknown): string {
  try {
    parseDeployInput(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDeployInputError);
    expect((error as Error).name).toBe(ERROR.invalidInput);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(input)} was accepted`);
}

describe("patterns", () => {
  it("an AMI id is ami- and 8 or 17 lower-case hex digits, nothing around it", () => {
    for (const id of [IMAGE, BASE]) expect(AMI_ID_PATTERN.test(id), id).toBe(true);
    for (const id of ["ami-0", "ami-0123456", "ami-012345678", "ami-zzzzzzzz", "ami-0123456789ABCDEF0", "xami-01234567", "ami-01234567x", " ami-01234567"]) {
      expect(AMI_ID_PATTERN.test(id), id).toBe(false);
    }
  });

  it("an S3 bucket name is 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit", () => {
    for (const name of ["abc", "shop-artifacts", "a.b-c", "a".repeat(63)]) expect(BUCKET_NAME_PATTERN.test(name), name).toBe(true);
    for (const name of ["ab", "a".repeat(64), "shop-", "-shop", "shop-artifacts_", "Shop", "_shop"]) expect(BUCKET_NAME_PATTERN.test(name), name).toBe(false);
  });

  it("decodes an S3 event's key as S3 encodes it, undefined for a bad escape", () => {
    expect(decodeS3EventKey("releases/my+app%21.tgz")).toBe("releases/my app!.tgz");
    expect(decodeS3EventKey("releases/caf%C3%A9.tgz")).toBe("releases/café.tgz");
    expect(decodeS3EventKey("releases/%E0%A4%A.tgz")).toBeUndefined();
    expect(decodeS3EventKey("releases/100%.tgz")).toBeUndefined();
  });

  it("an input with source, detail-type or detail is an S3 event", () => {
    expect(isS3EventShape({ source: "x" })).toBe(true);
    expect(isS3EventShape({ "detail-type": "x" })).toBe(true);
    expect(isS3EventShape({ detail: {} })).toBe(true);
    expect(isS3EventShape({ artifact: {} })).toBe(false);
    expect(isS3EventShape({})).toBe(false);
  });
});

describe("the manual input", () => {
  it("an artifact: its release is the file name; defaults for the rest, and nothing else", () => {
    expect(parseDeployInput({ artifact: ARTIFACT })).toStrictEqual({
      source: "manual",
      artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" },
      rebuildBase: false,
      keepImages: false,
      release: "v2",
    });
  });

  it("an image: no release until Prepare reads the image's tag", () => {
    expect(parseDeployInput({ imageId: IMAGE, keepImages: true })).toStrictEqual({
      source: "manual",
      imageId: IMAGE,
      rebuildBase: false,
      keepImages: true,
      release: undefined,
    });
  });

  it("every field given", () => {
    expect(parseDeployInput({ artifact: { ...ARTIFACT, versionId: "v-1" }, baseImageId: BASE, keepImages: false, release: "2026.1+b" })).toStrictEqual({
      source: "manual",
      artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz", versionId: "v-1" },
      baseImageId: BASE,
      rebuildBase: false,
      keepImages: false,
      release: "2026.1+b",
    });
    expect(parseDeployInput({ artifact: ARTIFACT, rebuildBase: true })).toMatchObject({ rebuildBase: true });
  });

  it.each<[string, unknown, string]>([
    ["not an object", "releases/v2.tgz", `input: "releases/v2.tgz" ${NOT_AN_OBJECT}`],
    ["null", null, `input: null ${NOT_AN_OBJECT}`],
    ["a list", [ARTIFACT], `input: [{"bucket":"shop-artifacts","key":"releases/v2.tgz"}] ${NOT_AN_OBJECT}`],
    ["neither", { release: "v2" }, 'input: neither "artifact" nor "imageId" given; allowed: exactly one of them'],
    ["both", { artifact: ARTIFACT, imageId: IMAGE }, 'input: both "artifact" and "imageId" given; allowed: exactly one of them (an image is deployed without a bake)'],
    [
      "baseImageId with imageId",
      { imageId: IMAGE, baseImageId: BASE },
      `baseImageId: "${BASE}" given with "imageId"; allowed: only with "artifact" (it selects the base image to bake on)`,
    ],
    ["rebuildBase with imageId", { imageId: IMAGE, rebuildBase: true }, 'rebuildBase: true given with "imageId"; allowed: only with "artifact" (nothing is baked)'],
    [
      "rebuildBase with baseImageId",
      { artifact: ARTIFACT, baseImageId: BASE, rebuildBase: true },
      `rebuildBase: true given with baseImageId "${BASE}"; allowed: one of them (rebuild the base, or bake on the given one)`,
    ],
    ["unknown fields", { imageId: IMAGE, keepImage: true, colour: 1 }, 'keepImage: unknown field (did you mean "keepImages"?); allowed: artifact, imageId, baseImageId, rebuildBase, keepImages, release | colour: unknown field; allowed: artifact, imageId, baseImageId, rebuildBase, keepImages, release'],
    ["an unknown artifact field", { artifact: { ...ARTIFACT, version: "1" } }, 'artifact.version: unknown field (did you mean "versionId"?); allowed: bucket, key, versionId'],
    ["a null field", { imageId: null }, "imageId: null is null; allowed: a string"],
    ["a string for an object", { artifact: "releases/v2.tgz" }, 'artifact: "releases/v2.tgz" is a string; allowed: an object'],
    ["a number for true or false", { imageId: IMAGE, keepImages: 1 }, "keepImages: 1 is a number; allowed: true or false"],
    ["a missing field", { artifact: { key: "releases/v2.tgz" } }, "artifact.bucket: (missing); required: a string"],
    ["a bad AMI id", { imageId: "ami-xyz" }, 'imageId: "ami-xyz" is not an AMI id; allowed: "ami-" followed by 8 or 17 lower-case hex digits'],
    ["a bad bucket", { artifact: { ...ARTIFACT, bucket: "Shop_Artifacts" } }, 'artifact.bucket: "Shop_Artifacts" is not an S3 bucket name; allowed: 3-63 lower-case letters, digits, dots and hyphens'],
    ["a key outside the prefix", { artifact: { ...ARTIFACT, key: "uploads/v2.tgz" } }, `artifact.key: "uploads/v2.tgz" ${KEY_RULE}`],
    ["an empty version id", { artifact: { ...ARTIFACT, versionId: "" } }, 'artifact.versionId: "" is not an S3 version id; allowed: a non-empty string of at most 1024 characters'],
    ["a bad release label", { artifact: ARTIFACT, release: "v 2!" }, `release: "v 2!" is not a release label; allowed: ${LABEL_RULE}`],
    [
      "a file name that is no release label",
      { artifact: { ...ARTIFACT, key: "releases/my app.tgz" } },
      `artifact.key: "releases/my app.tgz" gives release label "my app", which is not a release label; allowed: a file name (before ".tgz") of ${LABEL_RULE}, or give "release" explicitly`,
    ],
    [
      "several problems",
      { imageId: "ami-1", keepImages: "no" },
      'imageId: "ami-1" is not an AMI id; allowed: "ami-" followed by 8 or 17 lower-case hex digits | keepImages: "no" is a string; allowed: true or false',
    ],
  ])("refuses %s, naming field, value and what is allowed", (_, input, message) => {
    expect(problem(input)).toBe(message);
  });
});

describe("the S3 event", () => {
  it("takes the decoded key, the etag, the version id and the sequencer", () => {
    expect(parseDeployInput(s3ObjectCreatedEvent({ key: "releases/v2%2Brc1.tgz", versionId: "v-7" }))).toStrictEqual({
      source: "s3-event",
      artifact: { bucket: "shop-artifacts", key: "releases/v2+rc1.tgz", etag: "b1946ac92492d2347c6235b4d2611184", versionId: "v-7", sequencer: "00617F08299329D189" },
      rebuildBase: false,
      keepImages: false,
      release: "v2+rc1",
    });
  });

  it("leaves out a version id and a sequencer the event does not have", () => {
    const event = s3ObjectCreatedEvent({ key: "releases/v3.tgz" });
    (event.detail.object as { sequencer?: unknown }).sequencer = 17;

    expect(parseDeployInput(event)).toStrictEqual({
      source: "s3-event",
      artifact: { bucket: "shop-artifacts", key: "releases/v3.tgz", etag: "b1946ac92492d2347c6235b4d2611184" },
      rebuildBase: false,
      keepImages: false,
      release: "v3",
    });
  });

  it.each<[string, unknown, string]>([
    ["only a source", { source: "aws.s3" }, "detail-type: (missing); required: a string | detail: (missing); required: an object"],
    ["only a detail-type", { "detail-type": "Object Created" }, "source: (missing); required: a string | detail: (missing); required: an object"],
    ["only a detail", { detail: {} }, "source: (missing); required: a string | detail-type: (missing); required: a string | detail.bucket: (missing); required: an object | detail.object: (missing); required: an object"],
    ["another source", { ...s3ObjectCreatedEvent({ key: "releases/v2.tgz" }), source: "aws.ec2" }, 'source: "aws.ec2" is not an S3 event source; allowed: "aws.s3"'],
    ["a bad bucket", s3ObjectCreatedEvent({ bucket: "Shop_Artifacts", key: "releases/v2.tgz" }), 'detail.bucket.name: "Shop_Artifacts" is not an S3 bucket name; allowed: 3-63 lower-case letters, digits, dots and hyphens'],
    ["an empty etag", s3ObjectCreatedEvent({ key: "releases/v2.tgz", etag: "" }), `detail.object.etag: "" is empty; allowed: the object's ETag`],
    ["a key outside the prefix", s3ObjectCreatedEvent({ key: "tmp/v2.tgz" }), `detail.object.key: "tmp/v2.tgz" ${KEY_RULE}`],
    ["an encoded key outside the prefix", s3ObjectCreatedEvent({ key: "tmp/v%212.tgz" }), `detail.object.key: "tmp/v%212.tgz" (URL-decoded: "tmp/v!2.tgz") ${KEY_RULE}`],
    [
      "a bad escape",
      s3ObjectCreatedEvent({ key: "releases/100%.tgz" }),
      'detail.object.key: "releases/100%.tgz" is not a URL-encoded S3 key; allowed: the key as S3 event notifications encode it ("+" for a space, "%" and two hex digits of UTF-8 for other characters)',
    ],
    [
      "a file name that is no release label",
      s3ObjectCreatedEvent({ key: "releases/v2%21.tgz" }),
      `detail.object.key: "releases/v2%21.tgz" (URL-decoded: "releases/v2!.tgz") gives release label "v2!", which is not a release label; allowed: a file name (before ".tgz") of ${LABEL_RULE}`,
    ],
  ])("refuses %s", (_, input, message) => {
    expect(problem(input)).toBe(message);
  });
});
