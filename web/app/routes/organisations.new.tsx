import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, useActionData } from "@remix-run/react";
import { organisationCreateWithOwner, organisationSchema, sessionSwitchOrg, slugFor } from "../lib/core.server.ts";
import { CsrfInput, Field } from "../components/forms.tsx";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { getPlatform } from "../lib/platform.server.ts";
import { requireSession } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "New organisation · GPT Agent Platform" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireSession(request);
  return null;
}

/** Creates an organisation owned by the signed-in user and switches to it. */
export async function action({ request }: ActionFunctionArgs) {
  const session = await requireSession(request);
  const form = await readMutation(request);
  const parsed = parseForm(organisationSchema, form, ["organisationName"]);
  if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  const { db } = await getPlatform();
  const name = parsed.values.organisationName;
  const org = await db.owner
    .transaction()
    .execute((trx) => organisationCreateWithOwner(trx, { name, slug: slugFor(name), ownerId: session.user.id }));
  await sessionSwitchOrg(db.owner, session, org.id);
  throw redirect("/dashboard");
}

export default function NewOrganisation() {
  const result = useActionData<typeof action>();
  return (
    <main className="narrow">
      <h1>New organisation</h1>
      <Form method="post" noValidate>
        <CsrfInput />
        <Field name="organisationName" label="Organisation name" error={result?.fieldErrors.organisationName} required />
        <button type="submit">Create organisation</button>
      </Form>
    </main>
  );
}
