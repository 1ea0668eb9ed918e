import pg from "pg";
import { z } from "zod";
import { jobCatalogue } from "./catalogue.ts";
import type { JobType } from "./define-job.ts";

/**
 * The JSON Schema of a type's payload as SQL enqueue checks it (ops.payload_problems): what a
 * caller may send, so defaults count as optional ("input"), and values JSON cannot describe
 * (z.unknown()) accept anything rather than fail the export.
 */
export function payloadJsonSchema(job: JobType): Record<string, unknown> {
  return z.toJSONSchema(job.payload, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

/**
 * Publishes the job catalogue to ops.job_types, so SQL callers (app.enqueue, operators reading
 * ops.job_catalogue) see the same types and payload schemas as this code. Part of the release
 * step: types this code no longer has are removed, so SQL cannot enqueue work nobody handles.
 */
export async function publishJobCatalogue(url: string, jobs: readonly JobType[] = jobCatalogue): Promise<void> {
  const rows = jobs.map((job) => ({
    name: job.name,
    description: job.description,
    payload_schema: payloadJsonSchema(job),
    dead_letter_queue: job.deadLetterQueue,
  }));
  const client = new pg.Client({ connectionString: url, application_name: "gpt-platform:release" });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO ops.job_types (name, description, payload_schema, dead_letter_queue, published_at)
       SELECT name, description, payload_schema, dead_letter_queue, now()
       FROM jsonb_to_recordset($1::jsonb) AS x (name text, description text, payload_schema jsonb, dead_letter_queue text)
       ON CONFLICT (name) DO UPDATE SET description = excluded.description, payload_schema = excluded.payload_schema,
         dead_letter_queue = excluded.dead_letter_queue, published_at = excluded.published_at`,
      [JSON.stringify(rows)],
    );
    await client.query("DELETE FROM ops.job_types WHERE NOT name = ANY ($1::text[])", [rows.map((r) => r.name)]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
