import type { SSTConfig } from "sst";
import { Environment } from "./stacks/Environment.js";
import { Pipeline } from "./stacks/Pipeline.js";
import { SST_APP_NAME } from "./stacks/stackNames.js";

export default {
  config() {
    return { name: SST_APP_NAME, region: "us-east-1" };
  },
  stacks(app) {
    app.setDefaultFunctionProps({ runtime: "nodejs24.x", architecture: "arm_64", tracing: "active" });
    app.stack(Environment).stack(Pipeline);
  },
} satisfies SSTConfig;
