import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RELEASE_LABEL_PATTERN, releaseNamePart } from "../../functions/lib/contract.js";
import { decodeS3EventKey } from "../../functions/lib/input.js";

const hash8 = (label: string) => createHash("sha256").update(label).digest("hex").slice(0, 8);

describe("release labels", () => {
  it("accept semantic versions with build metadata, and nothing outside the rule", () => {
    const accepted = ["v1", "2.4.2", "web-app-2.4.2+build.188", "1.0.0-rc.1+exp.sha.5114f85", "a".repeat(64)];
    const refused = ["", "+v1", "-v1", "v 1", "v1!", "v/1", "v1@x", "é1", "a".repeat(65)];
    expect(accepted.filter((label) => !RELEASE_LABEL_PATTERN.test(label))).toEqual([]);
    expect(refused.filter((label) => RELEASE_LABEL_PATTERN.test(label))).toEqual([]);
  });
});

describe("releaseNamePart: the one rule for a label inside a name", () => {
  it("keeps a label of name-safe characters as it is", () => {
    expect(["v1", "2.4.2", "web_app-1.0"].map(releaseNamePart)).toEqual(["v1", "2.4.2", "web_app-1.0"]);
  });

  it("replaces other characters with - and adds @ and 8 hex of the label's sha256", () => {
    expect(releaseNamePart("v2.4.2+build.188")).toBe(`v2.4.2-build.188@${hash8("v2.4.2+build.188")}`);
    expect(releaseNamePart("v2.4.2+build.188")).toBe("v2.4.2-build.188@a2e751c5");
  });

  it("never maps two labels to one name part", () => {
    // Prepare: labels that sanitize alike, and a label spelling out another's sanitized form.
    const labels = ["v1+b", "v1-b", "v1+b+", "v1-b-", "v1++b", "v1+-b", "v1-+b", "v1--b", `v1-b-${hash8("v1+b")}`, "1.0.0+1", "1.0.0-1"];
    // Act
    const parts = labels.map(releaseNamePart);
    // Assess
    expect(new Set(parts).size).toBe(labels.length);
    for (const part of parts) expect(part).toMatch(/^[A-Za-z0-9._-]+(@[0-9a-f]{8})?$/);
  });
});

describe("decodeS3EventKey (as Powertools' unquote_plus)", () => {
  it.each([
    ["releases/v2.tgz", "releases/v2.tgz"],
    ["releases/my+app.tgz", "releases/my app.tgz"],
    ["releases/2.4.2%2Bbuild.188.tgz", "releases/2.4.2+build.188.tgz"],
    ["releases%2Fv2.tgz", "releases/v2.tgz"],
    ["releases/caf%C3%A9.tgz", "releases/café.tgz"],
  ])("%s -> %s", (raw, key) => {
    expect(decodeS3EventKey(raw)).toBe(key);
  });

  it("refuses a % that is not followed by the hex of UTF-8", () => {
    expect([decodeS3EventKey("releases/v2%ZZ.tgz"), decodeS3EventKey("releases/%C3.tgz")]).toEqual([undefined, undefined]);
  });
});
