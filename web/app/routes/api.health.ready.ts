import { webHealth } from "../lib/health.server.ts";

/** Readiness for load balancers: 503 with the reason while the database is unreachable. */
export async function loader() {
  const health = await webHealth();
  const body = health.ready ? { status: "ready" } : { status: "not_ready", reason: `database: ${health.checks.database?.detail}` };
  return Response.json(body, { status: health.ready ? 200 : 503, headers: { "cache-control": "no-store" } });
}
