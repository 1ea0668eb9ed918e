import type { ActionFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData } from "@remix-run/react";
import { RESET_LIFETIME_MINUTES } from "../../../core/accounts/constants.ts";
import { forgotPasswordSchema, normaliseEmail, passwordResetRequest } from "../lib/core.server.ts";
import { CsrfInput, Field } from "../components/forms.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { throttle } from "../lib/throttle.server.ts";

export const meta: MetaFunction = () => [{ title: "Reset your password · GPT Agent Platform" }];

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const { config, db, mailer } = await getPlatform();
  const parsed = parseForm(forgotPasswordSchema, form, ["email"]);
  if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, sent: false }, { status: 400 });
  await throttle(
    [
      { key: `reset:ip:${context.clientIp}`, limit: config.SIGNIN_ATTEMPTS_PER_IP },
      { key: `reset:email:${normaliseEmail(parsed.values.email)}`, limit: config.SIGNIN_ATTEMPTS_PER_EMAIL },
    ],
    "password reset",
  );
  const reset = await passwordResetRequest(db.owner, parsed.values.email);
  if (reset) {
    const link = new URL(`/reset-password/${reset.token}`, config.WEB_PUBLIC_URL).toString();
    await mailer.send({
      to: reset.user.email,
      subject: "Reset your GPT Agent Platform password",
      text: `Someone asked to reset the password of this account. If it was you, open this link within ${RESET_LIFETIME_MINUTES} minutes:\n\n${link}\n\nIf it was not you, ignore this message; your password stays as it is.`,
    });
  }
  // The same answer either way, so the form does not reveal which addresses have accounts.
  return data({ fieldErrors: {} as Record<string, string>, sent: true });
}

export default function ForgotPassword() {
  const result = useActionData<typeof action>();
  return (
    <main className="narrow">
      <h1>Reset your password</h1>
      {result?.sent ? (
        <p className="notice" role="status">
          If an account exists for that address, we sent it a link to choose a new password. The link works once, for{" "}
          {RESET_LIFETIME_MINUTES} minutes.
        </p>
      ) : null}
      <Form method="post" noValidate>
        <CsrfInput />
        <Field name="email" label="Email" type="email" autoComplete="email" error={result?.fieldErrors.email} required />
        <button type="submit">Send reset link</button>
      </Form>
      <p>
        <Link to="/signin">Back to sign in</Link>
      </p>
    </main>
  );
}
