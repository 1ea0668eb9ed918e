import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useParams } from "@remix-run/react";
import {
  acceptInvitationSchema,
  invitationAccept,
  invitationByToken,
  InvitationInvalidError,
  sessionSwitchOrg,
} from "../lib/core.server.ts";
import { CsrfInput, Field, FormError } from "../components/forms.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { getSession } from "../lib/session.server.ts";
import { requestAccountByMail } from "../lib/signup.server.ts";
import { throttle } from "../lib/throttle.server.ts";

export const meta: MetaFunction = () => [{ title: "Invitation · GPT Agent Platform" }];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { db } = await getPlatform();
  const invitation = await invitationByToken(db.owner, params.token ?? "");
  if (!invitation) return { invitation: null, signedInAs: null };
  const session = await getSession(request);
  return {
    invitation: { orgName: invitation.orgName, email: invitation.email, role: invitation.role },
    signedInAs: session?.user.email ?? null,
  };
}

/**
 * Signed in as the invitee: accept at once. Otherwise create an account for the invited address,
 * through the same confirmation mail as sign-up, so the page never says whether the address has
 * an account already (the mail does, to its owner).
 */
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
    if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, formError: undefined, sentTo: null }, { status: 400 });
    await requestAccountByMail(
      { email: invitation.email, displayName: parsed.values.displayName, password: parsed.values.password, invitationId: invitation.id },
      { organisationName: invitation.orgName, inviteLink: new URL(`/invite/${token}`, config.WEB_PUBLIC_URL).toString() },
    );
    return { fieldErrors: {} as Record<string, string>, formError: undefined, sentTo: invitation.email };
  } catch (error) {
    if (error instanceof InvitationInvalidError)
      return data({ fieldErrors: {} as Record<string, string>, formError: error.message, sentTo: null }, { status: 400 });
    throw error;
  }
}

export default function Invitation() {
  const { invitation, signedInAs } = useLoaderData<typeof loader>();
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
          <p>
            You are signed in as {signedInAs}. Sign out and sign in as {invitation.email} to accept.
          </p>
        )
      ) : result?.sentTo ? (
        <p className="notice" role="status">
          We sent a message to <strong>{result.sentTo}</strong>: open the link in it to finish joining. If the address already has an
          account, the message says how to accept with it.
        </p>
      ) : (
        <>
          <p>
            Have an account? <Link to={`/signin?next=${encodeURIComponent(`/invite/${token}`)}`}>Sign in as {invitation.email}</Link> to
            accept. New here? Choose a name and password:
          </p>
          <Form method="post" noValidate>
            <CsrfInput />
            <Field name="displayName" label="Your name" autoComplete="name" error={result?.fieldErrors.displayName} required />
            <Field
              name="password"
              label="Choose a password"
              type="password"
              autoComplete="new-password"
              hint="At least 12 characters."
              error={result?.fieldErrors.password}
              required
            />
            <button type="submit">Create account and join</button>
          </Form>
        </>
      )}
    </main>
  );
}
