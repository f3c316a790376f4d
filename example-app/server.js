/**
 * The example web app that immutable-deploy bakes, rehearses and deploys first. Node built-ins only.
 *
 * Environment:
 *   PORT                 port to listen on (default 3000; 0 = any free port)
 *   LISTEN_ADDRESS       address to bind (default 127.0.0.1: on an instance nginx is in front)
 *   RELEASE              release label (default: package.json version)
 *   HOSTNAME             host name shown in the page (default: the OS host name)
 *   STARTUP_DELAY_MS     how long the health endpoint says 503 "starting" after listening (default 0)
 *   SHUTDOWN_TIMEOUT_MS  bound on graceful shutdown after SIGTERM/SIGINT (default 10000)
 *   HEALTHY              "false" makes the health endpoint always answer 503 (a broken release)
 *
 * Routes: GET /api/status/health, GET / (page with release and host), GET /api/slow?ms=N (answers after N
 * ms, at most 60000: for shutdown tests), and static files from public/ (nginx serves those on instances).
 * Every response carries an `x-release` header, so a load generator can count who served it.
 */
import { readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { hostname } from "node:os";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const appDir = dirname(fileURLToPath(import.meta.url));
const publicDir = join(appDir, "public");
const packageInfo = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8"));

const HEALTH_PATH = "/api/status/health";
const MAX_SLOW_MS = 60_000;
const CONTENT_TYPES = {
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".ico": "image/x-icon",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
};

function readIntegerEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return value;
}

const config = {
  port: readIntegerEnv("PORT", 3000),
  listenAddress: process.env.LISTEN_ADDRESS || "127.0.0.1",
  release: process.env.RELEASE || packageInfo.version,
  host: process.env.HOSTNAME || hostname(),
  startupDelayMs: readIntegerEnv("STARTUP_DELAY_MS", 0),
  shutdownTimeoutMs: readIntegerEnv("SHUTDOWN_TIMEOUT_MS", 10_000),
  healthy: process.env.HEALTHY !== "false",
};

/** "starting" until STARTUP_DELAY_MS has passed, "ready", then "stopping" from the first SIGTERM. */
let lifecycle = "starting";

function send(res, status, contentType, body) {
  res.statusCode = status;
  res.setHeader("content-type", contentType);
  res.setHeader("x-release", config.release);
  res.setHeader("cache-control", "no-store");
  // While stopping, close each kept-alive connection after its response, so shutdown can finish.
  if (lifecycle === "stopping") res.setHeader("connection", "close");
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, CONTENT_TYPES[".json"], `${JSON.stringify(value)}\n`);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function renderPage() {
  const release = escapeHtml(config.release);
  const host = escapeHtml(config.host);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(packageInfo.name)} ${release}</title>
<link rel="stylesheet" href="/styles.css">
</head>
<body>
<main>
<h1>Hi there! I'm being served from <span class="host">${host}</span></h1>
<p>Release <strong class="release">${release}</strong></p>
</main>
</body>
</html>
`;
}

function health(res) {
  if (!config.healthy) return sendJson(res, 503, { status: "unhealthy", release: config.release });
  if (lifecycle !== "ready") return sendJson(res, 503, { status: lifecycle, release: config.release });
  return sendJson(res, 200, { status: "ok", release: config.release, host: config.host });
}

function slow(res, url) {
  const requested = Number(url.searchParams.get("ms") ?? "0");
  if (!Number.isInteger(requested) || requested < 0) return sendJson(res, 400, { error: "ms must be a non-negative integer" });
  const sleptMs = Math.min(requested, MAX_SLOW_MS);
  setTimeout(() => sendJson(res, 200, { release: config.release, host: config.host, sleptMs }), sleptMs);
}

async function staticFile(res, pathname) {
  let relativePath;
  try {
    relativePath = decodeURIComponent(pathname);
  } catch {
    return sendJson(res, 400, { error: "bad path" });
  }
  const filePath = resolve(publicDir, `.${relativePath}`);
  if (!filePath.startsWith(publicDir + sep) || relativePath.split("/").some((part) => part.startsWith("."))) {
    return sendJson(res, 404, { error: "not found" });
  }
  try {
    if (!(await stat(filePath)).isFile()) return sendJson(res, 404, { error: "not found" });
    send(res, 200, CONTENT_TYPES[extname(filePath)] ?? "application/octet-stream", await readFile(filePath));
  } catch {
    sendJson(res, 404, { error: "not found" });
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: "method not allowed" });
  if (url.pathname === HEALTH_PATH) return health(res);
  if (url.pathname === "/") return send(res, 200, CONTENT_TYPES[".html"], renderPage());
  if (url.pathname === "/api/slow") return slow(res, url);
  return staticFile(res, url.pathname).catch(() => sendJson(res, 500, { error: "internal error" }));
});

function shutdown(signal) {
  if (lifecycle === "stopping") return;
  lifecycle = "stopping";
  console.log(`received ${signal}, finishing in-flight requests (at most ${config.shutdownTimeoutMs} ms)`);
  // Stop accepting connections; the callback runs once the in-flight requests are answered.
  server.close(() => {
    console.log("stopped");
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => {
    console.log(`shutdown bound of ${config.shutdownTimeoutMs} ms reached, closing remaining connections`);
    server.closeAllConnections();
    process.exit(0);
  }, config.shutdownTimeoutMs).unref();
}

// Keep idle connections open longer than nginx's upstream keepalive_timeout (60 s), so nginx never reuses a
// connection the app is closing at that moment (a 502).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

server.listen(config.port, config.listenAddress, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  console.log(`listening on ${port} release ${config.release}`);
  setTimeout(() => {
    if (lifecycle === "starting") lifecycle = "ready";
  }, config.startupDelayMs);
});
