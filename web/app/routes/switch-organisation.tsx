import type { ActionFunctionArgs } from "@remix-run/node";
import { isUuid, sessionSwitchOrg } from "../lib/core.server.ts";
import { redirect } from "@remix-run/node";
import { readMutation } from "../lib/csrf.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { requireSession, safeNext } from "../lib/session.server.ts";

export async function loader() {
  throw redirect("/dashboard");
}

export async function action({ request }: ActionFunctionArgs) {
  const session = await requireSession(request);
  const form = await readMutation(request);
  const orgId = form.get("orgId");
  if (!isUuid(orgId) || !(await sessionSwitchOrg((await getPlatform()).db.owner, session, orgId))) {
    // A Response, not data(): this route has no page, and Remix only passes thrown Responses through.
    throw Response.json({ error: "You are not a member of that organisation." }, { status: 403 });
  }
  throw redirect(safeNext(form.get("next")));
}
