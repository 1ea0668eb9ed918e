import { data } from "@remix-run/node";
import { canManage } from "../../../core/accounts/sessions.ts";
import { withOrg, type OrgTransaction } from "../../../core/db/org-scope.ts";
import { getPlatform, type Platform } from "./platform.server.ts";
import { requireOrgSession, type OrgSession } from "./session.server.ts";

/**
 * Runs `work` for the signed-in user inside a transaction scoped to their current organisation:
 * every query in it is limited by row-level security to that organisation's rows.
 */
export async function inOrg<T>(
  request: Request,
  work: (trx: OrgTransaction, session: OrgSession, platform: Platform) => Promise<T>,
): Promise<T> {
  const session = await requireOrgSession(request);
  const platform = await getPlatform();
  return withOrg(platform.db.app, session.org.orgId, (trx) => work(trx, session, platform));
}

/** Owners and admins manage agents, tokens and members; members see them and run jobs. */
export function requireManager(session: OrgSession): void {
  if (!canManage(session.org.role)) {
    throw data({ error: "Only owners and admins of this organisation can do that." }, { status: 403 });
  }
}

export function notFound(what: string): never {
  throw data({ error: `${what} not found in this organisation.` }, { status: 404 });
}
