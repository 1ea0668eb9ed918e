import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation, useRevalidator } from "@remix-run/react";
import {
  dashboardRead,
  findJobType,
  isUuid,
  JobActionError,
  queuePauseForOrg,
  queuePausesForOrg,
  queueResume,
  retryDeadLetter,
} from "../lib/core.server.ts";
import { useEffect } from "react";
import { CsrfInput } from "../components/forms.tsx";
import { ThroughputChart } from "../components/throughput-chart.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { inOrg, requireManager } from "../lib/org.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { requireOrgSession } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Dashboard · GPT Agent Platform" }];

const REFRESH_MS = 5000;

export async function loader({ request }: LoaderFunctionArgs) {
  return inOrg(request, async (trx, session) => ({
    orgName: session.org.orgName,
    canManage: session.org.role !== "member",
    dashboard: await dashboardRead(trx),
    pauses: await queuePausesForOrg(trx),
  }));
}

/** Retry button on a recent failure; Pause and Resume on a job type (owners and admins). */
export async function action({ request }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const intent = form.get("intent");
  if (intent === "pause" || intent === "resume") return pauseOrResume(request, intent, form.get("type"));
  const id = form.get("deadLetterJobId");
  if (!isUuid(id)) return data({ error: "That failure is no longer listed.", retried: null, notice: null }, { status: 400 });
  return inOrg(request, async (trx, _session, platform) => {
    try {
      return { error: null, retried: await retryDeadLetter(trx, platform.boss, platform.jobs, id), notice: null };
    } catch (error) {
      if (error instanceof JobActionError) return data({ error: error.message, retried: null, notice: null }, { status: 404 });
      throw error;
    }
  });
}

async function pauseOrResume(request: Request, intent: "pause" | "resume", type: FormDataEntryValue | null) {
  if (typeof type !== "string" || !findJobType(type))
    return data({ error: "No such job type.", retried: null, notice: null }, { status: 400 });
  if (intent === "pause") {
    return inOrg(request, async (trx, session) => {
      requireManager(session);
      await queuePauseForOrg(trx, type, `user:${session.user.email}`, null);
      return { error: null, retried: null, notice: `Paused ${type}: its jobs wait until you resume it.` };
    });
  }
  // Outside inOrg: the workers are woken after the resume commits (queueResume).
  const session = await requireOrgSession(request);
  requireManager(session);
  const { resumed } = await queueResume((await getPlatform()).db, session.org.orgId, type);
  return { error: null, retried: null, notice: resumed ? `Resumed ${type}.` : `${type} was not paused by this organisation.` };
}

