import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for a rate-limited upstream with Kommo's wire format
 * (../shared/notes/external-apis.md 1.3): GET /api/v4/account answers 200 application/hal+json,
 * and above `limit` requests in any one-second window per account (the x-account-id header),
 * 429 with a plain-text body and no Retry-After, as Kommo does. Accounts named "busy-*" always
 * answer 429 with Retry-After: 0; "busy-once-*" answer 429 to their first request only.
 */
export interface UpstreamRequest {
  at: number;
  account: string;
  status: number;
}

export interface RateLimitedUpstream {
  url: string;
  requests: UpstreamRequest[];
  /** Most requests of one account received in any one-second window (the 429s included). */
  busiestSecond(account?: string): number;
  close(): Promise<void>;
}

export async function startRateLimitedUpstream(options: { limit?: number } = {}): Promise<RateLimitedUpstream> {
  const limit = options.limit ?? 7;
  const requests: UpstreamRequest[] = [];
  const accepted = new Map<string, number[]>();
  const seen = new Set<string>();

  const answer = (request: IncomingMessage, response: ServerResponse) => {
    const at = performance.now();
    const account = String(request.headers["x-account-id"] ?? "");
    const send = (status: number, headers: Record<string, string>, body: string) => {
      requests.push({ at, account, status });
      response.writeHead(status, headers).end(body);
    };
    // For a fake in a process of its own (bench/rate-limits.ts): what it received, not counted itself.
    if (request.method === "GET" && request.url === "/_fake/requests") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(requests));
      return;
    }
    if (request.method !== "GET" || request.url !== "/api/v4/account") {
      return send(404, { "content-type": "application/problem+json" }, JSON.stringify({ title: "Not Found", status: 404 }));
    }
    const first = !seen.has(account);
    seen.add(account);
    if ((account.startsWith("busy-") && !account.startsWith("busy-once-")) || (account.startsWith("busy-once-") && first)) {
      return send(429, { "content-type": "text/plain", "retry-after": "0" }, "Too many requests");
    }
    const recent = (accepted.get(account) ?? []).filter((t) => t > at - 1000);
    if (recent.length >= limit) {
      accepted.set(account, recent);
      return send(429, { "content-type": "text/plain" }, "Too many requests");
    }
    recent.push(at);
    accepted.set(account, recent);
    send(
      200,
      { "content-type": "application/hal+json" },
      JSON.stringify({ id: 31_415_926, name: account, subdomain: account, currency: "USD", _links: { self: { href: "/api/v4/account" } } }),
    );
  };
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    busiestSecond: (account) => busiestSecond(requests, account),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Most requests of one account in any one-second window (sliding), over every account or one. */
export function busiestSecond(requests: readonly UpstreamRequest[], account?: string): number {
  const byAccount = new Map<string, number[]>();
  for (const r of requests) {
    if (account === undefined || r.account === account) byAccount.set(r.account, [...(byAccount.get(r.account) ?? []), r.at]);
  }
  let most = 0;
  for (const times of byAccount.values()) {
    times.sort((a, b) => a - b);
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= 1000) start++;
      most = Math.max(most, end - start + 1);
    }
  }
  return most;
}
