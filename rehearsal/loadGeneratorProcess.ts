/**
 * The load generator's process: steady requests at the load balancer (`LoadGenerator`) from their own event
 * loop, so the rehearsal's request counts measure the deploy, not the orchestrator's pauses. Driven by the
 * orchestrator over IPC (`LoadGeneratorClient`).
 */
import { serveOrchestrator } from "./ipc.js";
import { LoadGenerator, type LoadGeneratorOptions, type LoadReport, emptyLoadReport } from "./loadGenerator.js";

export type LoadGeneratorCommands = {
  /** Starts sending (once). */
  start: { input: LoadGeneratorOptions; output: void };
  /** Stops sending, waits for the requests in flight, and replies with the report. */
  stop: { input: undefined; output: LoadReport };
  /** The counts so far, while it runs. */
  report: { input: undefined; output: LoadReport };
};

let load: LoadGenerator | undefined;

serveOrchestrator<LoadGeneratorCommands>({
  start(options) {
    if (load) throw new Error("the load generator has started already");
    load = new LoadGenerator(options);
    load.start();
  },
  stop: () => (load ? load.stop() : emptyLoadReport()),
  report: () => (load ? load.report() : emptyLoadReport()),
});
