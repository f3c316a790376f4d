import { readdirSync, readFileSync } from "node:fs";
import { type Server, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/** A stand-in instance app: health 200 or 503, `/api/slow?ms=N`, everything else 200 with `x-release`. */
export async function startFakeApp(options: { release: string; healthy?: boolean }): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    res.setHeader("x-release", options.release);
    if (url.pathname === "/api/status/health") {
      res.statusCode = options.healthy === false ? 503 : 200;
      return res.end("{}");
    }
    requests.push(url.pathname);
    if (url.pathname === "/api/slow") {
      setTimeout(() => res.end("slow"), Number(url.searchParams.get("ms") ?? "0"));
      return;
    }
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET with a fresh connection; rejects on a connection error or after `timeoutMs` without an answer. */
export function get(url: string, options: { timeoutMs?: number } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: options.timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs} ms`)));
    req.end();
  });
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** True while a process with this pid exists (signal 0 only checks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The live child processes of `pid` (Linux: read from /proc), zombies excluded, as "<pid> <command line>". */
export function childProcesses(pid = process.pid): string[] {
  return childPids(pid).map((child) => {
    try {
      return `${child} ${readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0").join(" ").trim()}`;
    } catch {
      return `${child} (ended)`;
    }
  });
}

/** The pids of the live child processes of `pid` (Linux: read from /proc), zombies excluded. */
export function childPids(pid = process.pid): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "<pid> (<comm>) <state> <ppid> ...": comm may hold spaces and parentheses, so split after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) === pid && state !== "Z") children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}
