import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { allClients } from "../../functions/lib/clients.js";
import { bundleModule, DEPLOYED } from "../../scripts/bench/bundles.js";
import { FUNCTION_DEFAULTS } from "../../stacks/app.js";
import { EVENT_STREAM_CLIENT, EVENT_STREAMS_MODULE, NO_EVENT_STREAMS, sdkEventStreamsPlugin } from "../../stacks/sdkEventStreams.js";
import { botocoreModel, checkModelSources, SERVICE_NAMES, SERVICE_SOURCES, sdkV3Exports, type ServiceName } from "../aws/serviceModels.js";

/**
 * stacks/sdkEventStreams.ts leaves the SDK's event-stream support out of the stage functions' bundles. That is
 * safe only while no service they call has an operation that streams events: the AWS models and the SDK's
 * own clients say so, and a client that has one fails the build instead of being bundled without it.
 */
/** The service of each client the stage functions create (functions/lib/clients.ts), by the package that exports its class. */
const STAGE_SERVICES = SERVICE_NAMES.filter((service) => allClients.some((client) => Object.values(sdkV3Exports(service) ?? {}).includes(client.constructor)));
const require = createRequire(import.meta.url);
const clientDir = (service: ServiceName) => path.dirname(require.resolve(`${SERVICE_SOURCES[service].sdkV3}/package.json`));
const eventStreamShapes = (service: ServiceName) =>
  Object.entries(botocoreModel(service).shapes)
    .filter(([, shape]) => shape.eventstream)
    .map(([name]) => name);

const models = checkModelSources();
const dir = mkdtempSync(path.join(tmpdir(), "sdk-event-streams-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `source` bundled as SST bundles a stage function (scripts/bench/bundles.ts), unminified so its code can be read. */
async function bundle(name: string, source: string) {
  const entry = path.join(dir, `${name}.mjs`);
  writeFileSync(entry, source);
  return bundleModule(entry, { ...DEPLOYED, minify: false });
}

describe("the services the stage functions call have no event streams", () => {
  it("every client the functions create is of a service checked here", () => {
    expect(STAGE_SERVICES).toEqual(["AutoScaling", "EC2", "ELB", "ELBv2", "DynamoDB", "SNS", "EventBridge", "SFN", "CloudWatch"]);
    expect(STAGE_SERVICES).toHaveLength(allClients.length);
  });

  it.skipIf(!models.available)(`in AWS's service models (botocore): no shape marked eventstream, where S3 has SelectObjectContent's${models.reason}`, () => {
    for (const service of STAGE_SERVICES) expect(eventStreamShapes(service), service).toEqual([]);
    expect(eventStreamShapes("S3")).toContain("SelectObjectContentEventStream");
  });

  it("in the SDK v3 clients: none imports the event-stream support in its runtime configuration, as client-s3 does", () => {
    const runtimeConfig = (service: ServiceName) => readFileSync(path.join(clientDir(service), "dist-es/runtimeConfig.js"), "utf8");
    for (const service of STAGE_SERVICES) expect(runtimeConfig(service), service).not.toContain(EVENT_STREAMS_MODULE);
    expect(runtimeConfig("S3")).toContain(EVENT_STREAMS_MODULE);
  });
});

describe("sdkEventStreamsPlugin", () => {
  it("is one of the stage functions' plugins", () => {
    expect(FUNCTION_DEFAULTS.nodejs.esbuild.plugins).toContain(sdkEventStreamsPlugin);
  });

  it("puts a stand-in where the SDK loads event streams lazily: no event-stream code and no lazy initializers in the bundle", async () => {
    const result = await bundle("dynamodb", 'import { DynamoDBClient } from "@aws-sdk/client-dynamodb";\nexport const client = new DynamoDBClient({ region: "us-east-1" });\n');
    const inputs = Object.entries(Object.values(result.metafile.outputs)[0].inputs).filter(([, input]) => input.bytesInOutput > 0).map(([input]) => input);
    expect(inputs.filter((input) => input.includes("/submodules/event-streams/"))).toEqual([]);
    expect(inputs).toContain("immutable-deploy-no-event-streams:no-event-streams");
    // Without the plugin esbuild wraps the lazily imported module, and every module it reaches, in an initializer.
    expect(result.outputFiles[0].text.match(/__esm\(\{/g)).toHaveLength(1);
    expect(result.outputFiles[0].text).not.toContain("node:zlib");
  });

  it("the stand-in fails with a message that names the plugin, should an operation ever ask for event streams", async () => {
    const dynamic = await bundle("dynamic", `export const load = () => import(${JSON.stringify(EVENT_STREAMS_MODULE)});\n`);
    const file = path.join(dir, "dynamic.bundle.mjs");
    writeFileSync(file, dynamic.outputFiles[0].text);
    const standIn = await ((await import(file)) as { load: () => Promise<{ EventStreamSerde: new () => unknown; eventStreamSerdeProvider: () => unknown }> }).load();
    expect(() => new standIn.EventStreamSerde()).toThrow(NO_EVENT_STREAMS);
    expect(() => standIn.eventStreamSerdeProvider()).toThrow(NO_EVENT_STREAMS);
  });

  it("fails the build for a client whose service streams events (S3), naming the importer", async () => {
    const failure = await bundle("s3", 'import { S3Client } from "@aws-sdk/client-s3";\nexport const client = new S3Client({ region: "us-east-1" });\n').then(
      () => undefined,
      (error: { errors: { text: string }[] }) => error.errors.map((error) => error.text).join("\n"),
    );
    expect(failure).toContain(EVENT_STREAM_CLIENT);
    expect(failure).toMatch(/@aws-sdk[\\/]client-s3[\\/]dist-es[\\/]runtimeConfig\.js/);
  });
});
