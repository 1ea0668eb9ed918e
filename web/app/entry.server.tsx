import { PassThrough } from "node:stream";
import type { AppLoadContext, EntryContext } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { renderToPipeableStream } from "react-dom/server";
import { reportError } from "../../core/observability/sentry.ts";
import { NonceContext } from "./lib/nonce.ts";
import { webLog } from "./lib/platform.server.ts";
import { redactedPath } from "./lib/redact-path.ts";

export { closePlatform } from "./lib/platform.server.ts";

/**
 * Errors thrown by loaders and actions: logged with the request and sent to Sentry; the browser
 * sees only the generic error page. A 4xx answer Remix reports here (a URL no route matches) is
 * an ordinary outcome, logged as such, without a stack.
 */
export function handleError(error: unknown, { request }: { request: Request }) {
  if (request.signal.aborted) return;
  const path = redactedPath(new URL(request.url).pathname);
  if (isRouteErrorResponse(error) && error.status < 500) {
    webLog().info({ method: request.method, path, status: error.status }, `web request answered ${error.status}`);
    return;
  }
  reportError(error, { path });
  webLog().error({ err: error, method: request.method, path }, "web request failed");
}

const ABORT_DELAY_MS = 5000;

/**
 * Renders every page as a stream. The per-request CSP nonce (from web/server.ts) goes to React and
 * to Remix's inline scripts, so the Content-Security-Policy can forbid every other inline script.
 */
export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  const nonce = loadContext.nonce;
  return new Promise<Response>((resolve, reject) => {
    let failed = false;
    const { pipe, abort } = renderToPipeableStream(
      <NonceContext.Provider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY_MS} nonce={nonce} />
      </NonceContext.Provider>,
      {
        nonce,
        onShellReady() {
          const body = new PassThrough();
          responseHeaders.set("Content-Type", "text/html; charset=utf-8");
          resolve(
            new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: failed ? 500 : responseStatusCode }),
          );
          pipe(body);
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError() {
          failed = true;
        },
      },
    );
    setTimeout(abort, ABORT_DELAY_MS + 1000);
  });
}
