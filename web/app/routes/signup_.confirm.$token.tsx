import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import {
  AccountExistsError,
  InvitationInvalidError,
  SignupLinkInvalidError,
  signupRequestByToken,
  signupRequestComplete,
} from "../lib/core.server.ts";
import { CsrfInput, FormError } from "../components/forms.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { startSession } from "../lib/session.server.ts";
import { throttle } from "../lib/throttle.server.ts";

export const meta: MetaFunction = () => [{ title: "Finish creating your account · GPT Agent Platform" }];

/** What the link will create; opening it changes nothing (mail scanners open links too). */
export async function loader({ params }: LoaderFunctionArgs) {
  const { db } = await getPlatform();
  return { pending: (await signupRequestByToken(db.owner, params.token ?? "")) ?? null };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  await readMutation(request);
  const { config, db } = await getPlatform();
  await throttle([{ key: `signup-confirm:ip:${context.clientIp}`, limit: config.SIGNIN_ATTEMPTS_PER_IP }], "sign-up");
  try {
    const { user, orgId } = await signupRequestComplete(db.owner, params.token ?? "");
    throw redirect("/dashboard", { headers: await startSession(request, user.id, orgId) });
  } catch (error) {
    if (error instanceof SignupLinkInvalidError || error instanceof InvitationInvalidError)
      return data({ formError: error.message }, { status: 400 });
    if (error instanceof AccountExistsError)
      return data({ formError: "This address has an account now: sign in with it." }, { status: 400 });
    throw error;
  }
}

export default function ConfirmSignUp() {
  const { pending } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  if (!pending) {
    return (
      <main className="narrow">
        <h1>This link no longer works</h1>
        <p>
          It may have expired or already been used. <Link to="/signup">Start again</Link>, or <Link to="/signin">sign in</Link> if your
          account exists.
        </p>
      </main>
    );
  }
  return (
    <main className="narrow">
      <h1>Finish creating your account</h1>
      <FormError message={result?.formError} />
      <p>
        An account for <strong>{pending.email}</strong> ({pending.displayName}),{" "}
        {pending.joinsByInvitation ? (
          <>
            joining <strong>{pending.organisationName}</strong>.
          </>
        ) : (
          <>
            with a new organisation, <strong>{pending.organisationName}</strong>.
          </>
        )}
      </p>
      <Form method="post">
        <CsrfInput />
        <button type="submit">Create my account</button>
      </Form>
    </main>
  );
}
