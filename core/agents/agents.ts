import { sql } from "kysely";
import type { OrgTransaction } from "../db/org-scope.ts";
import type { AgentInput } from "./agent-schema.ts";

/** Agents of the current organisation, under row-level security. */

export interface Agent extends AgentInput {
  id: string;
  status: "active" | "paused";
  createdAt: Date;
  updatedAt: Date;
}

export class AgentNameTakenError extends Error {
  constructor() {
    super("another agent in this organisation has this name");
    this.name = "AgentNameTakenError";
  }
}

function toAgent(row: {
  id: string;
  name: string;
  model: string;
  system_prompt: string;
  temperature: string;
  max_tokens: number;
  knowledge_base_enabled: boolean;
  status: string;
  created_at: Date;
  updated_at: Date;
}): Agent {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    systemPrompt: row.system_prompt,
    temperature: Number(row.temperature),
    maxTokens: row.max_tokens,
    knowledgeBaseEnabled: row.knowledge_base_enabled,
    status: row.status as Agent["status"],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function columns(input: AgentInput) {
  return {
    name: input.name,
    model: input.model,
    system_prompt: input.systemPrompt,
    temperature: String(input.temperature),
    max_tokens: input.maxTokens,
    knowledge_base_enabled: input.knowledgeBaseEnabled,
  };
}

async function uniqueName<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: string; constraint?: string }).constraint === "agents_org_name_key") throw new AgentNameTakenError();
    throw error;
  }
}

export async function agentsList(trx: OrgTransaction): Promise<Agent[]> {
  return (await trx.selectFrom("app.agents").selectAll().orderBy("name").execute()).map(toAgent);
}

export async function agentGet(trx: OrgTransaction, id: string): Promise<Agent | undefined> {
  const row = await trx.selectFrom("app.agents").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toAgent(row);
}

export async function agentCreate(trx: OrgTransaction, orgId: string, input: AgentInput, createdBy: string): Promise<Agent> {
  return uniqueName(async () =>
    toAgent(
      await trx
        .insertInto("app.agents")
        .values({ ...columns(input), org_id: orgId, created_by: createdBy })
        .returningAll()
        .executeTakeFirstOrThrow(),
    ),
  );
}

export async function agentUpdate(trx: OrgTransaction, id: string, input: AgentInput): Promise<Agent | undefined> {
  return uniqueName(async () => {
    const row = await trx
      .updateTable("app.agents")
      .set({ ...columns(input), updated_at: sql`now()` })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row && toAgent(row);
  });
}

export async function agentSetStatus(trx: OrgTransaction, id: string, status: Agent["status"]): Promise<boolean> {
  const result = await trx.updateTable("app.agents").set({ status, updated_at: sql`now()` }).where("id", "=", id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function agentDelete(trx: OrgTransaction, id: string): Promise<boolean> {
  const result = await trx.deleteFrom("app.agents").where("id", "=", id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
