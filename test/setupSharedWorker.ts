/**
 * Before each file of a shared worker (vitest.config.ts: projects `unit` and `shared`, worker threads without
 * per-file isolation): the SDK's client classes as the SDK ships them. aws-sdk-client-mock's `mockClient(Class)`
 * stubs the class's `send` (its prototype: every client of that class in the worker), and a unit test file leaves
 * its stub in place when it ends. The next file in the same worker may route those clients to the simulated region
 * (productWorld, simulatedWorld) and must not be answered by a mock it never set: a CI run failed that way, with
 * the SDK's warm-up call answered `undefined` by the previous file's stub.
 */
type ClientClass = { name: string; prototype: { send: unknown } };

/** The classes, loaded once per worker: this file runs again before every file, and an import costs a round trip to vitest's main process. */
const LOADED = Symbol.for("immutable-deploy.test.clientClasses");

/** Every SDK client class the project uses (package.json's `@aws-sdk/client-*`). */
export async function clientClasses(): Promise<ClientClass[]> {
  const cache = globalThis as { [LOADED]?: ClientClass[] };
  cache[LOADED] ??= await Promise.all([
    import("@aws-sdk/client-auto-scaling").then((m) => m.AutoScalingClient),
    import("@aws-sdk/client-cloudformation").then((m) => m.CloudFormationClient),
    import("@aws-sdk/client-cloudwatch").then((m) => m.CloudWatchClient),
    import("@aws-sdk/client-dynamodb").then((m) => m.DynamoDBClient),
    import("@aws-sdk/client-ec2").then((m) => m.EC2Client),
    import("@aws-sdk/client-elastic-load-balancing").then((m) => m.ElasticLoadBalancingClient),
    import("@aws-sdk/client-elastic-load-balancing-v2").then((m) => m.ElasticLoadBalancingV2Client),
    import("@aws-sdk/client-eventbridge").then((m) => m.EventBridgeClient),
    import("@aws-sdk/client-s3").then((m) => m.S3Client),
    import("@aws-sdk/client-sfn").then((m) => m.SFNClient),
    import("@aws-sdk/client-sns").then((m) => m.SNSClient),
  ]);
  return cache[LOADED];
}

/** Removes a sinon stub (aws-sdk-client-mock's) from each client class's `send`; returns the classes it restored. */
export async function restoreClientClasses(): Promise<string[]> {
  const restored: string[] = [];
  for (const Client of await clientClasses()) {
    const send = Client.prototype.send as { isSinonProxy?: boolean; restore?: () => void };
    if (send.isSinonProxy && typeof send.restore === "function") {
      send.restore();
      restored.push(Client.name);
    }
  }
  return restored;
}

await restoreClientClasses();
