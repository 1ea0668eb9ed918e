// The web process (Procfile `web:`): serves the built Remix app (npm run build) with node:http.
import { randomBytes } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import closeWithGrace from "close-with-grace";
import { configOrExit } from "../core/config/parse-env.ts";
import { loadWebConfig } from "../core/config/web-config.ts";
import { createLogger } from "../core/logging/logger.ts";
import { metricsRefusal } from "../core/observability/metrics-access.ts";
import { createWebMetrics, type RequestKind } from "./metrics.ts";
import { redactedPath } from "./app/lib/redact-path.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SERVER_BUILD = join(ROOT, "build/web/server/index.js");
const CLIENT_DIR = join(ROOT, "build/web/client");

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

/**
 * Headers on every response. Scripts run only from this origin or with the response's nonce (the
 * inline scripts Remix renders carry it); nothing may frame the app; forms post only to it.
 */
function securityHeaders(nonce: string, https: boolean): Record<string, string> {
  return {
    "content-security-policy": [
      "default-src 'self'",
      `script-src 'self' 'nonce-${nonce}'`,
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "object-src 'none'",
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "form-action 'self'",
    ].join("; "),
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    ...(https ? { "strict-transport-security": "max-age=31536000; includeSubDomains" } : {}),
  };
}

// React and Remix pick their production code paths from NODE_ENV; this process only serves builds.
process.env.NODE_ENV ??= "production";
const config = configOrExit(() => loadWebConfig(process.env));
if (!existsSync(SERVER_BUILD)) {
  console.error("web: build/web is missing: run `npm run build` first (npm start does it for you)");
  process.exit(3);
}

const log = createLogger("web", config.LOG_LEVEL);
const build = (await import(pathToFileURL(SERVER_BUILD).href)) as ServerBuild;
const handleRequest = createRequestHandler(build, "production");
const https = config.WEB_PUBLIC_URL.startsWith("https://");
const STATIC_HEADERS = securityHeaders("static", https);
const metrics = createWebMetrics();

/** GET /metrics/prometheus, for Prometheus: METRICS_TOKEN or loopback only, like the worker's. */
async function serveMetrics(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const refusal = metricsRefusal(config.METRICS_TOKEN, request.headers.authorization, request.socket.remoteAddress);
  if (refusal) {
    response.writeHead(refusal.status, { ...STATIC_HEADERS, "content-type": "application/json", "cache-control": "no-store" });
    response.end(JSON.stringify({ error: { code: refusal.code, message: refusal.message } }));
    return;
  }
  const text = await metrics.registry.metrics();
  response.writeHead(200, { ...STATIC_HEADERS, "content-type": metrics.registry.contentType, "cache-control": "no-store" });
  response.end(text);
}

/**
 * The client's address. Behind TRUST_PROXY proxies, each appended the address it received from to
 * X-Forwarded-For; the client's is the one that many hops from the socket. Anything left of it
 * was written by the client and is ignored (it would let anyone pick their own rate-limit key).
 */
function clientIp(request: IncomingMessage): string {
  const socket = request.socket.remoteAddress ?? "unknown";
  if (config.TRUST_PROXY === 0) return socket;
  const header = request.headers["x-forwarded-for"];
  const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  const chain = [...forwarded, socket];
  return chain[Math.max(0, chain.length - 1 - config.TRUST_PROXY)]!;
}

/** X-Forwarded-Host as our nearest proxy set it (the last value), when proxies are trusted. */
function forwardedHost(request: IncomingMessage): string {
  if (config.TRUST_PROXY === 0) return "";
  return (
    String(request.headers["x-forwarded-host"] ?? "")
      .split(",")
      .at(-1)
      ?.trim() ?? ""
  );
}

/** Files under build/web/client; hashed /assets/ files are cached for a year. */
function serveStatic(request: IncomingMessage, response: ServerResponse): boolean {
  const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
  if (path === "/" || path.includes("\0")) return false;
  const file = join(CLIENT_DIR, path);
  if (!file.startsWith(`${CLIENT_DIR}/`) || !existsSync(file) || !statSync(file).isFile()) return false;
  response.writeHead(200, {
    ...STATIC_HEADERS,
    "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
    "cache-control": path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "public, max-age=3600",
  });
  createReadStream(file).pipe(response);
  return true;
}

