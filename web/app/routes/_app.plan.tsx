import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import type { QuotaName } from "../../../core/plans/subscription.ts";
import { plansList, subscriptionOfOrg } from "../lib/core.server.ts";
import { inOrg } from "../lib/org.server.ts";

export const meta: MetaFunction = () => [{ title: "Plan · GPT Agent Platform" }];

const QUOTA_LABELS: Record<QuotaName, { label: string; resets: string }> = {
  max_waiting_jobs: { label: "Jobs waiting", resets: "frees up as jobs start" },
  jobs_per_day: { label: "Jobs enqueued today", resets: "resets at 00:00 UTC" },
  llm_tokens_per_month: { label: "LLM tokens this month", resets: "resets on the 1st (UTC)" },
};

export async function loader({ request }: LoaderFunctionArgs) {
  return inOrg(request, async (trx, session) => {
    return {
      subscription: await subscriptionOfOrg(trx),
      plans: await plansList(trx),
      // Owners and admins decide on the plan: they are told which limit they will meet first.
      isManager: session.org.role !== "member",
    };
  });
}

const number = (n: number | null) => (n === null ? "no limit" : n.toLocaleString("en"));

export default function Plan() {
  const { subscription, plans, isManager } = useLoaderData<typeof loader>();
  const closest = subscription.quotas.find((q) => q.quota === subscription.closest);
  return (
    <main>
      <h1>Plan: {subscription.plan.name}</h1>
      <p className="muted">
        Quotas hold for every way jobs enter: the web app, the API (429 <code>quota_exceeded</code>) and SQL. Over one, nothing is enqueued.
        Plans are assigned by the platform's operators.
      </p>
      <p data-testid="claim-terms">
        When other organisations have jobs ready too, a busy queue serves yours with weight{" "}
        <strong>{subscription.plan.fairShareWeight}</strong>
        {subscription.plan.maxRunningPerQueue === null ? (
          <>; the plan sets no cap on your jobs of one type running at once.</>
        ) : (
          <>
            ; at most <strong>{number(subscription.plan.maxRunningPerQueue)}</strong> of your jobs of one type run at once (the rest wait
            their turn; they are not refused).
          </>
        )}
      </p>
      {isManager && closest ? (
        <p className={closest.fraction !== null && closest.fraction >= 0.8 ? "error banner" : "notice"} role="status" data-testid="closest">
          Closest to its limit: <strong>{QUOTA_LABELS[closest.quota].label}</strong>, {Math.round((closest.fraction ?? 0) * 100)}% used (
          {number(closest.used)} of {number(closest.limit)}; {QUOTA_LABELS[closest.quota].resets}).
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Quota</th>
              <th scope="col">Used</th>
              <th scope="col">Limit</th>
              <th scope="col">Resets</th>
            </tr>
          </thead>
          <tbody>
            {subscription.quotas.map((q) => (
              <tr key={q.quota} data-quota={q.quota}>
                <th scope="row">{QUOTA_LABELS[q.quota].label}</th>
                <td>
                  {q.limit === null ? (
                    number(q.used)
                  ) : (
                    <>
                      <meter min={0} max={q.limit} low={q.limit * 0.6} high={q.limit * 0.8} optimum={0} value={Math.min(q.used, q.limit)}>
                        {Math.round((q.fraction ?? 0) * 100)}%
                      </meter>{" "}
                      {number(q.used)} ({Math.round((q.fraction ?? 0) * 100)}%)
                    </>
                  )}
                </td>
                <td>{number(q.limit)}</td>
                <td className="muted">{q.resetsAt ? new Date(q.resetsAt).toUTCString() : QUOTA_LABELS[q.quota].resets}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Plans</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Plan</th>
              <th scope="col">Jobs waiting</th>
              <th scope="col">Jobs a day</th>
              <th scope="col">LLM tokens a month</th>
              <th scope="col">Running at once, per job type</th>
              <th scope="col">Share of a busy queue (weight)</th>
            </tr>
          </thead>
          <tbody>
            {plans.map((p) => (
              <tr key={p.id} aria-current={p.id === subscription.plan.id ? "true" : undefined}>
                <th scope="row">
                  {p.name}
                  {p.id === subscription.plan.id ? <span className="muted"> (yours)</span> : null}
                </th>
                <td>{number(p.maxWaitingJobs)}</td>
                <td>{number(p.jobsPerDay)}</td>
                <td>{number(p.llmTokensPerMonth)}</td>
                <td>{number(p.maxRunningPerQueue)}</td>
                <td>{p.fairShareWeight}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {isManager ? <p className="muted">To change plan, ask the platform's operators.</p> : null}
    </main>
  );
}
