import { afterAll, beforeAll, expect, it } from "vitest";
import { allClients } from "../../functions/lib/clients.js";
import { loadDeployDefinition, type AslDefinition } from "../../stacks/stateMachineDefinition.js";
import { SimulatedRegion, attachRegion, bindFunctionClock, createEnvironment, artifactBucketName, TrafficModel, leftovers } from "../../simulator/index.js";
import { DeployRunner } from "../../simulator/runner.js";

let definition: AslDefinition;
beforeAll(async () => { definition = await loadDeployDefinition("dev01"); }, 120_000);

it("smoke", async () => {
  const region = new SimulatedRegion();
  const settings = createEnvironment(region, { environment: "dev01" });
  const attachment = attachRegion(region, allClients);
  const restore = bindFunctionClock(region);
  try {
    const runner = new DeployRunner({ region, settings, definition });
    const bucket = artifactBucketName(settings.app, settings.environment);
    runner.connectTrigger(bucket);
    runner.onProgress((e) => { if (e.message) console.log(Math.round((e.timeMs - 1767225600000)/1000), e.state, e.message); });
    const traffic = new TrafficModel(region, settings.loadBalancer, 10);
    traffic.start();
    for (const release of ["v1", "v2"]) {
      region.s3.putObject(bucket, `releases/${release}.tgz`, "x");
      const exec = runner.executions.at(-1)!;
      await region.scheduler.drive([exec.done]);
      const r = exec.result!;
      console.log(release, r.status, r.outcome, r.error, r.cause?.slice(0, 300), (r.endedAtMs - r.startedAtMs) / 1000, r.stateTransitions, r.lambdaInvocations);
      console.log(JSON.stringify(traffic.counters()));
    }
    console.log(JSON.stringify(leftovers(region, settings)));
    console.log(JSON.stringify(Object.fromEntries([...region.apiCalls])));
    expect(runner.executions.every((e) => e.result?.status === "SUCCEEDED")).toBe(true);
  } finally { attachment.detach(); restore(); }
});
