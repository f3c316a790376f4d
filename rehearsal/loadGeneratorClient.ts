import { HelperProcess, type HelperProcessError } from "./ipc.js";
import { type LoadGeneratorOptions, type LoadReport, emptyLoadReport } from "./loadGenerator.js";
import type { LoadGeneratorCommands } from "./loadGeneratorProcess.js";

/** The orchestrator's side of the load generator process (`loadGeneratorProcess.ts`). */
export class LoadGeneratorClient {
  private started = false;
  private finalReport?: LoadReport;

  private constructor(private readonly helper: HelperProcess<LoadGeneratorCommands>) {}

  static async start(options: { onUnexpectedExit?: (error: HelperProcessError) => void } = {}): Promise<LoadGeneratorClient> {
    const helper = await HelperProcess.start<LoadGeneratorCommands>(new URL("./loadGeneratorProcess.ts", import.meta.url), {
      name: "load generator",
      onUnexpectedExit: options.onUnexpectedExit,
    });
    return new LoadGeneratorClient(helper);
  }

  get pid(): number {
    return this.helper.pid;
  }

  get alive(): boolean {
    return this.helper.alive;
  }

  /** Starts the traffic; resolves once the process has started sending. */
  async begin(options: LoadGeneratorOptions): Promise<void> {
    await this.helper.request("start", options);
    this.started = true;
  }

  /** Stops the traffic, waits for the requests in flight, and reports (the same report on every call). */
  async stop(): Promise<LoadReport> {
    if (!this.started) return emptyLoadReport();
    this.finalReport ??= await this.helper.request("stop", undefined);
    return this.finalReport;
  }

  /** Whether `begin` has run. */
  get running(): boolean {
    return this.started && !this.finalReport;
  }

  /** Ends the process (stopping the traffic first if it runs); resolves once it has exited. */
  async close(): Promise<void> {
    await this.helper.stop();
  }
}
