import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { classifyErrorCode, EC2_ERROR_CODES } from "./errorCodes.js";
import { findHandledErrorCodes, type HandledCode } from "./handledErrorCodes.js";
import { checkModelSources, type ServiceName } from "./serviceModels.js";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Handled codes no service in scope can return, on the code as it is: `<file> <code>`. For the lead to
 * remove from the product code, then here; a new one fails the test, and so does a listed one that is gone.
 */
const KNOWN_FINDINGS: string[] = [];

const models = checkModelSources();

function verdicts(codes: HandledCode[]) {
  return codes.map((handled) => ({ handled, verdict: classifyErrorCode(handled.code, handled.services, handled.use) }));
}

describe.skipIf(!models.available)(`every AWS error code the stage functions handle by name is one the service returns${models.reason}`, () => {
  const scan = findHandledErrorCodes({ root });
  const results = verdicts(scan.codes);
  /** `<file> <code>` -> the full report line (with line, how it was reached, and why it is wrong). */
  const bad = new Map(
    results.filter((r) => !r.verdict.ok).map((r) => [`${r.handled.at.replace(/:\d+$/, "")} ${r.handled.code}`, `${r.handled.at} ${r.handled.code} (${r.handled.via}): ${r.verdict.reason}`]),
  );

  it("the scan finds the handled codes and resolves every argument", () => {
    expect(scan.unresolved).toEqual([]);
    // hasErrorCode literals, spread constants (IMAGE_GONE), `..._CODES` arrays and `.Code ===` comparisons.
    const vias = new Set(scan.codes.map((c) => c.via.split(" ")[0]));
    expect([...vias].sort()).toEqual([
      "CONDITION_FAILED_CODES",
      "EXECUTION_GONE_CODES",
      "GROUP_BUSY_CODES",
      "IMAGE_NOT_FOUND_CODES",
      "LAUNCH_TEMPLATE_VERSION_GONE_CODES",
      "PRIORITY_IN_USE_CODES",
      "TASK_GONE_CODES",
      "TRANSIENT_AWS_CODES",
      "hasErrorCode",
    ]);
    expect(scan.codes.find((c) => c.code === "launchTemplateVersionDoesNotExist")?.services).toContain("EC2");
    expect(scan.codes.find((c) => c.code === "InvalidSnapshot.InUse")).toMatchObject({ via: "hasErrorCode ...SNAPSHOT_IN_USE_CODES", services: ["EC2"] });
  });

  it("no handled code is unknown to its services beyond the known findings", () => {
    expect([...bad].filter(([key]) => !KNOWN_FINDINGS.includes(key)).map(([, line]) => line)).toEqual([]);
    expect(KNOWN_FINDINGS.filter((known) => !bad.has(known)), "known findings no longer found: remove them").toEqual([]);
  });

  it("scenario faults inject only wire codes the service returns", () => {
    // "NotFound" is the simulator's own fault kind: it raises each service's not-found code (simulator/errors.ts).
    const faults: { file: string; operation: string; error: string }[] = [];
    const walk = (file: string, value: unknown): void => {
      if (Array.isArray(value)) value.forEach((v) => walk(file, v));
      else if (value && typeof value === "object") {
        const o = value as Record<string, unknown>;
        if (typeof o.operation === "string" && typeof o.error === "string") faults.push({ file, operation: o.operation, error: o.error });
        Object.values(o).forEach((v) => walk(file, v));
      }
    };
    for (const file of readdirSync(path.join(root, "scenarios")).filter((f) => f.endsWith(".json")))
      walk(file, JSON.parse(readFileSync(path.join(root, "scenarios", file), "utf8")));
    const wrong = faults
      .filter((f) => f.error !== "NotFound")
      .map((f) => ({ f, verdict: classifyErrorCode(f.error, [f.operation.split(":")[0] as ServiceName], "wire-code") }))
      .filter(({ verdict }) => !verdict.ok)
      .map(({ f, verdict }) => `${f.file} ${f.operation} ${f.error}: ${verdict.reason}`);
    expect(faults.length).toBeGreaterThan(5);
    expect(wrong).toEqual([]);
  });
});