function age(since: string | Date | null): string {
  if (!since) return "—";
  const seconds = Math.max(0, Math.round((Date.now() - new Date(since).getTime()) / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return seconds < 172_800 ? `${Math.round(seconds / 3600)} h` : `${Math.round(seconds / 86_400)} days`;
}

/** The newest backup and restore drill, in one line; what to do when there is none. */
function DataProtection({
  status,
}: {
  status: {
    lastBackupAt: string | Date | null;
    lastDrill: { ok: boolean; failure: string | null; rtoSeconds: number | null; finishedAt: string | Date } | null;
  };
}) {
  const drill = status.lastDrill;
  return (
    <p className="muted" data-testid="data-protection">
      {status.lastBackupAt
        ? `Newest backup: ${age(status.lastBackupAt)} old`
        : "No backup recorded yet (operators: scripts/backup-database.sh)"}
      {" · "}
      {!drill
        ? "no restore drill yet (scripts/restore-drill.sh)"
        : drill.ok
          ? `last restore drill passed ${age(drill.finishedAt)} ago, restored in ${drill.rtoSeconds ?? "?"} s`
          : `last restore drill FAILED ${age(drill.finishedAt)} ago: ${drill.failure}`}
    </p>
  );
}

/** Running or paused (by whom, why), and the organisation's own Pause or Resume button. */
function QueueStatus({
  type,
  pauses,
  canManage,
}: {
  type: string;
  pauses: { queue: string; ownOrganisation: boolean; reason: string | null }[];
  canManage: boolean;
}) {
  const own = pauses.find((p) => p.queue === type && p.ownOrganisation);
  const everyone = pauses.find((p) => p.queue === type && !p.ownOrganisation);
  const because = (reason: string | null) => (reason ? `: ${reason}` : "");
  return (
    <>
      {everyone ? <span className="error">paused by the operators{because(everyone.reason)}</span> : null}
      {own ? <span className="error">paused by your organisation{because(own.reason)}</span> : null}
      {!own && !everyone ? <span>running</span> : null}
      {canManage ? (
        <Form method="post">
          <CsrfInput />
          <input type="hidden" name="type" value={type} />
          <button type="submit" name="intent" value={own ? "resume" : "pause"} className="secondary">
            {own ? "Resume" : "Pause"}
          </button>
        </Form>
      ) : null}
    </>
  );
}

export default function Dashboard() {
  const { orgName, canManage, dashboard, pauses } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const revalidator = useRevalidator();
  const navigation = useNavigation();
  // Refreshes itself while visible; pauses while a form is being sent.
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible" && navigation.state === "idle" && revalidator.state === "idle") revalidator.revalidate();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [navigation.state, revalidator]);

  const totals = dashboard.queues.reduce(
    (t, q) => ({
      waiting: t.waiting + q.queued + q.retry,
      active: t.active + q.active,
      completed: t.completed + q.completed24h,
      failed: t.failed + q.failed24h,
    }),
    { waiting: 0, active: 0, completed: 0, failed: 0 },
  );
  return (
    <main>
      <h1>{orgName}: operations</h1>
      <p className="muted" aria-live="polite">
        Updated {new Date(dashboard.generatedAt).toLocaleTimeString()} · refreshes every {REFRESH_MS / 1000} s
      </p>
      <div className="cards">
        <div className="card">
          <div className="value" data-testid="waiting">
            {totals.waiting}
          </div>
          <div className="label">waiting to run</div>
        </div>
        <div className="card">
          <div className="value">{totals.active}</div>
          <div className="label">running</div>
        </div>
        <div className="card">
          <div className="value" data-testid="completed-24h">
            {totals.completed}
          </div>
          <div className="label">completed, 24 h</div>
        </div>
        <div className="card">
          <div className="value" data-testid="failed-24h">
            {totals.failed}
          </div>
          <div className="label">failed, 24 h</div>
        </div>
        <div className="card">
          <div className="value" data-testid="workers">
            {dashboard.workersAlive}
          </div>
          <div className="label">workers alive</div>
        </div>
      </div>
      <DataProtection status={dashboard.dataProtection} />

      <h2>Throughput</h2>
      <ThroughputChart points={dashboard.lastHour.map((p) => ({ ...p, at: String(p.at) }))} label="Last hour" bucket="minute" />
      <ThroughputChart points={dashboard.last24Hours.map((p) => ({ ...p, at: String(p.at) }))} label="Last 24 hours" bucket="hour" />

      <h2>Queues</h2>
      {result?.notice ? (
        <p className="notice" role="status">
          {result.notice}
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Job type</th>
              <th scope="col">Queued</th>
              <th scope="col">Retry</th>
              <th scope="col">Running</th>
              <th scope="col" className="optional">
                Deferred
              </th>
              <th scope="col">Oldest waiting</th>
              <th scope="col">Failure rate 24 h</th>
              <th scope="col" className="optional">
                p95 run time
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {dashboard.queues.map((q) => (
              <tr key={q.type}>
                <th scope="row">
                  <Link to={`/jobs?type=${q.type}`}>{q.type}</Link>
                </th>
                <td>{q.queued}</td>
                <td>{q.retry}</td>
                <td>{q.active}</td>
                <td className="optional">{q.deferred}</td>
                <td>{age(q.oldestWaitingAt ? String(q.oldestWaitingAt) : null)}</td>
                <td>{q.failureRate24h === null ? "—" : `${(q.failureRate24h * 100).toFixed(1)}%`}</td>
                <td className="optional">{q.runMsP95 === null ? "—" : `${Math.round(q.runMsP95)} ms`}</td>
                <td data-testid={`status-${q.type}`}>
                  <QueueStatus type={q.type} pauses={pauses} canManage={canManage} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Recent failures</h2>
      {result?.error ? (
        <p className="error banner" role="alert">
          {result.error}
        </p>
      ) : null}
      {result?.retried ? (
        <p className="notice" role="status">
          Retrying: <Link to={`/jobs/${result.retried}`}>job {result.retried}</Link>
        </p>
      ) : null}
      {dashboard.failures.length === 0 ? (
        <p className="muted">No job has failed for good in the last 30 days.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Job</th>
                <th scope="col">Error</th>
                <th scope="col" className="optional">
                  Attempts
                </th>
                <th scope="col">
                  <span className="muted">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {dashboard.failures.map((f) => (
                <tr key={f.deadLetterJobId} data-testid="failure">
                  <td>{new Date(f.failedAt).toLocaleString()}</td>
                  <td>
                    <Link to={`/jobs/${f.jobId}`}>{f.type}</Link>
                  </td>
                  <td>{f.message}</td>
                  <td className="optional">{f.attempts}</td>
                  <td>
                    <Form method="post">
                      <CsrfInput />
                      <input type="hidden" name="deadLetterJobId" value={f.deadLetterJobId} />
                      <button type="submit" className="secondary">
                        Retry
                      </button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
