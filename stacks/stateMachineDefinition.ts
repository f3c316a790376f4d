import type { EnvironmentSettings } from "../functions/lib/contract.js";
import { STATE } from "../functions/lib/names.js";

/** An Amazon States Language document (as much of its shape as the callers need). */
export interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, Record<string, any>>;
}

/**
 * Renders a CloudFormation intrinsic as a readable placeholder (`${LogicalId}`), a Lambda ARN as a
 * well-formed ARN naming the logical id (local ASL interpreters validate Task resources as ARNs).
 */
function renderToken(token: Record<string, any>, template: Record<string, any>): string {
  if ("Ref" in token) return token.Ref === "AWS::Partition" ? "aws" : `\${${token.Ref}}`;
  if ("Fn::GetAtt" in token) {
    const [logicalId, attribute] = token["Fn::GetAtt"] as string[];
    if (template.Resources?.[logicalId]?.Type === "AWS::Lambda::Function" && attribute === "Arn")
      return `arn:aws:lambda:us-east-1:123456789012:function:${logicalId}`;
    return `\${${logicalId}.${attribute}}`;
  }
  if ("Fn::ImportValue" in token) return `\${Import:${String(token["Fn::ImportValue"]).split(":").pop()}}`;
  throw new Error(`unexpected token in state machine definition: ${JSON.stringify(token)}`);
}

/** The state machine's ASL from a synthesized template, with CloudFormation tokens as placeholders. */
export function definitionFromTemplate(template: Record<string, any>): AslDefinition {
  const machines = Object.values<Record<string, any>>(template.Resources ?? {}).filter(
    (r) => r.Type === "AWS::StepFunctions::StateMachine",
  );
  if (machines.length !== 1) throw new Error(`expected one state machine in the template, found ${machines.length}`);
  const body = machines[0].Properties.DefinitionString;
  const text =
    typeof body === "string"
      ? body
      : (body["Fn::Join"][1] as unknown[]).map((part) => (typeof part === "string" ? part : renderToken(part as Record<string, any>, template))).join(body["Fn::Join"][0]);
  return JSON.parse(text) as AslDefinition;
}

/**
 * The deploy state machine of a stage, synthesized offline, exactly as it would be deployed. The CDK is
 * loaded only here, so importing this module (the simulator does) costs nothing until a definition is needed.
 */
export async function loadDeployDefinition(stage = "dev01"): Promise<AslDefinition> {
  const { synthesizeApp } = await import("./synthesize.js");
  const app = await synthesizeApp(stage);
  return definitionFromTemplate(app.template("Pipeline"));
}

/** A copy of the definition whose first state injects `settings` (the simulator's environment). */
export function withSettings(definition: AslDefinition, settings: EnvironmentSettings): AslDefinition {
  const copy = structuredClone(definition);
  const start = copy.States[STATE.start];
  if (!start?.Parameters) throw new Error(`state "${STATE.start}" with Parameters not found`);
  start.Parameters.settings = settings;
  return copy;
}
