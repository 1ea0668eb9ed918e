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
  app.get("/api/subscriptions", { onRequest: apiGuard(app, "jobs:read") }, async (request) => {
    const subscription = await withOrg(app.db.app, request.auth!.org, (trx) => subscriptionOfOrg(trx));
    return {
      plan: subscription.plan,
      quotas: subscription.quotas.map((q) => ({ ...q, resetsAt: q.resetsAt?.toISOString() ?? null })),
      closest: subscription.closest,
    };
  });
}
