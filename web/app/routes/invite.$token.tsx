import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useParams } from "@remix-run/react";
import { acceptInvitationSchema, AccountExistsError, createUser, invitationAccept, invitationByToken, InvitationInvalidError, sessionSwitchOrg, userByEmail } from "../lib/core.server.ts";
import { CsrfInput, Field, FormError } from "../components/forms.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { getSession, startSession } from "../lib/session.server.ts";
import { throttle } from "../lib/throttle.server.ts";

export const meta: MetaFunction = () => [{ title: "Invitation · GPT Agent Platform" }];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { db } = await getPlatform();
  const invitation = await invitationByToken(db.owner, params.token ?? "");
  if (!invitation) return { invitation: null, signedInAs: null, hasAccount: false };
  const session = await getSession(request);
  return {
    invitation: { orgName: invitation.orgName, email: invitation.email, role: invitation.role },
    signedInAs: session?.user.email ?? null,
    hasAccount: Boolean(await userByEmail(db.owner, invitation.email)),
  };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const { config, db } = await getPlatform();
  const token = params.token ?? "";
  await throttle([{ key: `invite:ip:${context.clientIp}`, limit: config.SIGNIN_ATTEMPTS_PER_IP }], "invitation");
  try {
    const session = await getSession(request);
    if (session) {
      const invitation = await invitationAccept(db.owner, token, session.user);
      await sessionSwitchOrg(db.owner, session, invitation.orgId);
      throw redirect("/dashboard");
    }
    const invitation = await invitationByToken(db.owner, token);
    if (!invitation) throw new InvitationInvalidError();
    const parsed = parseForm(acceptInvitationSchema, form, ["displayName", "password"]);
    if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, formError: undefined }, { status: 400 });
    const user = await createUser(db.owner, { email: invitation.email, password: parsed.values.password, displayName: parsed.values.displayName });
    await invitationAccept(db.owner, token, user);
    throw redirect("/dashboard", { headers: await startSession(request, user.id, invitation.orgId) });
  } catch (error) {
    if (error instanceof InvitationInvalidError) return data({ fieldErrors: {} as Record<string, string>, formError: error.message }, { status: 400 });
    if (error instanceof AccountExistsError) {
      return data({ fieldErrors: {} as Record<string, string>, formError: "An account with this email exists: sign in first, then open this link again." }, { status: 400 });
    }
    throw error;
  }
}

export default function Invitation() {
  const { invitation, signedInAs, hasAccount } = useLoaderData<typeof loader>();
  const { token } = useParams();
  const result = useActionData<typeof action>();
  if (!invitation) {
    return (
      <main className="narrow">
        <h1>This invitation no longer works</h1>
        <p>It may have expired, been revoked or already been accepted. Ask whoever invited you for a new link.</p>
      </main>
    );
  }
  return (
    <main className="narrow">
      <h1>Join {invitation.orgName}</h1>
      <p>
        {invitation.email} is invited as <strong>{invitation.role}</strong>.
      </p>
      <FormError message={result?.formError} />
      {signedInAs ? (
        signedInAs === invitation.email ? (
          <Form method="post">
            <CsrfInput />
            <button type="submit">Accept and join</button>
          </Form>
        ) : (
          <p>You are signed in as {signedInAs}. Sign out and sign in as {invitation.email} to accept.</p>
        )
      ) : hasAccount ? (
        <p>
          <Link to={`/signin?next=${encodeURIComponent(`/invite/${token}`)}`}>
            Sign in as {invitation.email}
          </Link>{" "}
          to accept.
        </p>
      ) : (
        <Form method="post" noValidate>
          <CsrfInput />
          <Field name="displayName" label="Your name" autoComplete="name" error={result?.fieldErrors.displayName} required />
          <Field name="password" label="Choose a password" type="password" autoComplete="new-password" hint="At least 12 characters." error={result?.fieldErrors.password} required />
          <button type="submit">Create account and join</button>
        </Form>
      )}
    </main>
  );
}
