import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { passwordResetComplete, passwordResetIsValid, resetPasswordSchema, ResetTokenInvalidError } from "../lib/core.server.ts";
import { CsrfInput, Field, FormError } from "../components/forms.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { endSessionHeaders } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Choose a new password · GPT Agent Platform" }];

export async function loader({ params }: LoaderFunctionArgs) {
  return { valid: await passwordResetIsValid((await getPlatform()).db.owner, params.token ?? "") };
}

export async function action({ request, params }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const parsed = parseForm(resetPasswordSchema, form, ["password"]);
  if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, formError: undefined }, { status: 400 });
  try {
    await passwordResetComplete((await getPlatform()).db.owner, params.token ?? "", parsed.values.password);
  } catch (error) {
    if (!(error instanceof ResetTokenInvalidError)) throw error;
    return data({ fieldErrors: {} as Record<string, string>, formError: error.message }, { status: 400 });
  }
  // Every session of the account was revoked; this browser signs in again with the new password.
  throw redirect("/signin?reset=1", { headers: await endSessionHeaders() });
}

export default function ResetPassword() {
  const { valid } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  if (!valid) {
    return (
      <main className="narrow">
        <h1>This link no longer works</h1>
        <p>
          Reset links work once, for an hour. <Link to="/forgot-password">Ask for a new one</Link>.
        </p>
      </main>
    );
  }
  return (
    <main className="narrow">
      <h1>Choose a new password</h1>
      <FormError message={result?.formError} />
      <Form method="post" noValidate>
        <CsrfInput />
        <Field
          name="password"
          label="New password"
          type="password"
          autoComplete="new-password"
          hint="At least 12 characters. You will be signed out everywhere."
          error={result?.fieldErrors.password}
          required
        />
        <button type="submit">Change password</button>
      </Form>
    </main>
  );
}
