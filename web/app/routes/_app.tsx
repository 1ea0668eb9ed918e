import type { LoaderFunctionArgs } from "@remix-run/node";
import { Form, Link, NavLink, Outlet, useLoaderData, useLocation } from "@remix-run/react";
import { CsrfInput } from "../components/forms.tsx";
import { getPlatform } from "../lib/platform.server.ts";
import { requireOrgSession } from "../lib/session.server.ts";

/** The signed-in shell: navigation, organisation switcher, sign-out. Every child needs an organisation. */
export async function loader({ request }: LoaderFunctionArgs) {
  const session = await requireOrgSession(request);
  const { config } = await getPlatform();
  return {
    user: session.user,
    org: session.org,
    memberships: session.memberships.map((m) => ({ orgId: m.orgId, orgName: m.orgName })),
    workerUrl: config.WORKER_PUBLIC_URL,
  };
}

export default function AppShell() {
  const { user, org, memberships } = useLoaderData<typeof loader>();
  const location = useLocation();
  return (
    <>
      <header className="app">
        <nav aria-label="Main">
          <NavLink to="/dashboard">Dashboard</NavLink>
          <NavLink to="/jobs">Jobs</NavLink>
          <NavLink to="/agents">Agents</NavLink>
          <NavLink to="/tokens">API tokens</NavLink>
          <NavLink to="/members">Members</NavLink>
          <NavLink to="/plan">Plan</NavLink>
          {/* The operator-only plans page is linked for platform operators alone (migrations/0017). */}
          {user.isPlatformOperator ? <NavLink to="/operator/plans">Operator: plans</NavLink> : null}
        </nav>
        <div className="org-switch">
          <Form method="post" action="/switch-organisation" className="org-switch">
            <CsrfInput />
            <input type="hidden" name="next" value={location.pathname} />
            <label htmlFor="orgId" className="muted">
              Organisation
            </label>
            <select id="orgId" name="orgId" defaultValue={org.orgId}>
              {memberships.map((m) => (
                <option key={m.orgId} value={m.orgId}>
                  {m.orgName}
                </option>
              ))}
            </select>
            <button type="submit" className="secondary">
              Switch
            </button>
          </Form>
          <Link to="/organisations/new">New organisation</Link>
          <Form method="post" action="/signout">
            <CsrfInput />
            <button type="submit" className="secondary" title={`Signed in as ${user.email}`}>
              Sign out
            </button>
          </Form>
        </div>
      </header>
      <Outlet />
    </>
  );
}
