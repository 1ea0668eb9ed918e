import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData } from "@remix-run/react";
import { SIGNUP_LINK_LIFETIME_HOURS } from "../../../core/accounts/constants.ts";
import { signUpSchema } from "../lib/core.server.ts";
import { CsrfInput, Field } from "../components/forms.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { getSession } from "../lib/session.server.ts";
import { requestAccountByMail } from "../lib/signup.server.ts";
import { throttle } from "../lib/throttle.server.ts";

export const meta: MetaFunction = () => [{ title: "Create an account · GPT Agent Platform" }];

export async function loader({ request }: LoaderFunctionArgs) {
  if (await getSession(request)) throw redirect("/dashboard");
  return null;
}

/**
 * Answers every valid request the same way ("check your inbox"), whether or not the address has an
 * account: the link in the mail finishes the account (web/app/routes/signup_.confirm.$token.tsx).
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const { config } = await getPlatform();
  await throttle([{ key: `signup:ip:${context.clientIp}`, limit: config.SIGNIN_ATTEMPTS_PER_IP }], "sign-up");
  const parsed = parseForm(signUpSchema, form, ["displayName", "email", "organisationName", "password"]);
  const values = {
    displayName: String(form.get("displayName") ?? ""),
    email: String(form.get("email") ?? ""),
    organisationName: String(form.get("organisationName") ?? ""),
  };
  if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, values, sentTo: null }, { status: 400 });
  await requestAccountByMail(parsed.values, { organisationName: parsed.values.organisationName });
  return { fieldErrors: {} as Record<string, string>, values, sentTo: parsed.values.email };
}

export default function SignUp() {
  const result = useActionData<typeof action>();
  const errors = result?.fieldErrors ?? {};
  if (result?.sentTo) {
    return (
      <main className="narrow">
        <h1>Check your inbox</h1>
        <p className="notice" role="status">
          We sent a message to <strong>{result.sentTo}</strong>. Open the link in it within {SIGNUP_LINK_LIFETIME_HOURS} hours to finish
          creating your account. If the address already has an account, the message says so instead.
        </p>
        <p>
          <Link to="/signin">Sign in</Link> · <Link to="/signup">Use another address</Link>
        </p>
      </main>
    );
  }
  return (
    <main className="narrow">
      <h1>Create an account</h1>
      <Form method="post" noValidate>
        <CsrfInput />
        <Field
          name="displayName"
          label="Your name"
          autoComplete="name"
          defaultValue={result?.values.displayName}
          error={errors.displayName}
          required
        />
        <Field
          name="email"
          label="Email"
          type="email"
          autoComplete="email"
          defaultValue={result?.values.email}
          error={errors.email}
          required
        />
        <Field
          name="organisationName"
          label="Organisation name"
          hint="You can invite colleagues to it later."
          defaultValue={result?.values.organisationName}
          error={errors.organisationName}
          required
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autoComplete="new-password"
          hint="At least 12 characters; not one that appears in breached-password lists."
          error={errors.password}
          required
        />
        <button type="submit">Create account</button>
      </Form>
      <p>
        Already have an account? <Link to="/signin">Sign in</Link>
      </p>
    </main>
  );
}
