import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { API_SCOPES } from "../../../core/auth/api-token.ts";
import { CsrfInput, Field, IntentButton } from "../components/forms.tsx";
import { apiTokenCreate, apiTokenRevoke, apiTokensList, isUuid } from "../lib/core.server.ts";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { inOrg, requireManager } from "../lib/org.server.ts";

export const meta: MetaFunction = () => [{ title: "API tokens · GPT Agent Platform" }];

const tokenSchema = z.object({
  name: z
    .string({ error: "Name the token." })
    .trim()
    .min(1, { error: "Name the token." })
    .max(100, { error: "Use at most 100 characters." }),
  scopes: z
    .union([z.enum(API_SCOPES), z.array(z.enum(API_SCOPES))], { error: "Choose at least one scope." })
    .transform((v) => (Array.isArray(v) ? v : [v])),
  ttlDays: z.coerce
    .number({ error: "Choose how long it lasts." })
    .int()
    .min(1, { error: "At least 1 day." })
    .max(365, { error: "At most 365 days." }),
});

export async function loader({ request }: LoaderFunctionArgs) {
  return inOrg(request, async (trx, session, platform) => ({
    tokens: await apiTokensList(trx),
    canManage: session.org.role !== "member",
    workerUrl: platform.config.WORKER_PUBLIC_URL,
    scopes: API_SCOPES,
  }));
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await readMutation(request);
  return inOrg(request, async (trx, session, platform) => {
    requireManager(session);
    if (form.get("intent") === "revoke") {
      const id = form.get("id");
      const revoked = isUuid(id) && (await apiTokenRevoke(trx, id));
      return {
        created: null,
        fieldErrors: {} as Record<string, string>,
        message: revoked ? "Revoked: the token stopped working." : "That token was already revoked.",
      };
    }
    const parsed = parseForm(tokenSchema, form, ["name", "scopes", "ttlDays"]);
    if (!parsed.ok) return data({ created: null, fieldErrors: parsed.fieldErrors, message: null }, { status: 400 });
    const created = await apiTokenCreate(trx, platform.config.JWT_SECRET, {
      orgId: session.org.orgId,
      name: parsed.values.name,
      scopes: parsed.values.scopes,
      ttlDays: parsed.values.ttlDays,
      createdBy: session.user.id,
      subject: session.user.email,
    });
    return { created: { token: created.token, name: parsed.values.name }, fieldErrors: {} as Record<string, string>, message: null };
  });
}

export default function Tokens() {
  const { tokens, canManage, workerUrl, scopes } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors = result?.fieldErrors ?? {};
  return (
    <main>
      <h1>API tokens</h1>
      <p className="muted">
        Tokens let programs use the jobs API at {workerUrl}/api (documented at {workerUrl}/api-docs) for this organisation.
      </p>
      {result?.created ? (
        <div className="notice" role="status">
          <p>Token “{result.created.name}” created. Copy it now: it is shown only once.</p>
          <p className="token" data-testid="new-token">
            {result.created.token}
          </p>
        </div>
      ) : null}
      {result?.message ? (
        <p className="notice" role="status">
          {result.message}
        </p>
      ) : null}
      {canManage ? (
        <Form method="post" noValidate>
          <CsrfInput />
          <h2>New token</h2>
          <Field name="name" label="Name" hint="What uses it, e.g. “CRM sync”." error={errors.name} required />
          <fieldset className="field">
            <legend>Scopes</legend>
            {scopes.map((scope) => (
              <div key={scope}>
                <input id={`scope-${scope}`} type="checkbox" name="scopes" value={scope} defaultChecked />{" "}
                <label htmlFor={`scope-${scope}`} className="inline">
                  {scope}
                </label>
              </div>
            ))}
            {errors.scopes ? (
              <p className="error" role="alert">
                {errors.scopes}
              </p>
            ) : null}
          </fieldset>
          <div className="field">
            <label htmlFor="ttlDays">Expires after</label>
            <select id="ttlDays" name="ttlDays" defaultValue="90">
              <option value="7">7 days</option>
              <option value="30">30 days</option>
              <option value="90">90 days</option>
              <option value="365">1 year</option>
            </select>
            {errors.ttlDays ? (
              <p className="error" role="alert">
                {errors.ttlDays}
              </p>
            ) : null}
          </div>
          <button type="submit">Create token</button>
        </Form>
      ) : (
        <p className="muted">Only owners and admins create and revoke tokens.</p>
      )}
      <h2>Tokens</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col" className="optional">
                Created
              </th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.length === 0 ? (
              <tr>
                <td colSpan={6} className="muted">
                  No tokens yet.
                </td>
              </tr>
            ) : null}
            {tokens.map((t) => {
              const expired = new Date(t.expiresAt).getTime() < Date.now();
              return (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.scopes.join(", ")}</td>
                  <td className="optional">{new Date(t.createdAt).toLocaleDateString()}</td>
                  <td>{new Date(t.expiresAt).toLocaleDateString()}</td>
                  <td>{t.revokedAt ? "revoked" : expired ? "expired" : "active"}</td>
                  <td>
                    {canManage && !t.revokedAt && !expired ? (
                      <IntentButton intent="revoke" id={t.id} label="Revoke" className="danger" />
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </main>
  );
}
