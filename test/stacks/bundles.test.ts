import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WARMED_UP } from "../../functions/lib/contract.js";
import { ERROR } from "../../functions/lib/names.js";
import { bundleModule, bundleStageFunctions, DEPLOYED, type BundleFigures } from "../../scripts/bench/bundles.js";
import { FUNCTION_DEFAULTS } from "../../stacks/app.js";
import { lambdaCredentialsPlugin, MISSING_CREDENTIALS } from "../../stacks/lambdaCredentials.js";
import { STAGE_FUNCTION_IDS } from "../../stacks/pipeline/tables.js";
import { STACK_IDS, synthesizeApp } from "../../stacks/synthesize.js";
import { allowedActions } from "../support/roleActions.js";

/**
 * The stage functions' bundles as `sst deploy` builds them (SST's esbuild options, scripts/bench/bundles.ts):
 * minified, and each carrying only the SDK clients of services its own role may call. A client in a bundle is
 * code loaded at every cold start; one the role cannot use is dead weight (issue 17: all nine were in every one).
 */
const IAM_PREFIX_OF_CLIENT: Record<string, string> = {
  "client-auto-scaling": "autoscaling",
  "client-cloudwatch": "cloudwatch",
  "client-dynamodb": "dynamodb",
  "client-ec2": "ec2",
  "client-elastic-load-balancing": "elasticloadbalancing",
  "client-elastic-load-balancing-v2": "elasticloadbalancing",
  "client-eventbridge": "events",
  "client-sfn": "states",
  "client-sns": "sns",
};

