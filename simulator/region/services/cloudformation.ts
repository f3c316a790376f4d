import type { DescribeStacksCommandInput, DescribeStacksCommandOutput, Output as StackOutput } from "@aws-sdk/client-cloudformation";
import { type OperationHandlers, type Output, type RegionContext } from "../context.js";
import { awsError } from "../errors.js";

/** A deployed stack as DescribeStacks reports it (only what the region keeps). */
export interface SimStack {
  stackName: string;
  stackId: string;
  createdMs: number;
  outputs: StackOutput[];
}

/**
 * Physical values of a stack's resources by construct id (the logical id without CDK's 8-hex hash): `Artifacts`
 * -> the bucket name, `LoadBalancer.DNSName` -> a `Fn::GetAtt` attribute.
 */
export type PhysicalValues = Record<string, string>;

/**
 * CloudFormation as the CLI meets it: DescribeStacks answers with the outputs of the stacks `putStack`
 * deployed. `outputsOfTemplate` computes those outputs from a synthesized template, resolving its intrinsics
 * against the simulated resources, so the keys are exactly what `sst deploy` would create.
 */
export class CloudFormationService {
  readonly stacks = new Map<string, SimStack>();

  constructor(private readonly ctx: RegionContext) {}

  putStack(stackName: string, outputs: StackOutput[]): SimStack {
    const stack: SimStack = {
      stackName,
      stackId: `arn:aws:cloudformation:${this.ctx.regionName}:${this.ctx.account}:stack/${stackName}/00000000-0000-4000-8000-${this.ctx.ids.count("stack").toString(16).padStart(12, "0")}`,
      createdMs: this.ctx.clock.now(),
      outputs,
    };
    this.stacks.set(stackName, stack);
    return stack;
  }

  handlers(): OperationHandlers {
    return { DescribeStacks: (input: DescribeStacksCommandInput) => this.describeStacks(input) };
  }

  private describeStacks(input: DescribeStacksCommandInput): Output<DescribeStacksCommandOutput> {
    const all = [...this.stacks.values()];
    const stacks = input.StackName ? all.filter((s) => s.stackName === input.StackName || s.stackId === input.StackName) : all;
    // CloudFormation's answer for a stack that does not exist (boto/boto3#2807 shows the wire response).
    if (input.StackName && stacks.length === 0) throw awsError("CloudFormation", "ValidationError", `Stack with id ${input.StackName} does not exist`);
    return {
      Stacks: stacks.map((s) => ({
        StackName: s.stackName,
        StackId: s.stackId,
        CreationTime: new Date(s.createdMs),
        StackStatus: "CREATE_COMPLETE",
        Outputs: s.outputs.map((o) => ({ ...o })),
      })),
    };
  }
}

/** CDK names a top-level construct's resource `<constructId><8 hex>`. */
export function constructIdOf(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, "");
}

/**
 * The Outputs section of a synthesized template as DescribeStacks returns it once deployed: every `Ref`,
 * `Fn::GetAtt` and `Fn::Join` resolved with `physical`. Outputs with an `Export` are CDK's cross-stack plumbing
 * (`ExportsOutput...`), which the simulated stacks do not have; any other value the region cannot resolve
 * throws, so a new output the CLI reads cannot silently go missing from the simulation.
 */
export function outputsOfTemplate(template: Record<string, any>, physical: PhysicalValues): StackOutput[] {
  const resolve = (value: unknown, key: string): string => {
    if (typeof value === "string") return value;
    const token = value as Record<string, any>;
    if (token && "Ref" in token) return lookup(String(token.Ref), undefined, key);
    if (token && "Fn::GetAtt" in token) return lookup(token["Fn::GetAtt"][0], token["Fn::GetAtt"][1], key);
    if (token && "Fn::Join" in token) {
      const [separator, parts] = token["Fn::Join"] as [string, unknown[]];
      return parts.map((part) => resolve(part, key)).join(separator);
    }
    throw new Error(`output ${key}: cannot resolve ${JSON.stringify(value)} in the simulated region`);
  };
  const lookup = (logicalId: string, attribute: string | undefined, key: string): string => {
    const id = constructIdOf(logicalId);
    const found = physical[attribute ? `${id}.${attribute}` : id];
    if (found === undefined) throw new Error(`output ${key}: the simulated stack has no value for ${logicalId}${attribute ? `.${attribute}` : ""}`);
    return found;
  };
  return Object.entries<Record<string, any>>(template.Outputs ?? {})
    .filter(([, output]) => output.Export === undefined)
    .map(([key, output]) => ({ OutputKey: key, OutputValue: resolve(output.Value, key), ...(output.Description ? { Description: output.Description } : {}) }));
}
