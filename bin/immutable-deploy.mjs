#!/usr/bin/env node
// The operator CLI (README "Day two"). It runs from a checkout of this repository: tsx (installed by `npm ci`)
// loads the TypeScript sources, the same the stage functions and the tests use.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
const code = await main(process.argv.slice(2));
// The SDK's keep-alive sockets would hold the process open; everything is written by now (stdio is synchronous on Linux).
process.exit(code);