describe("stage function bundles, as sst deploy builds them", () => {
  let bundles: Map<string, BundleFigures>;
  let allowed: Map<string, Set<string>>;
  beforeAll(async () => {
    allowed = allowedActions((await synthesizeApp("dev01")).template("Pipeline"));
    bundles = await bundleStageFunctions(DEPLOYED);
  }, 120_000);

  it("are minified (FUNCTION_DEFAULTS.nodejs.minify)", () => {
    expect(DEPLOYED.minify).toBe(true);
    // A minified bundle has no line of the stage function's own source: its long lines average far above 200 characters.
    for (const [id, bundle] of bundles) expect(bundle.code.length / bundle.code.split("\n").length, id).toBeGreaterThan(200);
  });

  it("carry no SDK schema that no command of theirs reaches (stacks/sdkSchemaKeys.ts)", () => {
    for (const [id, bundle] of bundles) {
      // EC2 operations no stage function calls: without the plugin every EC2 bundle carried their shapes.
      expect(bundle.code, id).not.toContain("AcceptAddressTransfer");
      expect(bundle.code, id).not.toContain("WithdrawByoipCidr");
      // All of EC2's schemas alone are 541 KiB minified; the largest bundle with the plugin is about 530 KiB.
      expect(bundle.bytes, id).toBeLessThan(600 * 1024);
    }
  });

  it("take credentials from Lambda's environment alone: no other link of the SDK's chain, nor the clients it calls (stacks/lambdaCredentials.ts)", () => {
    const otherLinks = [
      "@aws-sdk/credential-provider-node",
      "@aws-sdk/credential-provider-ini",
      "@aws-sdk/credential-provider-sso",
      "@aws-sdk/credential-provider-process",
      "@aws-sdk/credential-provider-web-identity",
      "@aws-sdk/credential-provider-http",
      "@aws-sdk/credential-provider-login",
      "@aws-sdk/token-providers",
      "@aws-sdk/nested-clients",
      "@smithy/credential-provider-imds",
    ];
    for (const [id, bundle] of bundles) {
      expect(bundle.packages.filter((name) => otherLinks.includes(name)), id).toEqual([]);
      if (bundle.clients.length > 0) expect(bundle.packages, id).toContain("@aws-sdk/credential-provider-env");
    }
  });

  it("run as deployed, without keepNames: each answers the warm-up, and errors keep the names Retry and Catch match", async () => {
    // Prepare: the bundles on disk, and an endpoint that answers every DynamoDB request with ResourceNotFoundException.
    expect(DEPLOYED.keepNames).toBe(false);
    const dir = mkdtempSync(path.join(tmpdir(), "stage-bundles-"));
    const endpoint = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
        response.end(JSON.stringify({ __type: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", message: "Requested resource not found" }));
      });
    });
    await new Promise<void>((listening) => endpoint.listen(0, "127.0.0.1", listening));
    try {
      for (const [id, bundle] of bundles) writeFileSync(path.join(dir, `${id}.mjs`), bundle.code);
      const states = {
        readBakedImage: { bake: { Build: { ExportedEnvironmentVariables: [] } } },
        checkRetired: {
          settings: { app: "shop", environment: "dev01", lockTableName: "locks" },
          execution: { id: "arn:aws:states:us-east-1:123456789012:execution:deploy:run-1" },
          retirement: { groups: [], drainedBy: 0, retiredBy: 0 },
        },
      };
      const script = `
        const context = { functionName: "f", functionVersion: "$LATEST", invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:f",
          memoryLimitInMB: "256", awsRequestId: "r", logGroupName: "g", logStreamName: "s", getRemainingTimeInMillis: () => 30000 };
        const [dir, ids, states] = [process.argv[1], JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
        const answers = {};
        for (const id of ids) {
          const { handler } = await import(dir + "/" + id + ".mjs");
          const warmUp = await handler({ warmUp: true }, context);
          const failure = states[id] ? await handler(states[id], context).then(() => undefined, (error) => error.name) : undefined;
          answers[id] = { warmUp, failure };
        }
        console.log(JSON.stringify(answers));`;
      const port = (endpoint.address() as AddressInfo).port;
      const env = { PATH: process.env.PATH, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKIAOFFLINEDUMMY0000", AWS_SECRET_ACCESS_KEY: "dummy",
        AWS_EC2_METADATA_DISABLED: "true", AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", POWERTOOLS_LOG_LEVEL: "SILENT" };

      // Act: a fresh node, as Lambda's runtime imports a handler.
      const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
        execFile(process.execPath, ["--input-type=module", "-e", script, dir, JSON.stringify([...bundles.keys()]), JSON.stringify(states)], { env }, (error, stdout, stderr) =>
          done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });

      // Assess
      expect(run.code, run.stderr).toBe(0);
      const answers = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Record<string, { warmUp: unknown; failure?: string }>;
      expect(Object.keys(answers).sort()).toEqual([...STAGE_FUNCTION_IDS].sort());
      for (const [id, answer] of Object.entries(answers)) expect(answer.warmUp, id).toEqual(WARMED_UP);
      expect(answers.readBakedImage.failure).toBe(ERROR.bakeFailed);
      expect(answers.checkRetired.failure).toBe("ResourceNotFoundException");
    } finally {
      endpoint.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("are what sst deploy builds: SST's own build of deleteOldGroups is this bundle byte for byte, and bundled code changes no resource", async () => {
    // Prepare: SST's Node handler builds one function as a deploy does (its esbuild options with the app's props,
    // then its npm install, kept offline here); every other function is a placeholder. Bundling all fourteen this
    // way cost 10 s of CPU per test run (issue 17 item 8): one shows the benchmark's options are SST's.
    // npm's registry and proxies point at a listener that counts connections: there must be none.
    const handler = "functions/deleteOldGroups.handler";
    let connections = 0;
    const trap = createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((listening) => trap.listen(0, "127.0.0.1", listening));
    const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    const npmSettings = {
      npm_config_offline: "true",
      npm_config_update_notifier: "false",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_registry: trapUrl,
      npm_config_proxy: trapUrl,
      npm_config_https_proxy: trapUrl,
    };
    const saved = Object.fromEntries(Object.keys(npmSettings).map((name) => [name, process.env[name]]));
    Object.assign(process.env, npmSettings);
    let withBundle: Awaited<ReturnType<typeof synthesizeApp>>;
    try {
      // Act
      withBundle = await synthesizeApp("dev01", { bundle: [handler] });
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      trap.close();
    }

    // Assess
    expect(connections).toBe(0);
    expect([...withBundle.bundles.keys()]).toEqual([handler]);
    const built = withBundle.bundles.get(handler)!;
    expect(readFileSync(path.join(built.dir, built.handler.replace(/\.[^.]+$/, ".mjs")), "utf8")).toBe(bundles.get("deleteOldGroups")!.code);
    const placeholder = await synthesizeApp("dev01");
    const shape = (template: Record<string, any>) =>
      Object.fromEntries(Object.entries(template.Resources as Record<string, { Type: string; Properties?: { Runtime?: string } }>).map(([id, r]) => [id, [r.Type, r.Properties?.Runtime]]));
    for (const id of STACK_IDS) expect(shape(withBundle.template(id)), id).toEqual(shape(placeholder.template(id)));
  }, 120_000);

  it.each(STAGE_FUNCTION_IDS)("%s carries only the SDK clients of services its role allows", (id) => {
    const bundle = bundles.get(id)!;
    const services = new Set([...(allowed.get(id) ?? [])].map((action) => action.split(":")[0]));
    expect(bundle.clients.filter((client) => !(client in IAM_PREFIX_OF_CLIENT)), "an SDK client this test does not know").toEqual([]);
    expect(bundle.clients.filter((client) => !services.has(IAM_PREFIX_OF_CLIENT[client]))).toEqual([]);
  });
});

describe("Lambda's environment as the SDK's credential chain (stacks/lambdaCredentials.ts)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lambda-credentials-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const saved = { ...process.env };
  afterAll(() => {
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  type Credentials = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
  /** A DynamoDB client bundled with the deployed functions' plugins: a new client's credential provider, each call. */
  let credentials: Credentials;
  beforeAll(async () => {
    expect(FUNCTION_DEFAULTS.nodejs.esbuild.plugins).toContain(lambdaCredentialsPlugin);
    const entry = path.join(dir, "entry.mjs");
    writeFileSync(
      entry,
      'import { DynamoDBClient } from "@aws-sdk/client-dynamodb";\n' +
        'export const credentials = () => new DynamoDBClient({ region: "us-east-1" }).config.credentials();\n',
    );
    const result = await bundleModule(entry);
    const file = path.join(dir, "bundle.mjs");
    writeFileSync(file, result.outputFiles[0].text);
    credentials = ((await import(file)) as { credentials: Credentials }).credentials;
  }, 60_000);

  it("answers with the keys Lambda puts in the environment, the session token too", async () => {
    process.env.AWS_ACCESS_KEY_ID = "ASIAEXAMPLEFROMROLE1";
    process.env.AWS_SECRET_ACCESS_KEY = "secret-from-the-execution-role";
    process.env.AWS_SESSION_TOKEN = "session-token-from-the-execution-role";
    delete process.env.AWS_PROFILE;
    const found = await credentials();
    expect(found).toMatchObject({
      accessKeyId: "ASIAEXAMPLEFROMROLE1",
      secretAccessKey: "secret-from-the-execution-role",
      sessionToken: "session-token-from-the-execution-role",
    });
  });

  it("without them says where it looked, and looks nowhere else (no file, no process, no metadata service)", async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    // The full chain would go on to this profile (and fail differently); the bundled one never reads it.
    process.env.AWS_PROFILE = "a-profile-the-chain-would-read";
    await expect(credentials()).rejects.toThrow(MISSING_CREDENTIALS);
    await expect(credentials()).rejects.toMatchObject({ name: "CredentialsProviderError" });
  });
});
