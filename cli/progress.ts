/**
 * The progress lines of a deploy, shared by `npm start` (the rehearsal prints them from the runner's progress
 * events) and `immutable-deploy watch` (which reads the same events from the execution's history): each stage
 * as it starts, each check's message, retries and the outcome, in the words of the seeds' deploy script.
 * Plain text only: no SDK, no simulator.
 */
import { STATE } from "../functions/lib/names.js";

/** One thing that happened in an execution, as far as its progress lines care. */
export interface DeployProgress {
  state: string;
  type: "entered" | "exited" | "retried" | "caught" | "failed" | "succeeded" | "aborted";
  /** Checks: their `message`; `failed`: "<error>: <cause>"; `succeeded`: the outcome; `aborted`: the cause. */
  message?: string;
}

/** What a stage does, printed when the state is entered. Checks print their own message when they exit. */
const ENTERED: Partial<Record<string, string>> = {
  [STATE.prepare]: "deploy: validating input and pulling down list of existing autoscaling groups...",
  [STATE.lock]: "deploy: locking the environment (one deploy at a time)...",
  [STATE.bake]: "deploy: building release image with packer (CodeBuild)...",
  [STATE.launch]: "deploy: creating new autoscaling group using the release image...",
  [STATE.retire]: "deploy: removing instances in outdated group(s) from the load balancer...",
  [STATE.deleteOldGroups]: "deploy: deleting outdated group(s) and launch template versions...",
  [STATE.imageRetentionWhileRetiring]: "deploy: deregistering old release images (keeping the live and recent ones) while old instances terminate...",
  [STATE.imageRetention]: "deploy: deregistering old release images (keeping the live and recent ones)...",
  [STATE.rollback]: "deploy: rolling back: deleting the new group, restoring the old one...",
};

/** Task states whose result has no `message`, where the entered line says it all. */
const QUIET_EXITS: ReadonlySet<string> = new Set([STATE.bake, STATE.launch]);

/** The line for one progress event, or undefined when it prints none. */
export function progressText(event: DeployProgress): string | undefined {
  switch (event.type) {
    case "entered":
      return ENTERED[event.state];
    case "exited":
      if (!event.message || QUIET_EXITS.has(event.state)) return undefined;
      return event.message.startsWith("deploy:") ? event.message : `deploy: ${event.message}`;
    case "retried":
      return `deploy: ${event.state} hit a transient error, retrying`;
    case "caught":
      return `deploy: ${event.state} failed, handling the error`;
    case "failed":
      // The final event carries "<error>: <cause>"; the cause was printed already by the stage that failed.
      return event.message ? `deploy: execution ended in "${event.state}" with ${event.message.split(":")[0]}` : undefined;
    case "succeeded":
      return `deploy: ${event.message ?? "succeeded"}`;
    case "aborted":
      return `deploy: execution stopped in "${event.state}"${event.message ? `: ${event.message}` : ""}`;
  }
}

/** `[ 12.8s] v2   deploy: ...`: seconds since the start, the release (or another subject), the text. */
export function progressLine(seconds: number, subject: string, text: string): string {
  return `[${seconds.toFixed(1).padStart(5)}s] ${subject.padEnd(4)} ${text}`;
}

/** Prints each execution's progress lines once per change (a wait loop repeating "(1/2)" prints it once). */
export class ProgressLines {
  private readonly last = new Map<string, string>();

  /** The line to print for `event` of `execution`, or undefined when it prints none or repeats the last one. */
  next(execution: string, event: DeployProgress): string | undefined {
    const text = progressText(event);
    if (text === undefined || this.last.get(execution) === text) return undefined;
    this.last.set(execution, text);
    return text;
  }
}
