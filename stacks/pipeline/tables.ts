/**
 * What the Pipeline stack builds, as plain data: the stage functions, which one runs each Task state and
 * where its result goes, and the S3 trigger's event pattern. The stack builds from these tables; the
 * simulator and the tests read the same tables (and the synthesized template) instead of repeating them.
 * No aws-cdk-lib here, so the simulator can import it without loading the CDK.
 */
import { type ResultPart, RESULT_PATH } from "../../functions/lib/contract.js";
import { DEFAULTS, STATE } from "../../functions/lib/names.js";

/** One Lambda per entry: `functions/<id>.ts` exports the plain function `<id>` and its middy `handler`. */
export const STAGE_FUNCTIONS = {
  prepareDeploy: { timeoutSeconds: 60 },
  lockEnvironment: { timeoutSeconds: 30 },
  readBakedImage: { timeoutSeconds: 10 },
  launchReleaseGroup: { timeoutSeconds: 60 },
  checkGroupHealth: { timeoutSeconds: 60 },
  checkLoadBalancerHealth: { timeoutSeconds: 60 },
  shiftTraffic: { timeoutSeconds: 60 },
  retireGroups: { timeoutSeconds: 60 },
  checkRetired: { timeoutSeconds: 60 },
  deleteOldGroups: { timeoutSeconds: 120 },
  applyImageRetention: { timeoutSeconds: 300 },
  rollback: { timeoutSeconds: 120 },
  unlockEnvironment: { timeoutSeconds: 30 },
  notify: { timeoutSeconds: 30 },
} as const satisfies Record<string, { timeoutSeconds: number }>;

export type StageFunctionId = keyof typeof STAGE_FUNCTIONS;
export const STAGE_FUNCTION_IDS = Object.keys(STAGE_FUNCTIONS) as StageFunctionId[];

export interface TaskState {
  /** The stage function the state invokes. */
  fn: StageFunctionId;
  /** The part of the state document its result becomes. */
  result: ResultPart;
}

/** The one state -> function map: every Lambda Task state of the deploy state machine. */
export const TASK_STATES = {
  [STATE.prepare]: { fn: "prepareDeploy", result: "plan" },
  [STATE.refreshPlan]: { fn: "prepareDeploy", result: "plan" },
  // One function, two states: before the image exists (`$.image` absent) it only claims the release (no lock).
  [STATE.claim]: { fn: "lockEnvironment", result: "lock" },
  [STATE.lock]: { fn: "lockEnvironment", result: "lock" },
  [STATE.useBakedImage]: { fn: "readBakedImage", result: "image" },
  [STATE.launch]: { fn: "launchReleaseGroup", result: "launch" },
  [STATE.checkGroupHealth]: { fn: "checkGroupHealth", result: "groupHealth" },
  [STATE.checkLoadBalancerHealth]: { fn: "checkLoadBalancerHealth", result: "loadBalancerHealth" },
  [STATE.shiftTraffic]: { fn: "shiftTraffic", result: "cutover" },
  [STATE.retire]: { fn: "retireGroups", result: "retirement" },
  [STATE.checkRetired]: { fn: "checkRetired", result: "retired" },
  [STATE.deleteOldGroups]: { fn: "deleteOldGroups", result: "cleanup" },
  [STATE.imageRetentionWhileRetiring]: { fn: "applyImageRetention", result: "retention" },
  [STATE.imageRetention]: { fn: "applyImageRetention", result: "retention" },
  [STATE.rollback]: { fn: "rollback", result: "rollback" },
  [STATE.unlock]: { fn: "unlockEnvironment", result: "unlock" },
  [STATE.unlockAfterRollback]: { fn: "unlockEnvironment", result: "unlock" },
  [STATE.unlockAfterFailure]: { fn: "unlockEnvironment", result: "unlock" },
} as const satisfies Record<string, TaskState>;

export type TaskStateName = keyof typeof TASK_STATES;

export function resultPathOf(state: TaskStateName): string {
  return RESULT_PATH[TASK_STATES[state].result];
}

/** The construct id of a stage function's Lambda; CloudFormation's logical id is this plus an 8-hex hash. */
export function functionConstructId(id: StageFunctionId): string {
  return `${id[0].toUpperCase()}${id.slice(1)}Function`;
}

/**
 * The stage function a Lambda ARN or logical id names (as a Task's `Resource` does), or undefined when it is
 * none of ours. This is how the simulator and the flow tests find the code a Task runs: by what the
 * definition says, never by the state's name.
 */
export function stageFunctionOfResource(resource: string): StageFunctionId | undefined {
  const logicalId = resource.slice(resource.lastIndexOf(":") + 1);
  return STAGE_FUNCTION_IDS.find((id) => new RegExp(`^${functionConstructId(id)}[0-9A-F]{8}$`).test(logicalId));
}

/**
 * The EventBridge rule that starts a deploy: S3 `Object Created` under the release prefix, ending in the
 * artifact suffix, in the artifact bucket. Plain JSON, as CloudFormation and EventBridge read it.
 */
export function releaseUploadPattern(bucketName: string) {
  return {
    source: ["aws.s3"],
    "detail-type": ["Object Created"],
    detail: {
      bucket: { name: [bucketName] },
      object: { key: [{ wildcard: `${DEFAULTS.artifactPrefix}*${DEFAULTS.artifactSuffix}` }] },
    },
  };
}

/** The execution statuses the notify function hears about: every terminal one (functions/notify.ts). */
export const NOTIFIED_STATUSES = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] as const;

/**
 * The EventBridge rule that invokes the notify function (not a state: nothing it does can change an execution's
 * status): Step Functions' own status-change events of the deploy state machine, for every terminal status.
 * Plain JSON, as CloudFormation and EventBridge read it; the simulator's runner puts the same events on its bus.
 */
export function executionEndedPattern(stateMachineArn: string) {
  return {
    source: ["aws.states"],
    "detail-type": ["Step Functions Execution Status Change"],
    detail: { stateMachineArn: [stateMachineArn], status: [...NOTIFIED_STATUSES] },
  };
}
