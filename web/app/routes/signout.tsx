import type { ActionFunctionArgs } from "@remix-run/node";
import { sessionRevoke } from "../lib/core.server.ts";
import { redirect } from "@remix-run/node";
import { readMutation } from "../lib/csrf.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { endSessionHeaders, getSession } from "../lib/session.server.ts";

export async function loader() {
  throw redirect("/");
}

/** Sign-out revokes the session in the database, not just the cookie. */
export async function action({ request }: ActionFunctionArgs) {
  await readMutation(request);
  const session = await getSession(request);
  if (session) await sessionRevoke((await getPlatform()).db.owner, session.sessionId);
  throw redirect("/signin", { headers: await endSessionHeaders() });
}
