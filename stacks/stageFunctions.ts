import { STATE, type StateName } from "../functions/lib/names.js";

/**
 * Which stage function runs which Task state: the Pipeline stack creates one Lambda per entry (handler by
 * path string, never imported), and the simulator runs the same module's plain export for those states.
 * Plain data only, so the simulator can import it without aws-cdk-lib.
 */
export interface StageFunction {
  /** File under functions/, without extension; it exports `handler` and the plain function `name`. */
  name: string;
  states: StateName[];
  /** Lambda timeout, seconds. */
  timeoutSeconds: number;
}

export const STAGE_FUNCTIONS = {
  prepareDeploy: { name: "prepareDeploy", states: [STATE.prepare, STATE.refreshPlan], timeoutSeconds: 60 },
  lockEnvironment: { name: "lockEnvironment", states: [STATE.lock], timeoutSeconds: 30 },
  launchReleaseGroup: { name: "launchReleaseGroup", states: [STATE.launch], timeoutSeconds: 60 },
  checkGroupHealth: { name: "checkGroupHealth", states: [STATE.checkGroupHealth], timeoutSeconds: 60 },
  checkLoadBalancerHealth: {
    name: "checkLoadBalancerHealth",
    states: [STATE.checkLoadBalancerHealth],
    timeoutSeconds: 60,
  },
  retireGroups: { name: "retireGroups", states: [STATE.retire], timeoutSeconds: 60 },
  checkRetired: { name: "checkRetired", states: [STATE.checkRetired], timeoutSeconds: 60 },
  deleteOldGroups: { name: "deleteOldGroups", states: [STATE.deleteOldGroups], timeoutSeconds: 120 },
  applyImageRetention: { name: "applyImageRetention", states: [STATE.imageRetention], timeoutSeconds: 300 },
  rollback: { name: "rollback", states: [STATE.rollback], timeoutSeconds: 120 },
  unlockEnvironment: {
    name: "unlockEnvironment",
    states: [STATE.unlock, STATE.unlockAfterRollback, STATE.unlockAfterFailure],
    timeoutSeconds: 30,
  },
  notify: {
    name: "notify",
    states: [STATE.notifySucceeded, STATE.notifyNoOp, STATE.notifyRolledBack, STATE.notifyFailed],
    timeoutSeconds: 30,
  },
} as const satisfies Record<string, StageFunction>;

export type StageFunctionId = keyof typeof STAGE_FUNCTIONS;
