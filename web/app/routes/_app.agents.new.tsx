import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { useActionData } from "@remix-run/react";
import { AGENT_FIELDS } from "../../../core/agents/agent-fields.ts";
import { AgentForm } from "../components/agent-form.tsx";
import { agentCreate, AgentNameTakenError, agentSchema } from "../lib/core.server.ts";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { inOrg, requireManager } from "../lib/org.server.ts";
import { requireOrgSession } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "New agent · GPT Agent Platform" }];

export async function loader({ request }: LoaderFunctionArgs) {
  requireManager(await requireOrgSession(request));
  return null;
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const parsed = parseForm(agentSchema, form, AGENT_FIELDS);
  const values = Object.fromEntries(AGENT_FIELDS.map((f) => [f, form.get(f) ?? undefined])) as Record<string, string | undefined>;
  if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, values }, { status: 400 });
  try {
    const agent = await inOrg(request, (trx, session) => {
      requireManager(session);
      return agentCreate(trx, session.org.orgId, parsed.values, session.user.id);
    });
    throw redirect(`/agents/${agent.id}`);
  } catch (error) {
    if (!(error instanceof AgentNameTakenError)) throw error;
    return data({ fieldErrors: { name: "Another agent already has this name." } as Record<string, string>, values }, { status: 400 });
  }
}

export default function NewAgent() {
  const result = useActionData<typeof action>();
  const v = result?.values;
  return (
    <main className="narrow">
      <h1>New agent</h1>
      <AgentForm
        values={{ ...v, knowledgeBaseEnabled: v ? v.knowledgeBaseEnabled === "on" : undefined }}
        errors={result?.fieldErrors ?? {}}
        submitLabel="Create agent"
      />
    </main>
  );
}
