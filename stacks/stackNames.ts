/**
 * How SST names this app's CloudFormation stacks: `<stage>-<app name>-<stack id>`. Plain data, so the operator
 * CLI can find a stage's stacks without loading the CDK; sst.config.ts and the offline synthesis use it too.
 */

/** The SST app name (sst.config.ts `config().name`). */
export const SST_APP_NAME = "immutable-deploy";

/** The stacks of the app, by the id SST gives them. */
export const STACK_IDS = ["Environment", "Pipeline"] as const;
export type StackId = (typeof STACK_IDS)[number];

export function stackName(stage: string, id: StackId): string {
  return `${stage}-${SST_APP_NAME}-${id}`;
}
