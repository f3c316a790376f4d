// @ts-check
import { PluginKind, declareValuePlugin } from "@stryker-mutator/api/plugin";

/** The stage functions' logger methods (functions/lib/logger.ts, Powertools). */
const LOG_METHODS = new Set(["debug", "info", "warn", "error"]);

/**
 * A Stryker ignorer (stryker.config.mjs, `ignorers`): no mutants inside a `logger.<method>(...)` statement. Its
 * message and fields go to CloudWatch Logs only; no result, error, call or state depends on them, and every
 * argument the stage functions pass is a plain read of values they already have (no call with an effect).
 * Mutants there could only survive; BENCHMARK.md says how many were left out this way.
 */
export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, "logging", {
    /** @param {any} path a Babel NodePath */
    shouldIgnore(path) {
      const node = path.node;
      if (node.type !== "ExpressionStatement" || node.expression.type !== "CallExpression") return undefined;
      const callee = node.expression.callee;
      if (
        callee.type === "MemberExpression" &&
        callee.object.type === "Identifier" &&
        callee.object.name === "logger" &&
        callee.property.type === "Identifier" &&
        LOG_METHODS.has(callee.property.name)
      )
        return "a log statement: its message and fields reach only CloudWatch Logs";
      return undefined;
    },
  }),
];
