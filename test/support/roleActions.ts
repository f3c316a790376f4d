/**
 * What the stage functions' IAM roles allow, read from a synthesized Pipeline template: the actions of every
 * statement of each function's role (resource scoping and conditions are pipeline.test.ts's and test/aws's).
 */
import { STAGE_FUNCTION_IDS, stageFunctionOfResource } from "../../stacks/pipeline/tables.js";

/** The IAM service prefix of each simulated service ("Service:Operation" -> "<prefix>:Operation"). */
export const IAM_PREFIX: Record<string, string> = {
  AutoScaling: "autoscaling",
  EC2: "ec2",
  ELBv2: "elasticloadbalancing",
  ELB: "elasticloadbalancing",
  DynamoDB: "dynamodb",
  SFN: "states",
  SNS: "sns",
  EventBridge: "events",
  CloudWatch: "cloudwatch",
};

type Statement = { Action: string | string[] };

/** Actions allowed to each stage function's role, by function name. */
export function allowedActions(template: Record<string, any>): Map<string, Set<string>> {
  const resources = template.Resources as Record<string, any>;
  const byRole = new Map<string, Set<string>>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== "AWS::IAM::Policy") continue;
    for (const role of resource.Properties.Roles as { Ref: string }[]) {
      const actions = byRole.get(role.Ref) ?? new Set<string>();
      for (const statement of resource.Properties.PolicyDocument.Statement as Statement[])
        for (const action of [statement.Action].flat()) actions.add(action);
      byRole.set(role.Ref, actions);
    }
  }
  const byFunction = new Map<string, Set<string>>();
  for (const id of STAGE_FUNCTION_IDS) {
    const fn = Object.entries(resources).find(([logicalId, r]) => r.Type === "AWS::Lambda::Function" && stageFunctionOfResource(logicalId) === id);
    if (!fn) throw new Error(`no Lambda for ${id}`);
    byFunction.set(id, byRole.get(fn[1].Properties.Role["Fn::GetAtt"][0]) ?? new Set());
  }
  return byFunction;
}

export function permits(allowed: Set<string>, action: string): boolean {
  return [...allowed].some((a) => a === action || (a.endsWith("*") && action.startsWith(a.slice(0, -1))));
}

/** "Service:Operation" as the IAM action that authorizes it. */
export function iamActionOf(operation: string): string {
  const [service, name] = operation.split(":");
  return `${IAM_PREFIX[service]}:${name}`;
}
