import { ProgressLines, progressLine } from "../cli/progress.js";
import type { ProgressEvent } from "../simulator/execution/runner.js";

/**
 * Turns the runner's progress events into the lines `npm start` prints, one per change: each stage as it
 * starts, each check's message when it changes (a wait loop repeating "(1/2)" prints it once), retries and
 * the outcome. The words are cli/progress.ts's, the same `immutable-deploy watch` prints.
 */
export class ProgressPrinter {
  private readonly lines = new ProgressLines();
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
    this.write(progressLine((Date.now() - this.startedAtMs) / 1000, subject, text));
  }

  handle(event: ProgressEvent): void {
    const text = this.lines.next(event.execution, event);
    if (text !== undefined) this.note(this.releaseOf.get(event.execution) ?? event.execution, text);
  }
}