describe.skipIf(!models.available)(`seeded defects fail the error-code check${models.reason}`, () => {
  /** Scans a throwaway functions/ tree with one stage file and the real clients module. */
  function scanFixture(source: string) {
    const dir = mkdtempSync(path.join(tmpdir(), "error-codes-"));
    mkdirSync(path.join(dir, "functions/lib"), { recursive: true });
    writeFileSync(path.join(dir, "functions/lib/clients.ts"), readFileSync(path.join(root, "functions/lib/clients.ts"), "utf8"));
    writeFileSync(path.join(dir, "functions/stage.ts"), source);
    const scan = findHandledErrorCodes({ root: dir, files: [path.join(dir, "functions/stage.ts")] });
    return verdicts(scan.codes).map(({ handled, verdict }) => ({ code: handled.code, use: handled.use, ok: verdict.ok, reason: verdict.reason }));
  }

  it("a typo: InvalidAMIID.NotFund", () => {
    const found = scanFixture(`import { ec2 } from "./lib/clients.js";\nimport { hasErrorCode } from "./lib/errors.js";\nexport const gone = (e: unknown) => hasErrorCode(e, "InvalidAMIID.NotFund");\n`);
    expect(found).toEqual([{ code: "InvalidAMIID.NotFund", use: "name-or-code", ok: false, reason: expect.stringMatching(/did you mean InvalidAMIID\.NotFound\?$/) }]);
  });

  it("a shape name compared as a wire code: ScalingActivityInProgressFault", () => {
    // The model: shape ScalingActivityInProgressFault, error.code ScalingActivityInProgress. SDK v3 throws it with
    // name "ScalingActivityInProgressFault" and Code "ScalingActivityInProgress": hasErrorCode (name, Code, code)
    // matches either, a comparison with error.Code only the wire code, one with error.name only the shape name.
    const found = scanFixture(
      [
        `import { autoScaling } from "./lib/clients.js";`,
        `import { hasErrorCode } from "./lib/errors.js";`,
        `const BUSY = ["ScalingActivityInProgressFault", "ScalingActivityInProgress"] as const;`,
        `export const a = (e: any) => hasErrorCode(e, ...BUSY);`,
        `export const b = (error: any) => error.Code === "ScalingActivityInProgressFault";`,
        `export const c = (error: any) => error.Code === "ScalingActivityInProgress";`,
        `export const d = (error: any) => error.name === "ScalingActivityInProgress";`,
      ].join("\n"),
    );
    expect(found.map(({ code, use, ok }) => ({ code, use, ok }))).toEqual([
      { code: "ScalingActivityInProgressFault", use: "name-or-code", ok: true },
      { code: "ScalingActivityInProgress", use: "name-or-code", ok: true },
      { code: "ScalingActivityInProgressFault", use: "wire-code", ok: false },
      { code: "ScalingActivityInProgress", use: "wire-code", ok: true },
      { code: "ScalingActivityInProgress", use: "name", ok: false },
    ]);
    expect(found[2].reason).toMatch(/^a shape name, not a wire code: AutoScaling's shape ScalingActivityInProgressFault goes by the wire code ScalingActivityInProgress/);
  });

  it("a code of another service than the file talks to", () => {
    // ConditionalCheckFailedException is DynamoDB's; a file that only uses EC2 never sees it.
    const found = scanFixture(`import { ec2 } from "./lib/clients.js";\nimport { hasErrorCode } from "./lib/errors.js";\nexport const x = (e: unknown) => hasErrorCode(e, "ConditionalCheckFailedException");\n`);
    expect(found[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/^no service in scope \(EC2\) returns it/) });
  });

  it("the EC2 list is AWS's published one, with its source", () => {
    expect(EC2_ERROR_CODES.source).toBe("https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html");
    expect(EC2_ERROR_CODES.client).toEqual(expect.arrayContaining(["InvalidAMIID.NotFound", "InvalidSnapshot.InUse", "InvalidLaunchTemplateName.NotFoundException"]));
    expect(EC2_ERROR_CODES.server).toEqual(expect.arrayContaining(["RequestLimitExceeded", "InsufficientInstanceCapacity", "Unavailable"]));
  });
});
