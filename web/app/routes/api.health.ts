import { webHealth } from "../lib/health.server.ts";

/** Dependencies at a glance (database, Redis when configured, worker heartbeat); 200 unless the database is down. */
export async function loader() {
  const health = await webHealth();
  return Response.json(health, { status: health.ready ? 200 : 503, headers: { "cache-control": "no-store" } });
}
