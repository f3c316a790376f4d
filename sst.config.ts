import type { SSTConfig } from "sst";
import { appConfig, defineStacks } from "./stacks/app.js";

// The stage's region comes from its configuration (stacks/config.ts); stacks/app.ts says why each piece is there.
export default {
  config: (input) => appConfig(input),
  stacks: (app) => defineStacks(app),
} satisfies SSTConfig;
