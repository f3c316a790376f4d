import type { SstEsbuildPlugin } from "./sdkSchemaKeys.js";

/** The module the SDK's protocols load event-stream support from, on first use (`import()`). */
export const EVENT_STREAMS_MODULE = "@smithy/core/event-streams";

/** What a bundled function says if an SDK call ever asks for event-stream support (none of theirs does). */
export const NO_EVENT_STREAMS =
  "immutable-deploy: the stage functions' bundles leave out the AWS SDK's event-stream support (stacks/sdkEventStreams.ts): " +
  "no operation they call streams events, and this one does";

/** What the build says when a client that has event-stream operations is bundled with the plugin. */
export const EVENT_STREAM_CLIENT =
  "imports the AWS SDK's event-stream support directly: its client has operations that stream events, which the stage " +
  "functions' bundles leave out (stacks/sdkEventStreams.ts); remove the plugin from FUNCTION_DEFAULTS to bundle such a client";

/** The stand-in: the two exports the protocols read from the module, each failing with NO_EVENT_STREAMS. */
export const NO_EVENT_STREAMS_SOURCE = `
const unsupported = () => { throw new Error(${JSON.stringify(NO_EVENT_STREAMS)}); };
export class EventStreamSerde { constructor() { unsupported(); } }
export const eventStreamSerdeProvider = unsupported;
`;

const NAMESPACE = "immutable-deploy-no-event-streams";

/**
 * The AWS SDK's event-stream support left out of the stage functions' bundles.
 *
 * `@smithy/core`'s HTTP protocols (HttpProtocol.js, `loadEventStreamCapability`) load `@smithy/core/event-streams`
 * with `import()` when an operation serializes or deserializes an event stream. esbuild, bundling without code
 * splitting, keeps a dynamically imported module in the bundle and wraps it, and every module it reaches, in a
 * lazy initializer (`__esm`): 162 modules of `@smithy/core` and `@smithy/types` in Launch's bundle, whose
 * code V8 then parses twice at a cold start (once as a lazy function, once when the initializer runs at module
 * load), plus 15-20 KiB of event-stream code and `node:zlib` (its CRC32) that nothing runs.
 *
 * No service the stage functions call has an operation with an event stream: the AWS service models
 * (botocore's `autoscaling`, `ec2`, `elb`, `elbv2`, `dynamodb`, `stepfunctions`, `sns`, `events`, `cloudwatch`)
 * have no shape marked `eventstream`, where `s3`'s SelectObjectContent has one; and an SDK v3 client whose
 * service has one imports `@smithy/core/event-streams` statically in its runtime configuration (client-s3 does,
 * none of the nine does; test/stacks/sdkEventStreams.test.ts checks both). So the plugin puts a stand-in in the
 * dynamic import's place that fails with NO_EVENT_STREAMS should it ever run, and fails the build, naming the
 * importer, if anything in it imports the module statically: a client with event streams is never bundled
 * without them. Outside the stage functions' bundles (tests, the simulator, the CLI) nothing changes.
 *
 * The esbuild plugin is in FUNCTION_DEFAULTS.nodejs.esbuild.plugins, so `sst deploy` bundles with it.
 */
export const sdkEventStreamsPlugin: SstEsbuildPlugin = {
  name: "immutable-deploy:no-sdk-event-streams",
  setup(build) {
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, (args) => {
      if (args.kind !== "dynamic-import") return { errors: [{ text: `${args.importer} ${EVENT_STREAM_CLIENT}` }] };
      // A path of its own, so the bundle's metafile names the stand-in.
      return { path: "no-event-streams", namespace: NAMESPACE };
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({ contents: NO_EVENT_STREAMS_SOURCE, loader: "js" }));
  },
};
