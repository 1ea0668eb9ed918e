import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import type { JobState } from "../../../core/jobs/job-queries.ts";
import { CsrfInput } from "../components/forms.tsx";
import { findJobType, jobListForOrg, JobSearchTooSlowError, jobTypeNames, retryDeadLettersOfType } from "../lib/core.server.ts";
import { readMutation } from "../lib/csrf.server.ts";
import { inOrg } from "../lib/org.server.ts";

export const meta: MetaFunction = () => [{ title: "Jobs · GPT Agent Platform" }];

const STATES: JobState[] = ["created", "retry", "active", "completed", "failed", "cancelled"];
const PAGE_SIZE = 50;
const BULK_RETRY_LIMIT = 1000;

function dateParam(value: string | null): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export async function loader({ request }: LoaderFunctionArgs) {
  const params = new URL(request.url).searchParams;
  const type = params.get("type") || undefined;
  const state = STATES.find((s) => s === params.get("state"));
  const text = params.get("text")?.trim().slice(0, 200) || undefined;
  const [cursorAt, cursorId] = (params.get("after") ?? "").split("~");
  const filter = {
    type: type && findJobType(type) ? type : undefined,
    state,
    from: dateParam(params.get("from")),
    to: dateParam(params.get("to")),
    text,
    after: cursorAt && cursorId ? { createdAt: cursorAt, id: cursorId } : undefined,
    limit: PAGE_SIZE,
  };
  // What the filter form shows, and the link to the next page (same filters, later cursor).
  const shown = {
    type: filter.type ?? "",
    state: state ?? "",
    from: params.get("from") ?? "",
    to: params.get("to") ?? "",
    text: text ?? "",
  };
  const nextHref = (next: { createdAt: string; id: string } | null) => {
    if (!next) return null;
    const query = new URLSearchParams(Object.entries(shown).filter(([, v]) => v !== ""));
    query.set("after", `${next.createdAt}~${next.id}`);
    return `?${query}`;
  };
  try {
    const page = await inOrg(request, (trx) => jobListForOrg(trx, filter));
    return { items: page.items, nextHref: nextHref(page.next), shown, error: null, types: jobTypeNames(), states: STATES };
  } catch (error) {
    if (!(error instanceof JobSearchTooSlowError)) throw error;
    return { items: [], nextHref: null, shown, error: error.message, types: jobTypeNames(), states: STATES };
  }
}

/** Bulk retry: every job of one type that failed for good (up to 1,000 at a time). */
export async function action({ request }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const type = String(form.get("type") ?? "");
  if (!findJobType(type)) return data({ message: null, error: "Choose a job type to retry." }, { status: 400 });
  const retried = await inOrg(request, (trx, _session, platform) =>
    retryDeadLettersOfType(trx, platform.boss, platform.jobs, type, BULK_RETRY_LIMIT),
  );
  return {
    message: retried === 0 ? `No failed ${type} jobs to retry.` : `Retrying ${retried} failed ${type} job${retried === 1 ? "" : "s"}.`,
    error: null,
  };
}

export default function Jobs() {
  const { items, nextHref, shown, error, types, states } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <main>
      <h1>Jobs</h1>
      <p>
        <Link to="/jobs/new" className="button">
          Create a test job
        </Link>
      </p>
      <Form method="get" className="filters" aria-label="Filter jobs">
        <ChoiceFilter name="type" label="Type" anyLabel="All types" choices={types} value={shown.type} />
        <ChoiceFilter name="state" label="State" anyLabel="All states" choices={states} value={shown.state} />
        <div className="field">
          <label htmlFor="from">From</label>
          <input id="from" name="from" type="datetime-local" defaultValue={shown.from} />
        </div>
        <div className="field">
          <label htmlFor="to">To</label>
          <input id="to" name="to" type="datetime-local" defaultValue={shown.to} />
        </div>
        <div className="field">
          <label htmlFor="text">Text in payload</label>
          <input id="text" name="text" type="search" defaultValue={shown.text} />
        </div>
        <button type="submit" className="secondary">
          Filter
        </button>
      </Form>
      {error ? (
        <p className="error banner" role="alert">
          {error}
        </p>
      ) : null}
      {result?.message ? (
        <p className="notice" role="status">
          {result.message}
        </p>
      ) : null}
      {result?.error ? (
        <p className="error banner" role="alert">
          {result.error}
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Type</th>
              <th scope="col">State</th>
              <th scope="col" className="optional">
                Attempts
              </th>
              <th scope="col" className="optional">
                Finished
              </th>
            </tr>
          </thead>
          <tbody>
            {items.length === 0 ? (
              <tr>
                <td colSpan={5} className="muted">
                  No jobs match.
                </td>
              </tr>
            ) : (
              items.map((job) => (
                <tr key={job.id} data-testid="job-row">
                  <td>
                    <Link to={`/jobs/${job.id}`}>{new Date(job.createdAt).toLocaleString()}</Link>
                  </td>
                  <td>{job.type}</td>
                  <td className={`state state-${job.state}`}>{job.state}</td>
                  <td className="optional">{job.attempts}</td>
                  <td className="optional">{job.completedAt ? new Date(job.completedAt).toLocaleString() : "—"}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {nextHref ? (
        <p>
          <Link to={nextHref}>Older jobs →</Link>
        </p>
      ) : null}
      <h2>Retry failed jobs</h2>
      <Form method="post" className="filters">
        <CsrfInput />
        <div className="field">
          <label htmlFor="bulk-type">Job type</label>
          <select id="bulk-type" name="type">
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="secondary">
          Retry all failed jobs of this type
        </button>
      </Form>
    </main>
  );
}

/** A labelled select of the filter form; the empty choice means no filter. */
function ChoiceFilter({
  name,
  label,
  anyLabel,
  choices,
  value,
}: {
  name: string;
  label: string;
  anyLabel: string;
  choices: readonly string[];
  value: string | undefined;
}) {
  return (
    <div className="field">
      <label htmlFor={name}>{label}</label>
      <select id={name} name={name} defaultValue={value}>
        <option value="">{anyLabel}</option>
        {choices.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </div>
  );
}
