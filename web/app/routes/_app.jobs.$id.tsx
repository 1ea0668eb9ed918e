import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useActionData, useLoaderData, useRevalidator } from "@remix-run/react";
import { useEffect } from "react";
import { IntentButton } from "../components/forms.tsx";
import {
  attemptsStarted,
  cancelJob,
  failedAttemptsOfJob,
  isUuid,
  JobActionError,
  jobGetForOrg,
  jobTimeline,
  snoozesOfJob,
  outputIsError,
  retryJob,
} from "../lib/core.server.ts";
import { readMutation } from "../lib/csrf.server.ts";
import { inOrg, notFound } from "../lib/org.server.ts";

export const meta: MetaFunction = () => [{ title: "Job · GPT Agent Platform" }];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const id = params.id ?? "";
  if (!isUuid(id)) notFound("Job");
  const found = await inOrg(request, async (trx) => {
    const job = await jobGetForOrg(trx, id);
    return job && { job, timeline: jobTimeline(job, await failedAttemptsOfJob(trx, id), await snoozesOfJob(trx, id)) };
  });
  if (!found) notFound("Job");
  const { job, timeline } = found;
  return {
    job: {
      ...job,
      attempts: attemptsStarted(job),
      error: outputIsError(job) ? (job.output as { message?: string; stack?: string; attempt?: number } | null) : null,
      output: job.state === "completed" ? job.output : null,
    },
    timeline,
  };
}

export async function action({ request, params }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const id = params.id ?? "";
  if (!isUuid(id)) notFound("Job");
  const intent = form.get("intent");
  try {
    await inOrg(request, (trx, _s, platform) =>
      intent === "cancel" ? cancelJob(trx, platform.boss, id) : retryJob(trx, platform.boss, id),
    );
    return { error: null, done: intent === "cancel" ? "Cancelled." : "Retrying." };
  } catch (error) {
    if (error instanceof JobActionError) {
      if (error.code === "job_not_found") notFound("Job");
      return data({ error: error.message, done: null }, { status: 409 });
    }
    throw error;
  }
}

export default function JobDetail() {
  const { job, timeline } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const revalidator = useRevalidator();
  const running = job.state === "created" || job.state === "retry" || job.state === "active";
  // While the job is still going, follow it.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => revalidator.state === "idle" && revalidator.revalidate(), 2000);
    return () => clearInterval(timer);
  }, [running, revalidator]);
  const when = (value: string | Date | null) => (value ? new Date(value).toLocaleString() : "—");
  return (
    <main>
      <p>
        <Link to="/jobs">← Jobs</Link>
      </p>
      <h1>
        {job.type}{" "}
        <span className={`state state-${job.state}`} data-testid="job-state">
          {job.state}
        </span>
      </h1>
      {result?.error ? (
        <p className="error banner" role="alert">
          {result.error}
        </p>
      ) : null}
      {result?.done ? (
        <p className="notice" role="status">
          {result.done}
        </p>
      ) : null}
      <div className="cards">
        <div className="card">
          <div className="label">Created</div>
          {when(job.createdAt)}
        </div>
        <div className="card">
          <div className="label">Due</div>
          {when(job.startAfter)}
        </div>
        <div className="card">
          <div className="label">Last started</div>
          {when(job.startedAt)}
        </div>
        <div className="card">
          <div className="label">Finished</div>
          {when(job.completedAt)}
        </div>
        <div className="card">
          <div className="label">Attempts</div>
          {job.attempts} of {job.retryLimit + 1}
        </div>
      </div>
      <div className="cards">
        {job.state === "failed" || job.state === "cancelled" ? <IntentButton intent="retry" label="Retry" /> : null}
        {running ? <IntentButton intent="cancel" label="Cancel" className="danger" /> : null}
      </div>
      <h2>Attempts</h2>
      <ol className="timeline" data-testid="timeline">
        {timeline.map((entry, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a timeline is rendered whole, in order, and never reordered.
          <li key={i} className={`timeline-${entry.kind}`}>
            <span className="muted">{entry.at ? when(entry.at) : "—"}</span> {entry.text}
          </li>
        ))}
      </ol>
      <h2>Payload</h2>
      <pre>{JSON.stringify(job.payload, null, 2)}</pre>
      {job.output !== null ? (
        <>
          <h2>Output</h2>
          <pre data-testid="job-output">{JSON.stringify(job.output, null, 2)}</pre>
        </>
      ) : null}
      {job.error ? (
        <>
          <h2>Error{job.error.attempt ? ` (attempt ${job.error.attempt})` : ""}</h2>
          <p className="error" data-testid="job-error">
            {job.error.message}
          </p>
          {job.error.stack ? <pre>{job.error.stack}</pre> : null}
        </>
      ) : null}
      {job.deadLetteredFrom ? <p className="muted">Dead-letter copy of a job from {job.deadLetteredFrom}.</p> : null}
    </main>
  );
}
