import type { ActionFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput, Field } from "../components/forms.tsx";
import { PayloadInvalidError, QuotaExceededError } from "../lib/core.server.ts";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { inOrg } from "../lib/org.server.ts";

export const meta: MetaFunction = () => [{ title: "Create a test job · GPT Agent Platform" }];

/** The form's fields; empty ones are left out of the payload. The payload itself is checked by test-job's schema. */
const optionalInt = z
  .string()
  .trim()
  .regex(/^-?\d*$/, { error: "Enter a whole number." })
  .transform((v) => (v === "" ? undefined : Number(v)))
  .optional();
const testJobForm = z.object({
  echo: z.string().max(10_000).optional(),
  delayMs: optionalInt,
  failOnAttempts: optionalInt,
  failMessage: z.string().max(2000).optional(),
});

export async function action({ request }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const parsed = parseForm(testJobForm, form, ["echo", "delayMs", "failOnAttempts", "failMessage"]);
  if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, quota: null }, { status: 400 });
  const v = parsed.values;
  const payload = Object.fromEntries(
    Object.entries({
      echo: v.echo || undefined,
      delayMs: v.delayMs,
      failOnAttempts: v.failOnAttempts,
      failMessage: v.failMessage || undefined,
    }).filter(([, value]) => value !== undefined),
  );
  try {
    const { id } = await inOrg(request, (trx, _s, platform) => platform.jobs.enqueue(trx, "test-job", payload));
    throw redirect(`/jobs/${id}`);
  } catch (error) {
    if (error instanceof QuotaExceededError) {
      // Over a plan quota: nothing was enqueued; the plan page shows the limits and usage.
      return data({ fieldErrors: {}, quota: error.message }, { status: 429 });
    }
    if (!(error instanceof PayloadInvalidError)) throw error;
    const fieldErrors = Object.fromEntries(error.problems.map((p) => [p.field.replace(/^payload\./, ""), p.message]));
    return data({ fieldErrors, quota: null }, { status: 400 });
  }
}

export default function NewTestJob() {
  const result = useActionData<typeof action>();
  const errors: Record<string, string> = result?.fieldErrors ?? {};
  return (
    <main className="narrow">
      <h1>Create a test job</h1>
      <p className="muted">A test-job echoes its input back. Use the knobs to see delays, retries and failures on the dashboard.</p>
      {result?.quota ? (
        <p className="error banner" role="alert">
          {result.quota}. Nothing was created; <Link to="/plan">your plan</Link> shows its limits and usage.
        </p>
      ) : null}
      <Form method="post" noValidate>
        <CsrfInput />
        <Field name="echo" label="Text to echo" error={errors.echo} />
        <Field name="delayMs" label="Delay (ms)" type="number" min={0} max={600000} hint="How long the job runs." error={errors.delayMs} />
        <Field
          name="failOnAttempts"
          label="Fail the first N attempts"
          type="number"
          min={1}
          max={1000}
          hint="3 or more makes it fail for good (2 retries)."
          error={errors.failOnAttempts}
        />
        <Field name="failMessage" label="Failure message" error={errors.failMessage} />
        <button type="submit">Create job</button>
      </Form>
    </main>
  );
}
