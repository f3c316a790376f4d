import { describe, expect, it } from "vitest";
import { allClients, CLIENT_RETRY } from "../../../functions/lib/clients.js";

describe("SDK clients", () => {
  it("every client retries as CLIENT_RETRY says (standard mode, 4 attempts), not as the environment or the SDK's defaults do", async () => {
    // The SDK's default is 3 attempts; AWS_MAX_ATTEMPTS / AWS_RETRY_MODE would change it if the config left it open.
    expect(CLIENT_RETRY).toEqual({ maxAttempts: 4, retryMode: "standard" });
    expect(allClients).toHaveLength(9);
    for (const client of allClients) {
      const name = client.constructor.name;
      expect(await client.config.maxAttempts(), name).toBe(4);
      expect(client.config.retryMode, name).toBe("standard");
      // The strategy the client retries with (StandardRetryStrategy, whose mode says which).
      const strategy = (await client.config.retryStrategy()) as { mode?: string };
      expect(strategy.mode, name).toBe("standard");
    }
  });

  it("each client has a configuration object of its own", () => {
    // A shared object would let one client's middleware-time changes reach every other client.
    const configs = allClients.map((client) => client.config);
    expect(new Set(configs).size).toBe(allClients.length);
  });
});
