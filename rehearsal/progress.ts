import { STATE } from "../functions/lib/names.js";
import type { ProgressEvent } from "../simulator/execution/runner.js";

/**
 * What a stage does, said as the seeds' deploy script says it (`deploy: creating ... autoscaling group`),
 * printed when the state is entered. Checks print their own message when they exit.
 */
const ENTERED: Partial<Record<string, string>> = {
  [STATE.prepare]: "deploy: validating input and pulling down list of existing autoscaling groups...",
  [STATE.lock]: "deploy: locking the environment (one deploy at a time)...",
  [STATE.bake]: "deploy: building release image with packer (CodeBuild)...",
  [STATE.launch]: "deploy: creating new autoscaling group using the release image...",
  [STATE.retire]: "deploy: removing instances in outdated group(s) from the load balancer...",
  [STATE.deleteOldGroups]: "deploy: deleting outdated group(s) and launch template versions...",
  [STATE.imageRetention]: "deploy: deregistering old release images (keeping the live and recent ones)...",
  [STATE.rollback]: "deploy: rolling back: deleting the new group, restoring the old one...",
};

/** Task states whose result has no `message`, where the entered line says it all. */
const QUIET_EXITS: ReadonlySet<string> = new Set([STATE.bake, STATE.launch]);

/**
 * Turns the runner's progress events into the lines `npm start` prints, one per change: each stage as it
 * starts, each check's message when it changes (a wait loop repeating "(1/2)" prints it once), retries and
 * the outcome.
 */
export class ProgressPrinter {
  private readonly lastMessage = new Map<string, string>();
  private readonly releaseOf = new Map<string, string>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly startedAtMs: number = Date.now(),
  ) {}

  /** Names the release an execution deploys, for the line prefix. */
  labelExecution(execution: string, release: string): void {
    this.releaseOf.set(execution, release);
  }

  /** A line about something other than a state (instances, the load balancer, the load). */
  note(subject: string, text: string): void {
    this.write(`${this.stamp()} ${subject.padEnd(4)} ${text}`);
  }

  handle(event: ProgressEvent): void {
    const text = this.describe(event);
    if (text === undefined) return;
    if (this.lastMessage.get(event.execution) === text) return;
    this.lastMessage.set(event.execution, text);
    this.note(this.releaseOf.get(event.execution) ?? event.execution, text);
  }

  private describe(event: ProgressEvent): string | undefined {
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
    }
  }

  private stamp(): string {
    return `[${((Date.now() - this.startedAtMs) / 1000).toFixed(1).padStart(5)}s]`;
  }
}
