import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useSearchParams } from "@remix-run/react";
import {
  membershipsOfUser,
  needsRehash,
  normaliseEmail,
  setPassword,
  signInSchema,
  userByEmail,
  verifyPassword,
} from "../lib/core.server.ts";
import { CsrfInput, Field, FormError } from "../components/forms.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { getSession, safeNext, startSession } from "../lib/session.server.ts";
import { throttle } from "../lib/throttle.server.ts";

export const meta: MetaFunction = () => [{ title: "Sign in · GPT Agent Platform" }];

export async function loader({ request }: LoaderFunctionArgs) {
  if (await getSession(request)) throw redirect(safeNext(new URL(request.url).searchParams.get("next")));
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const { config, db } = await getPlatform();
  const parsed = parseForm(signInSchema, form, ["email", "password"]);
  const typed = String(form.get("email") ?? "");
  if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, formError: undefined, email: typed }, { status: 400 });
  // Guessing one account is limited per address; the limit across all addresses is high, so that
  // a stranger's wrong passwords from their own address cannot lock the owner out of theirs.
  const email = normaliseEmail(parsed.values.email);
  await throttle(
    [
      { key: `signin:ip:${context.clientIp}`, limit: config.SIGNIN_ATTEMPTS_PER_IP },
      { key: `signin:email-ip:${email}:${context.clientIp}`, limit: config.SIGNIN_ATTEMPTS_PER_EMAIL },
      { key: `signin:email:${email}`, limit: config.SIGNIN_ATTEMPTS_PER_EMAIL_ALL_ADDRESSES },
    ],
    "sign-in",
  );
  const user = await userByEmail(db.owner, parsed.values.email);
  // Same answer, and about the same time, whether the account is missing or the password is wrong.
  if (!(await verifyPassword(parsed.values.password, user?.passwordHash)) || !user) {
    return data({ fieldErrors: {} as Record<string, string>, formError: "Email or password is incorrect.", email: typed }, { status: 400 });
  }
  if (needsRehash(user.passwordHash!)) await setPassword(db.owner, user.id, parsed.values.password);
  const memberships = await membershipsOfUser(db.owner, user.id);
  throw redirect(safeNext(form.get("next")), { headers: await startSession(request, user.id, memberships[0]?.orgId ?? null) });
}

export default function SignIn() {
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  return (
    <main className="narrow">
      <h1>Sign in</h1>
      {params.get("reset") ? <p className="notice">Your password was changed. Sign in with the new one.</p> : null}
      <FormError message={result?.formError} />
      <Form method="post" noValidate>
        <CsrfInput />
        <input type="hidden" name="next" value={params.get("next") ?? ""} />
        <Field
          name="email"
          label="Email"
          type="email"
          autoComplete="email"
          defaultValue={result?.email}
          error={result?.fieldErrors.email}
          required
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autoComplete="current-password"
          error={result?.fieldErrors.password}
          required
        />
        <button type="submit">Sign in</button>
      </Form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link> · <Link to="/signup">Create an account</Link>
      </p>
    </main>
  );
}
