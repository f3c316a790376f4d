import path from "node:path";
import type { SstEsbuildPlugin } from "./sdkSchemaKeys.js";

/** What a stage function says when it finds no credentials where Lambda puts them. */
export const MISSING_CREDENTIALS =
  "immutable-deploy: the stage functions take AWS credentials only from Lambda's environment (AWS_ACCESS_KEY_ID, " +
  "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which Lambda sets from the function's execution role), and " +
  "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not set";

/**
 * The module bundled in place of the chain: `defaultProvider`, the one export the clients import from it
 * (`credentialDefaultProvider` in each client's runtimeConfig), as the SDK's `fromEnv`. Its error is the SDK's
 * `CredentialsProviderError`, with a message that says where the credentials were looked for. Should an SDK
 * release import anything else from the chain, esbuild fails the build on the missing export.
 */
export const ENVIRONMENT_PROVIDER_SOURCE = `
import { fromEnv } from "@aws-sdk/credential-provider-env";
export const defaultProvider = (init = {}) => {
  const provider = fromEnv(init);
  return async (properties) => {
    try {
      return await provider(properties);
    } catch (error) {
      error.message = ${JSON.stringify(MISSING_CREDENTIALS)};
      throw error;
    }
  };
};
`;

const NAMESPACE = "immutable-deploy-lambda-credentials";

/**
 * The SDK's default credential chain in the stage functions' bundles is Lambda's own: the environment.
 *
 * Every SDK v3 client resolves its credentials with `@aws-sdk/credential-provider-node`, a chain of environment
 * variables, SSO, shared config and credentials files, `credential_process`, web identity tokens, the ECS
 * container endpoint and the EC2 instance metadata service. It imports most of them lazily, but esbuild bundles
 * them all, with the STS, SSO and sign-in clients they call (`@aws-sdk/nested-clients`): 132-150 KiB of each
 * minified bundle with a client, a quarter to over a third of it, which every cold start compiles and never runs.
 *
 * Lambda sets the function's credentials as environment variables (Lambda Developer Guide, "Defined runtime
 * environment variables": `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, "the access keys
 * obtained from the function's execution role"), and nothing sets `AWS_PROFILE` there, so the chain's first
 * link always answers and the others never run. This plugin bundles that first link alone, the SDK's own
 * `fromEnv`, in place of the chain: the same credentials, a smaller module to load. Outside Lambda (tests, the
 * simulator, the CLI) nothing changes: only the bundles SST builds for the stage functions use the plugin.
 *
 * The esbuild plugin is in FUNCTION_DEFAULTS.nodejs.esbuild.plugins, so `sst deploy` bundles with it.
 */
export const lambdaCredentialsPlugin: SstEsbuildPlugin = {
  name: "immutable-deploy:lambda-environment-credentials",
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, async (args) => {
      if (args.pluginData === NAMESPACE) return undefined;
      // Where the chain itself resolves from this importer: its own `@aws-sdk/credential-provider-env` (a
      // dependency of the chain's package) then resolves exactly as the chain's import of it would.
      const chain = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: NAMESPACE });
      if (chain.errors.length > 0) return { errors: chain.errors };
      // A path of its own, so the bundle's metafile names the stand-in, not the chain's package.
      return { path: "environment-credentials", namespace: NAMESPACE, pluginData: path.dirname(chain.path) };
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      contents: ENVIRONMENT_PROVIDER_SOURCE,
      loader: "js",
      resolveDir: args.pluginData as string,
    }));
  },
};
