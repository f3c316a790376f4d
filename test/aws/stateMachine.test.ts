import aslValidator from "asl-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { STATE } from "../../functions/lib/names.js";
import { STAGES } from "../../stacks/config.js";
import { type AslDefinition, loadDeployDefinition } from "../../stacks/stateMachineDefinition.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BOTOCORE_DATA_DIR, checkCall, checkModelSources, type ServiceName } from "./serviceModels.js";

/** asl-validator marks up what it validates (QueryLanguage on each state): give it a copy. */
function validate(definition: AslDefinition) {
  return aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
}

const definitions = new Map<string, AslDefinition>();
beforeAll(async () => {
  for (const stage of Object.keys(STAGES)) definitions.set(stage, await loadDeployDefinition(stage));
}, 120_000);

describe("the deploy state machine passes asl-validator", () => {
  it.each(Object.keys(STAGES))("%s", (stage) => {
    const result = validate(definitions.get(stage)!);
    expect(result.errorsText("\n")).toBe("");
    expect(result.isValid).toBe(true);
  });

  it("a seeded defect fails: a Choice whose Next names no state", () => {
    // Prepare
    const broken = structuredClone(definitions.get("dev01")!);
    const choice = broken.States[STATE.groupHealthy];
    expect(choice.Type).toBe("Choice");
    choice.Choices[0].Next = "Launch release grup";
    // Act
    const result = validate(broken);
    // Assess
    expect(result.isValid).toBe(false);
    expect(result.errorsText("\n")).toContain("Missing 'StartAt'|'Next'|'Default' target: Launch release grup");
  });
});

/** Service integrations (`arn:aws:states:::<service>:<action>[.sync]`, `...:::aws-sdk:<service>:<action>`) by service id. */
const INTEGRATION_SERVICE: Record<string, ServiceName> = {
  autoscaling: "AutoScaling",
  ec2: "EC2",
  elasticloadbalancing: "ELB",
  elasticloadbalancingv2: "ELBv2",
  dynamodb: "DynamoDB",
  sns: "SNS",
  events: "EventBridge",
  eventbridge: "EventBridge",
  sfn: "SFN",
  states: "SFN",
  s3: "S3",
  codebuild: "CodeBuild",
  cloudformation: "CloudFormation",
};

const models = checkModelSources();

/** The Lambda integration's Parameters against Lambda Invoke's request members (botocore lambda 2015-03-31). */
function lambdaInvokeProblems(state: string, parameters: Record<string, unknown>): string[] {
  const model = JSON.parse(readFileSync(join(BOTOCORE_DATA_DIR, "lambda/2015-03-31/service-2.json"), "utf8"));
  const request = model.shapes[model.operations.Invoke.input.shape];
  const given = Object.keys(parameters).map((key) => key.replace(/\.\$$/, ""));
  return [
    ...given.filter((key) => !(key in request.members)).map((key) => `${state} (Lambda:Invoke) ${key}: not a member of InvocationRequest`),
    ...(request.required as string[]).filter((key) => !given.includes(key)).map((key) => `${state} (Lambda:Invoke) ${key}: required`),
  ];
}

/** Problems of the service-integration Tasks of a definition (their Parameters against the service models). */
function integrationProblems(definition: AslDefinition): { integrations: number; problems: string[] } {
  const problems: string[] = [];
  let integrations = 0;
  for (const [name, state] of Object.entries(definition.States)) {
    const match = state.Type === "Task" && /^arn:aws:states:::(?:aws-sdk:)?([a-z0-9]+):([A-Za-z0-9]+)(?:\.[a-zA-Z]+)?$/.exec(String(state.Resource));
    if (!match) continue;
    if (match[1] === "lambda") {
      // Step Functions' Lambda integration takes Lambda Invoke's request members, the Payload as JSON (not a blob).
      integrations += 1;
      problems.push(...lambdaInvokeProblems(name, state.Parameters ?? {}));
      continue;
    }
    const service = INTEGRATION_SERVICE[match[1]];
    if (!service) {
      problems.push(`${name}: ${state.Resource} is not a service the checks know`);
      continue;
    }
    integrations += 1;
    // Values taken from the state's input at run time ("Key.$": path) are checked for presence only.
    const dynamic: string[] = [];
    const toInput = (value: unknown, path: string): unknown => {
      if (Array.isArray(value)) return value.map((v, i) => toInput(v, `${path}[${i}]`));
      if (value === null || typeof value !== "object") return value;
      return Object.fromEntries(
        Object.entries(value).map(([key, v]) => {
          if (!key.endsWith(".$")) return [key, toInput(v, `${path}.${key}`)];
          dynamic.push(`${path}.${key.slice(0, -2)}`);
          return [key.slice(0, -2), `<${String(v)}>`];
        }),
      );
    };
    const input = toInput(state.Parameters ?? {}, "input");
    const operation = match[2][0].toUpperCase() + match[2].slice(1);
    const check = checkCall(service, operation, input, { pascalCaseMembers: true });
    problems.push(...check.problems.filter((p) => !dynamic.some((d) => p.startsWith(`${d}:`))).map((p) => `${name} (${service}:${operation}) ${p}`));
  }
  return { integrations, problems };
}

describe.skipIf(!models.available)(`the state machine's service integrations send inputs the service models accept${models.reason}`, () => {
  it.each(Object.keys(STAGES))("%s", (stage) => {
    const { integrations, problems } = integrationProblems(definitions.get(stage)!);
    expect(integrations).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it("a seeded defect fails: a misspelt Lambda integration parameter (the lock's hand-over task)", () => {
    const broken = structuredClone(definitions.get("dev01")!);
    const wait = broken.States[STATE.waitForLock];
    wait.Parameters.Paylod = wait.Parameters.Payload;
    delete wait.Parameters.Payload;
    delete wait.Parameters.FunctionName;
    expect(integrationProblems(broken).problems).toEqual([
      `${STATE.waitForLock} (Lambda:Invoke) Paylod: not a member of InvocationRequest`,
      `${STATE.waitForLock} (Lambda:Invoke) FunctionName: required`,
    ]);
  });

  it("a seeded defect fails: a misspelt CodeBuild parameter and a bad enum value", () => {
    // Prepare
    const broken = structuredClone(definitions.get("dev01")!);
    const bake = broken.States[STATE.bake];
    bake.Parameters.ProjectNam = bake.Parameters.ProjectName;
    delete bake.Parameters.ProjectName;
    bake.Parameters.EnvironmentVariablesOverride[0].Type = "PLAIN_TEXT";
    // Act
    const { problems } = integrationProblems(broken);
    // Assess
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        "Bake release image (CodeBuild:StartBuild) input: required member projectName is missing",
        expect.stringMatching(/^Bake release image \(CodeBuild:StartBuild\) input: unknown member ProjectNam; allowed: projectName, /),
        expect.stringMatching(/^Bake release image \(CodeBuild:StartBuild\) input\.EnvironmentVariablesOverride\[0\]\.Type: "PLAIN_TEXT" is not one of EnvironmentVariableType: .*\bPLAINTEXT\b/),
      ]),
    );
  });
});
