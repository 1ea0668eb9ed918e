import type { FastifyInstance } from "fastify";
import { withOrg } from "../../core/db/org-scope.ts";
import { subscriptionOfOrg } from "../../core/plans/subscription.ts";
import { apiGuard } from "../plugins/api-guard.ts";

/**
 * GET /api/subscriptions: the token's organisation's plan, and for each quota its limit, usage
 * and reset time, with the one closest to its limit. Plans are assigned by operators
 * (ops.assign_plan); there is no payment provider.
 */
export async function subscriptionsRoutes(app: FastifyInstance): Promise<void> {
  // Dates go out as ISO 8601 strings (their JSON form).
  app.get("/api/subscriptions", { onRequest: apiGuard(app, "jobs:read") }, (request) =>
    withOrg(app.db.app, request.auth!.org, (trx) => subscriptionOfOrg(trx)),
  );
}
