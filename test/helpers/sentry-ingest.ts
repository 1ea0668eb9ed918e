import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import type { Test } from "tap";

export interface SentryEvent {
  event_id: string;
  level?: string;
  tags?: Record<string, string>;
  extra?: Record<string, unknown>;
  exception?: { values: { type: string; value: string }[] };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

/**
 * A local stand-in for Sentry's ingest: accepts POST /api/<project>/envelope/ like sentry.io and
 * parses the envelope (newline-delimited: envelope header, then item header and item payload pairs).
 */
export async function startSentryIngest(t: Test): Promise<{ dsn: string; events: SentryEvent[] }> {
  const events: SentryEvent[] = [];
  const server = createServer(async (request, response) => {
    const body = (await readBody(request)).toString("utf8");
    if (request.method === "POST" && /^\/api\/\d+\/envelope\/?/.test(request.url ?? "")) {
      const lines = body.split("\n").filter(Boolean);
      for (let i = 1; i + 1 < lines.length; i += 2) {
        const itemHeader = JSON.parse(lines[i]!) as { type: string };
        if (itemHeader.type === "event") events.push(JSON.parse(lines[i + 1]!) as SentryEvent);
      }
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "ok" }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { dsn: `http://publickey@127.0.0.1:${port}/42`, events };
}
