import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { AGENT_FIELDS } from "../../../core/agents/agent-fields.ts";
import { AgentForm } from "../components/agent-form.tsx";
import { IntentButton } from "../components/forms.tsx";
import { agentDelete, agentGet, AgentNameTakenError, agentSchema, agentSetStatus, agentUpdate, isUuid } from "../lib/core.server.ts";
import { readMutation } from "../lib/csrf.server.ts";
import { parseForm } from "../lib/forms.server.ts";
import { inOrg, notFound, requireManager } from "../lib/org.server.ts";

export const meta: MetaFunction = () => [{ title: "Agent · GPT Agent Platform" }];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const id = params.id ?? "";
  if (!isUuid(id)) notFound("Agent");
  const agent = await inOrg(request, (trx) => agentGet(trx, id));
  return { agent: agent ?? notFound("Agent") };
}

export async function action({ request, params }: ActionFunctionArgs) {
  const form = await readMutation(request);
  const id = params.id ?? "";
  if (!isUuid(id)) notFound("Agent");
  const intent = form.get("intent");
  const outcome = await inOrg(request, async (trx, session) => {
    requireManager(session);
    if (intent === "delete") {
      if (!(await agentDelete(trx, id))) notFound("Agent");
      // Redirect after the transaction: anything thrown inside it rolls the delete back.
      return "deleted" as const;
    }
    if (intent === "pause" || intent === "resume") {
      if (!(await agentSetStatus(trx, id, intent === "pause" ? "paused" : "active"))) notFound("Agent");
      return { fieldErrors: {} as Record<string, string>, saved: intent === "pause" ? "Paused." : "Resumed." };
    }
    const parsed = parseForm(agentSchema, form, AGENT_FIELDS);
    if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, saved: null }, { status: 400 });
    try {
      if (!(await agentUpdate(trx, id, parsed.values))) notFound("Agent");
    } catch (error) {
      if (!(error instanceof AgentNameTakenError)) throw error;
      return data(
        { fieldErrors: { name: "Another agent already has this name." } as Record<string, string>, saved: null },
        { status: 400 },
      );
    }
    return { fieldErrors: {} as Record<string, string>, saved: "Saved." };
  });
  if (outcome === "deleted") throw redirect("/agents");
  return outcome;
}

export default function AgentDetail() {
  const { agent } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <main className="narrow">
      <p>
        <Link to="/agents">← Agents</Link>
      </p>
      <h1>
        {agent.name} <span className="muted">({agent.status})</span>
      </h1>
      {result?.saved ? (
        <p className="notice" role="status">
          {result.saved}
        </p>
      ) : null}
      <AgentForm values={agent} errors={result?.fieldErrors ?? {}} submitLabel="Save changes" />
      <h2>Status</h2>
      <IntentButton
        intent={agent.status === "active" ? "pause" : "resume"}
        label={agent.status === "active" ? "Pause agent" : "Resume agent"}
        className="secondary"
      />
      <h2>Delete</h2>
      <IntentButton intent="delete" label="Delete agent" className="danger" confirmText={`Delete ${agent.name}? This cannot be undone.`} />
    </main>
  );
}
