import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exampleAppDir } from "./support.js";

interface RunningApp {
  child: ChildProcess;
  port: number;
  release: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const running: ChildProcess[] = [];

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Starts `node server.js` on a free loopback port and waits for its "listening on" line. */
async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const child = spawn(process.execPath, [join(exampleAppDir, "server.js")], {
    env: { PATH: process.env.PATH, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const listening = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app did not start: ${output}`)), 5000);
    const check = () => {
      const match = output.match(/^listening on (\d+) release (\S+)$/m);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout!.on("data", check);
    child.on("exit", () => reject(new Error(`app exited before listening: ${output}`)));
  });
  return { child, port: Number(listening[1]), release: listening[2], output: () => output, exited };
}

/** One request on its own connection (no keep-alive agent), so a refused connection shows as an error. */
function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

describe("example app", () => {
  it("prints one line with its port and release, defaulting the release to package.json's version", async () => {
    // Act
    const app = await startApp();
    // Assess
    expect(app.release).toBe("1.0.0");
    expect(app.port).toBeGreaterThan(0);
  });

  it("answers 503 while starting, then 200 with its release", async () => {
    // Prepare
    const app = await startApp({ RELEASE: "v2", STARTUP_DELAY_MS: "800" });
    // Act
    const starting = await get(app.port, "/api/status/health");
    const ready = await waitFor(() => get(app.port, "/api/status/health"), (answer) => answer.status === 200, 5000);
    // Assess
    expect(starting.status).toBe(503);
    expect(JSON.parse(starting.body)).toMatchObject({ status: "starting", release: "v2" });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: "ok", release: "v2" });
    expect(ready.headers["x-release"]).toBe("v2");
  });

  it("always answers 503 when HEALTHY=false (a broken release)", async () => {
    const app = await startApp({ RELEASE: "v3", HEALTHY: "false" });
    await sleep(200);
    const answers = [await get(app.port, "/api/status/health"), await get(app.port, "/api/status/health")];
    expect(answers.map((answer) => answer.status)).toEqual([503, 503]);
    expect(JSON.parse(answers[0].body)).toMatchObject({ status: "unhealthy", release: "v3" });
  });

  it("shows its release label and host name in the page, escaped", async () => {
    const app = await startApp({ RELEASE: "v2", HOSTNAME: "ip-10-0-1-23<b>" });
    const page = await get(app.port, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain('<strong class="release">v2</strong>');
    expect(page.body).toContain("ip-10-0-1-23&#60;b&#62;");
    expect(page.body).not.toContain("<b>");
  });

  it("serves its public/ files and nothing outside them", async () => {
    const app = await startApp();
    const styles = await get(app.port, "/styles.css");
    const escape = await get(app.port, "/%2e%2e/package.json");
    expect(styles.status).toBe(200);
    expect(styles.headers["content-type"]).toContain("text/css");
    expect(escape.status).toBe(404);
  });

  it("on SIGTERM refuses new connections, finishes the in-flight request and exits 0", async () => {
    // Prepare: a slow request in flight.
    const app = await startApp({ RELEASE: "v2", SHUTDOWN_TIMEOUT_MS: "5000" });
    const inFlight = get(app.port, "/api/slow?ms=1500");
    await sleep(300);
    // Act
    const signalledAt = Date.now();
    app.child.kill("SIGTERM");
    await waitFor(async () => app.output(), (output) => output.includes("received SIGTERM"), 2000);
    const newConnection = await get(app.port, "/api/status/health").then(
      (answer) => `answered ${answer.status}`,
      (error: NodeJS.ErrnoException) => error.code,
    );
    const slowAnswer = await inFlight;
    const exit = await app.exited;
    // Assess
    expect(newConnection).toBe("ECONNREFUSED");
    expect(slowAnswer.status).toBe(200);
    expect(JSON.parse(slowAnswer.body)).toMatchObject({ release: "v2", sleptMs: 1500 });
    expect(slowAnswer.headers.connection).toBe("close");
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(4000);
  });

  it("exits within SHUTDOWN_TIMEOUT_MS even when a request would take longer", async () => {
    const app = await startApp({ SHUTDOWN_TIMEOUT_MS: "500" });
    const inFlight = get(app.port, "/api/slow?ms=10000").catch((error: NodeJS.ErrnoException) => error.code);
    await sleep(300);
    const signalledAt = Date.now();
    app.child.kill("SIGTERM");
    const exit = await app.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(450);
    expect(exit.at - signalledAt).toBeLessThan(2500);
    expect(await inFlight).toBe("ECONNRESET");
  });

  it("refuses a malformed setting instead of starting with a surprise", async () => {
    await expect(startApp({ STARTUP_DELAY_MS: "soon" })).rejects.toThrow(/STARTUP_DELAY_MS must be a non-negative integer/);
  });
});
