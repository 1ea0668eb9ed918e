import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { INVITATION_LIFETIME_DAYS } from "../../../core/accounts/constants.ts";
import { CsrfInput, Field, IntentButton } from "../components/forms.tsx";
import {
  invitationCreate,
  invitationRevoke,
  invitationsList,
  inviteSchema,
  isUuid,
  LastOwnerError,
  memberRemove,
  OwnerOnlyError,
  membersList,
} from "../lib/core.server.ts";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { inOrg, requireManager } from "../lib/org.server.ts";

export const meta: MetaFunction = () => [{ title: "Members · GPT Agent Platform" }];

export async function loader({ request }: LoaderFunctionArgs) {
  return inOrg(request, async (trx, session) => ({
    members: await membersList(trx),
    invitations: await invitationsList(trx),
    canManage: session.org.role !== "member",
    me: session.user.id,
  }));
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await readMutation(request);
  return inOrg(request, async (trx, session, platform) => {
    requireManager(session);
    const intent = form.get("intent");
    const id = form.get("id");
    if (intent === "revoke-invitation") {
      const revoked = isUuid(id) && (await invitationRevoke(trx, id));
      return {
        link: null,
        fieldErrors: {} as Record<string, string>,
        message: revoked ? "Invitation revoked." : "That invitation is no longer open.",
      };
    }
    if (intent === "remove-member") {
      try {
        const removed = isUuid(id) && (await memberRemove(trx, id, session.org.role));
        return {
          link: null,
          fieldErrors: {} as Record<string, string>,
          message: removed ? "Member removed." : "That person is not a member.",
        };
      } catch (error) {
        if (!(error instanceof LastOwnerError) && !(error instanceof OwnerOnlyError)) throw error;
        return data({ link: null, fieldErrors: {} as Record<string, string>, message: error.message }, { status: 400 });
      }
    }
    const parsed = parseForm(inviteSchema, form, ["email", "role"]);
    if (!parsed.ok) return data({ link: null, fieldErrors: parsed.fieldErrors, message: null }, { status: 400 });
    if (parsed.values.role === "owner" && session.org.role !== "owner") {
      return data(
        { link: null, fieldErrors: { role: "Only owners can invite owners." } as Record<string, string>, message: null },
        { status: 400 },
      );
    }
    const { token } = await invitationCreate(trx, {
      orgId: session.org.orgId,
      email: parsed.values.email,
      role: parsed.values.role,
      invitedBy: session.user.id,
    });
    const link = new URL(`/invite/${token}`, platform.config.WEB_PUBLIC_URL).toString();
    await platform.mailer.send({
      to: parsed.values.email,
      subject: `You are invited to ${session.org.orgName} on GPT Agent Platform`,
      text: `${session.user.displayName ?? session.user.email} invited you to join ${session.org.orgName} as ${parsed.values.role}. Open this link within ${INVITATION_LIFETIME_DAYS} days:\n\n${link}`,
    });
    return { link, fieldErrors: {} as Record<string, string>, message: `Invitation sent to ${parsed.values.email}.` };
  });
}

export default function Members() {
  const { members, invitations, canManage, me } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors = result?.fieldErrors ?? {};
  return (
    <main>
      <h1>Members</h1>
      {result?.message ? (
        <p className="notice" role="status">
          {result.message}
        </p>
      ) : null}
      {result?.link ? (
        <p>
          You can also share the link yourself: <span className="token">{result.link}</span>
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span className="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.userId}>
                <td>{m.displayName ?? "—"}</td>
                <td>{m.email}</td>
                <td>{m.role}</td>
                <td>
                  {canManage && m.userId !== me ? (
                    <IntentButton intent="remove-member" id={m.userId} label="Remove" className="danger" />
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {canManage ? (
        <>
          <h2>Invite someone</h2>
          <Form method="post" noValidate className="narrow">
            <CsrfInput />
            <input type="hidden" name="intent" value="invite" />
            <Field name="email" label="Email" type="email" error={errors.email} required />
            <div className="field">
              <label htmlFor="role">Role</label>
              <select id="role" name="role" defaultValue="member">
                <option value="member">Member: sees everything, runs jobs</option>
                <option value="admin">Admin: also manages agents, tokens and members</option>
                <option value="owner">Owner: everything</option>
              </select>
              {errors.role ? (
                <p className="error" role="alert">
                  {errors.role}
                </p>
              ) : null}
            </div>
            <button type="submit">Send invitation</button>
          </Form>
          <h2>Invitations</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="muted">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {invitations.length === 0 ? (
                  <tr>
                    <td colSpan={4} className="muted">
                      No invitations.
                    </td>
                  </tr>
                ) : null}
                {invitations.map((i) => (
                  <tr key={i.id}>
                    <td>{i.email}</td>
                    <td>{i.role}</td>
                    <td>{i.status}</td>
                    <td>
                      {i.status === "pending" ? (
                        <IntentButton intent="revoke-invitation" id={i.id} label="Revoke" className="secondary" />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </main>
  );
}
