import { timingSafeEqual } from "node:crypto";

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

export interface MetricsRefusal {
  status: 401 | 403;
  code: "metrics_token_required" | "metrics_loopback_only";
  message: string;
}

/**
 * Who may read a process's metrics (worker and web alike): with METRICS_TOKEN set, whoever sends
 * `Authorization: Bearer <METRICS_TOKEN>`; without it, only clients on the loopback interface,
 * never the open network. Returns why a request is refused, or null when it may read.
 */
export function metricsRefusal(
  token: string | undefined,
  authorization: string | undefined,
  remoteAddress: string | undefined,
): MetricsRefusal | null {
  if (token) {
    const given = Buffer.from(authorization?.replace(/^Bearer\s+/i, "") ?? "");
    const expected = Buffer.from(token);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
    return { status: 401, code: "metrics_token_required", message: "send Authorization: Bearer <METRICS_TOKEN> to read metrics" };
  }
  if (LOOPBACK.has(remoteAddress ?? "")) return null;
  return { status: 403, code: "metrics_loopback_only", message: "metrics answer only on loopback unless METRICS_TOKEN is set" };
}
