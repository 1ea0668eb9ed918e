import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { CsrfInput } from "../components/forms.tsx";
import { isUuid, OPERATOR_PAGE_SIZE, organisationPlans, PlanAssignmentError, planAssign, plansList } from "../lib/core.server.ts";
import { readMutation } from "../lib/csrf.server.ts";
import { inOrg } from "../lib/org.server.ts";
import type { OrgSession } from "../lib/session.server.ts";

/**
 * The operators' plans page: every organisation's plan, and a form to move one to another plan
 * (ops.assign_plan, as from psql). Only users named with ops.grant_platform_operator see it; to
 * everyone else it does not exist (404), so it reveals nothing of other organisations.
 */
export const meta: MetaFunction = () => [{ title: "Operator: plans · GPT Agent Platform" }];

const NOTE_MAX = 300;

function requireOperator(session: OrgSession): void {
  if (!session.user.isPlatformOperator) throw data({ error: "Page not found." }, { status: 404 });
}

export async function loader({ request }: LoaderFunctionArgs) {
  const search = (new URL(request.url).searchParams.get("q") ?? "").trim().slice(0, 100);
  return inOrg(request, async (trx, session, platform) => {
    requireOperator(session);
    const organisations = await organisationPlans(platform.db.owner, search);
    return {
      search,
      organisations: organisations.slice(0, OPERATOR_PAGE_SIZE),
      more: organisations.length > OPERATOR_PAGE_SIZE,
      pageSize: OPERATOR_PAGE_SIZE,
      plans: await plansList(trx),
    };
  });
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await readMutation(request);
  return inOrg(request, async (trx, session, platform) => {
    requireOperator(session);
    const orgId = form.get("orgId");
    const planId = form.get("planId");
    const note = String(form.get("note") ?? "");
    const refuse = (message: string) => data({ ok: false, message }, { status: 400 });
    if (!isUuid(orgId)) return refuse("Choose an organisation from the list.");
    const plans = await plansList(trx);
    const plan = plans.find((p) => p.id === planId);
    if (!plan) return refuse(`Choose one of the plans: ${plans.map((p) => p.id).join(", ")}.`);
    if (note.length > NOTE_MAX) return refuse(`The note is ${note.length} characters; at most ${NOTE_MAX}. Nothing was changed.`);
    try {
      await planAssign(platform.db.owner, { orgId, planId: plan.id, note, byEmail: session.user.email });
    } catch (error) {
      if (error instanceof PlanAssignmentError) return refuse(`${error.message}. Nothing was changed.`);
      throw error;
    }
    return { ok: true, message: `Moved to ${plan.name}: its next enqueue and claim use the plan's limits.` };
  });
}

export default function OperatorPlans() {
  const { search, organisations, more, pageSize, plans } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const planName = new Map(plans.map((p) => [p.id, p.name]));
  return (
    <main>
      <h1>Operator: plans</h1>
      <p className="muted">
        Every organisation's plan. A move takes effect at its next enqueue and claim; quotas already spent today stay spent. From psql:{" "}
        <code>SELECT ops.assign_plan('&lt;organisation id&gt;', '&lt;plan&gt;', 'why')</code>.
      </p>
      {result?.message ? (
        <p className={result.ok ? "notice" : "error banner"} role={result.ok ? "status" : "alert"}>
          {result.message}
        </p>
      ) : null}
      <Form method="get" className="narrow" role="search">
        <label htmlFor="q">Organisation name or slug</label>
        <input id="q" name="q" type="search" defaultValue={search} maxLength={100} />
        <button type="submit" className="secondary">
          Search
        </button>
      </Form>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Organisation</th>
              <th scope="col">Plan</th>
              <th scope="col">Assigned</th>
              <th scope="col">Move to</th>
            </tr>
          </thead>
          <tbody>
            {organisations.map((o) => (
              <tr key={o.orgId} data-org={o.orgId}>
                <th scope="row">
                  {o.name} <span className="muted">{o.slug}</span>
                </th>
                <td>
                  {planName.get(o.planId) ?? o.planId}
                  {o.assigned ? null : <span className="muted"> (default)</span>}
                </td>
                <td className="muted">
                  {o.assignedAt ? `${new Date(o.assignedAt).toUTCString()}, ${o.assignedBy}${o.note ? `: ${o.note}` : ""}` : "—"}
                </td>
                <td>
                  <Form method="post" className="inline">
                    <CsrfInput />
                    <input type="hidden" name="orgId" value={o.orgId} />
                    <label className="visually-hidden" htmlFor={`plan-${o.orgId}`}>
                      Plan for {o.name}
                    </label>
                    <select id={`plan-${o.orgId}`} name="planId" defaultValue={o.planId}>
                      {plans.map((p) => (
                        <option key={p.id} value={p.id}>
                          {p.name}
                        </option>
                      ))}
                    </select>
                    <label className="visually-hidden" htmlFor={`note-${o.orgId}`}>
                      Why (kept with the subscription)
                    </label>
                    <input id={`note-${o.orgId}`} name="note" placeholder="why" maxLength={NOTE_MAX} />
                    <button type="submit">Assign</button>
                  </Form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {organisations.length === 0 ? <p className="muted">No organisation matches “{search}”.</p> : null}
      {more ? <p className="muted">Showing the first {pageSize}; search to narrow the list.</p> : null}
    </main>
  );
}