/**
 * A form posted from another site (its Origin names a different host) is refused here, before
 * Remix, which would otherwise abort it with a server error. Browsers always send Origin on
 * cross-site posts; the CSRF token (web/app/lib/csrf.server.ts) covers the rest.
 */
function isCrossSiteMutation(request: IncomingMessage): boolean {
  if (request.method === "GET" || request.method === "HEAD") return false;
  const origin = request.headers.origin;
  if (!origin) return false;
  const host = forwardedHost(request) || request.headers.host;
  try {
    return origin === "null" || new URL(origin).host !== host;
  } catch {
    return true;
  }
}

const CROSS_SITE_PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Refused</title>
<main><h1>Refused</h1><p>This form was sent from another site, so it was refused. Open the app itself and try again.</p><p><a href="/">Go to the start page</a></p></main></html>`;

function toRequest(request: IncomingMessage, abort: AbortSignal): Request {
  const url = new URL(request.url ?? "/", `http://${request.headers.host ?? "localhost"}`);
  const headers = new Headers();
  for (const [key, value] of Object.entries(request.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(key, v);
  }
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  return new Request(url, {
    method: request.method,
    headers,
    signal: abort,
    ...(hasBody ? { body: Readable.toWeb(request) as ReadableStream, duplex: "half" } : {}),
  } as RequestInit);
}

const server = createServer(async (request, response) => {
  const started = performance.now();
  const reading = request.method === "GET" || request.method === "HEAD";
  const pathname = new URL(request.url ?? "/", "http://x").pathname;
  if (reading && pathname === "/metrics/prometheus") return serveMetrics(request, response);
  let kind: RequestKind = reading ? "page" : "action";
  response.on("finish", () => {
    const seconds = (performance.now() - started) / 1000;
    metrics.observe(request.method ?? "GET", kind, response.statusCode, seconds);
    // Path only: query strings and reset/invitation tokens stay out of the log.
    log.info(
      { method: request.method, path: redactedPath(pathname), statusCode: response.statusCode, ms: Math.round(seconds * 10_000) / 10 },
      "request",
    );
  });
  try {
    if (reading && serveStatic(request, response)) {
      kind = "static";
      return;
    }
    if (isCrossSiteMutation(request)) {
      kind = "refused";
      response.writeHead(403, { ...STATIC_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      response.end(CROSS_SITE_PAGE);
      return;
    }
    const abort = new AbortController();
    response.on("close", () => abort.abort());
    const nonce = randomBytes(16).toString("base64");
    const result = await handleRequest(toRequest(request, abort.signal), { nonce, clientIp: clientIp(request) });
    // Pages can show secrets (a new API token) and always show private data: never cached.
    const headers: Record<string, string | string[]> = { ...securityHeaders(nonce, https), "cache-control": "no-store" };
    result.headers.forEach((value, key) => {
      headers[key] = key === "set-cookie" ? result.headers.getSetCookie() : value;
    });
    response.writeHead(result.status, headers);
    if (result.body && request.method !== "HEAD") await pipeline(Readable.fromWeb(result.body as never), response);
    else response.end();
  } catch (error) {
    // A browser that goes away mid-response is not an error of ours.
    if (response.destroyed && !response.writableFinished) return;
    log.error({ err: error, path: redactedPath(new URL(request.url ?? "/", "http://x").pathname) }, "web request failed");
    if (!response.headersSent) response.writeHead(500, { ...STATIC_HEADERS, "content-type": "text/plain" });
    response.end("Something went wrong. Try again in a moment.");
  }
});

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) log.error({ err }, "web stopping after an unhandled error");
  else log.info({ signal }, "web stopping");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive connections would hold close() open until the client hangs up.
  server.closeIdleConnections();
  await closed;
  await (build.entry.module as { closePlatform?: () => Promise<void> }).closePlatform?.();
});

server.listen(config.WEB_PORT, config.HOST, () => {
  // The bound port, not the configured one: WEB_PORT=0 picks a free port (tests do).
  const { port } = server.address() as AddressInfo;
  log.info({ url: `http://${config.HOST}:${port}`, port }, "web listening");
});
