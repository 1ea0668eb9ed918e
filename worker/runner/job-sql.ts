import type pg from "pg";
import { notifyChannelSql, QUEUE_SCHEMA } from "../../core/jobs/engine.ts";

/**
 * The runner's own statements over pg-boss's job table. pg-boss (pinned to exactly 12.35.0) owns
 * the schema, inserts jobs, supervises them (expiry, stale heartbeats, retention) and settles
 * failures (retry backoff, dead-lettering). Claiming and completing, the two statements every job
 * pays for, are written here so they return only what the worker needs, run as prepared
 * statements, and complete one batch and claim the next in a single round trip and commit.
 *
 * They mirror pg-boss 12.35's plans, which are the contract to re-check on any pg-boss upgrade:
 * - claim: fetchNextJob() for queues without singleton ranking (policies standard, short,
 *   exclusive): the same WHERE, ORDER BY and SKIP LOCKED, the same SET (state, started_on,
 *   heartbeat_on, retry_count incremented when the job ran before);
 * - complete: completeJobsWithOutputs() with its attempt fence (state = 'active' and the
 *   retry_count the worker claimed), so a worker whose claim lapsed cannot overwrite a newer attempt.
 * test/worker/job-sql.test.ts checks both against pg-boss's own API on a real database.
 *
 * Every statement here that changes several of a worker's active jobs locks them in id order
 * first (mineInIdOrder). Two statements from one worker can overlap (a completion arrives while a
 * heartbeat is in flight); locking in the order each plan happened to visit rows deadlocked them,
 * and PostgreSQL broke the deadlock only after deadlock_timeout: a 1.5 s p99 from a handler's end
 * to its completed state in the mixed-load benchmark.
 */

const S = QUEUE_SCHEMA;

export interface ClaimedJob {
  id: string;
  data: unknown;
  retry_count: number;
  retry_limit: number;
  group_id: string | null;
  expire_seconds: number;
  heartbeat_seconds: number | null;
  /** From when the job could start (start_after) to this claim, by the database clock. */
  pickup_ms: number;
  /** No attempt had started before this claim: handing it back unrun restores state 'created'. */
  fresh: boolean;
  /** The organisation's fair-share weight (its plan's; 1 outside the fair claim): a runner's buffer serves it in that proportion. */
  weight: number;
}

export interface Completion {
  id: string;
  retry_count: number;
  /** The job's result, already serialised as JSON. */
  outputJson: string;
}

/** The completions as the JSON array the statement reads, built from the pre-serialised outputs. */
function completionsJson(completions: readonly Completion[]): string {
  let json = "[";
  for (let i = 0; i < completions.length; i++) {
    const c = completions[i]!;
    json += `${i === 0 ? "" : ","}{"id":"${c.id}","retry_count":${c.retry_count},"output":${c.outputJson}}`;
  }
  return `${json}]`;
}

/** CTEs `input` and `done`: complete the jobs in $2 ({id, retry_count, output}), fenced to the attempt each was claimed at. */
function completionCtes(table: string): string {
  return `input AS (
      SELECT * FROM jsonb_to_recordset($2::jsonb) AS x (id uuid, retry_count int, output jsonb)
    ),
    ${mineInIdOrder(table, "input a")},
    done AS (
      UPDATE ${table} j
      SET completed_on = ${S}.job_now(), state = 'completed', output = a.output
      FROM mine a
      WHERE j.ctid = a.locked_ctid
      RETURNING j.id
    )`;
}

/** The jobs a statement is about, as parameters $2 (ids) and $3 (the attempts claimed): row source `a`. */
const ATTEMPTS = "unnest($2::uuid[], $3::int[]) AS a (id, retry_count)";

/**
 * CTE `mine`: the rows of `source` (a FROM item `a` with id and retry_count) whose jobs are still
 * active at that attempt, locked in id order (see the top of this file), with the physical row
 * each lock holds. The UPDATE that follows finds its rows by that ctid (a TID scan per job; the
 * lock keeps the row where it is), so every lock was taken here, in order, before it. `source`
 * drives a lateral primary-key lookup per job: as a plain join the planner, expecting almost no
 * active jobs, walked the queue's whole primary-key range and filtered (15 ms for 100 jobs at
 * 12,000 in the table, growing with the backlog). `skipLocked` passes over rows another statement
 * holds instead of waiting for them.
 */
function mineInIdOrder(table: string, source: string, skipLocked = false): string {
  return `mine AS (
      SELECT a.*, locked.locked_ctid FROM (SELECT * FROM ${source} ORDER BY a.id) a
      CROSS JOIN LATERAL (
        SELECT j.ctid AS locked_ctid FROM ${table} j
        WHERE j.name = $1 AND j.id = a.id AND j.state = 'active' AND j.retry_count = a.retry_count
        FOR UPDATE OF j${skipLocked ? " SKIP LOCKED" : ""}
      ) locked
    )`;
}

/**
 * `alias`'s organisation is `org`, written as a range with group_id leading the ORDER BY. As an
 * equality the planner drops group_id from the order and may walk pg-boss's (name, priority,
 * created_on) index instead, filtering for the organisation: with one organisation owning most of
 * the backlog, finding a quiet one's jobs that way read the whole backlog (18 s at a million
 * waiting). As a range, only the fair-share index gives the order without a sort.
 */
function inOrganisation(alias: string, org: string): string {
  return `${alias}.group_id >= ${org} AND ${alias}.group_id <= ${org}`;
}

/** A waiting job of the queue, as the fair-share index (migrations/0012) covers it. */
function waiting(alias: string): string {
  return `${alias}.name = $1 AND ${alias}.state < 'active' AND NOT ${alias}.blocked`;
}

/** Nothing is claimed from a queue paused for every organisation (migrations/0014). */
const QUEUE_NOT_PAUSED = "NOT EXISTS (SELECT 1 FROM app.queue_pauses p WHERE p.queue = $1 AND p.org_id IS NULL)";

/** `org` (a group id, text) has not paused the queue. Compared as text: a malformed group id must not fail the claim. */
function organisationNotPaused(org: string): string {
  return `NOT EXISTS (SELECT 1 FROM app.queue_pauses p WHERE p.queue = $1 AND p.org_id::text = ${org})`;
}

/** How a claim picks among the waiting jobs of a queue. */
export type ClaimOrder = "fair" | "oldest-first";

/**
 * Completes `completions` (fenced to the attempts claimed) and claims up to `limit` more jobs, in
 * one statement. The limit is part of the text, as in pg-boss: as a parameter, a prepared
 * statement's generic plan would assume 10% of the table and hash-join a sequential scan of it.
 * Parameters: $1 queue, $2 completions (JSON), $3 the fair claim's cursor (see fairSelection).
 */
export function claimAndCompleteSql(table: string, limit: number, order: ClaimOrder = "fair"): string {
  const t = `${S}.${table}`;
  const fair = order === "fair";
  return `
    WITH RECURSIVE ${completionCtes(t)},
    ${fair ? fairSelection(t, limit) : oldestFirstSelection(t, limit)},
    claimed AS (
      UPDATE ${t} j SET
        state = 'active',
        started_on = ${S}.job_now(),
        heartbeat_on = ${S}.job_now(),
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
      FROM (SELECT * FROM next ORDER BY pos NULLS LAST LIMIT ${limit}) next
      WHERE j.name = $1 AND j.id = next.id
      RETURNING j.id, j.data, j.retry_count, j.retry_limit, j.group_id, j.expire_seconds, j.heartbeat_seconds,
        extract(epoch FROM ${S}.job_now() - j.start_after) * 1000 AS pickup_ms, next.fresh, next.weight
    )
    SELECT id, data, retry_count, retry_limit, group_id, expire_seconds, heartbeat_seconds, pickup_ms, fresh, weight,
      NULL::int AS completed, NULL::text AS last_org, NULL::boolean AS more, NULL::boolean AS capped FROM claimed
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, (SELECT count(*)::int FROM done),
      ${
        fair
          ? `-- The cursor: the last organisation of the turn before the first one left out of this batch
      -- (ready, but its share rounded to nothing), so that the next claim starts with that one.
      (SELECT org FROM share WHERE pos < coalesce((SELECT min(pos) FROM share WHERE ready > 0 AND k = 0), ${limit} + 1) ORDER BY pos DESC LIMIT 1),
      -- More may be ready: an organisation kept some back, or the turn stopped at the batch size with
      -- organisations to spare and found work. (An organisation alone in its turn counts as having a
      -- full batch ready; if it had fewer, the batch comes back short and the runner sees that.)
      EXISTS (SELECT 1 FROM share WHERE ready > k) OR ((SELECT count(*) FROM turn) = ${limit} AND EXISTS (SELECT 1 FROM claimed)),
      -- A plan's cap held jobs back: they may start when running ones finish (here or in another worker).
      EXISTS (SELECT 1 FROM counted WHERE found > room)`
          : "$3::text, false, false"
      }
  `;
}

/**
 * pg-boss's own order (fetchNextJob): priority, then oldest first, across all organisations. Kept
 * as JOB_FAIR_SHARE=false, for the fairness benchmark's side-by-side run and as a way back.
 */
function oldestFirstSelection(t: string, limit: number): string {
  return `next AS (
      SELECT j.id, j.started_on IS NULL AS fresh, 1 AS pos, 1 AS weight FROM ${t} j
      WHERE ${waiting("j")} AND j.start_after <= ${S}.job_now() AND ${QUEUE_NOT_PAUSED} AND ${organisationNotPaused("j.group_id")}
      ORDER BY j.priority DESC, j.created_on
      LIMIT ${limit}
      FOR UPDATE OF j SKIP LOCKED
    )`;
}

/**
 * Fair between organisations (docs/decisions/010): up to `limit` organisations with waiting
 * jobs, in turn below $3 (the last organisation the previous claim reached, '' at first; wrapping
 * round to the top), found by a skip scan of the fair-share index (one probe per organisation,
 * whatever its backlog). The batch is shared max-min: each organisation's ready jobs are counted
 * up to the batch size, those with fewer than an equal share get all of theirs and the rest split
 * the remainder equally; each share is filled by priority then age, as pg-boss orders a queue.
 */
function fairSelection(t: string, limit: number): string {
  // The turn walks organisations in descending order: each probe then lands on the end of an
  // organisation's range in the index (its newest waiting jobs, live), not on its start, where the
  // entries of jobs claimed since the last vacuum pile up (measured: p90 of a claim 28 ms against
  // 16 ms for oldest-first at 650,000 waiting, before this).
  return `after_cursor AS (
      (SELECT j.group_id AS org FROM ${t} j WHERE ${waiting("j")} AND j.group_id < $3 ORDER BY j.group_id DESC LIMIT 1)
      UNION ALL
      SELECT (SELECT j.group_id FROM ${t} j WHERE ${waiting("j")} AND j.group_id < a.org ORDER BY j.group_id DESC LIMIT 1)
      FROM after_cursor a WHERE a.org IS NOT NULL
    ),
    from_start AS (
      (SELECT j.group_id AS org FROM ${t} j WHERE ${waiting("j")} AND j.group_id >= $3 ORDER BY j.group_id DESC LIMIT 1)
      UNION ALL
      SELECT (SELECT j.group_id FROM ${t} j WHERE ${waiting("j")} AND j.group_id < f.org AND j.group_id >= $3 ORDER BY j.group_id DESC LIMIT 1)
      FROM from_start f WHERE f.org IS NOT NULL
    ),
    -- A paused organisation is passed over (its one probe), however many jobs it has waiting.
    turn AS MATERIALIZED (
      SELECT org, row_number() OVER () AS pos FROM (
        (SELECT org FROM after_cursor WHERE org IS NOT NULL AND ${organisationNotPaused("org")} LIMIT ${limit})
        UNION ALL
        (SELECT org FROM from_start WHERE org IS NOT NULL AND ${organisationNotPaused("org")} LIMIT ${limit})
        LIMIT ${limit}
      ) o
      WHERE ${QUEUE_NOT_PAUSED}
    ),
    -- The plan's weight, and the room under its cap on running jobs (NULL: none), per organisation
    -- in the turn (migrations/0017: counted under a lock, so that workers together keep the cap).
    terms AS MATERIALIZED (
      SELECT t.org, t.pos, c.weight, c.room FROM turn t JOIN ops.claim_terms($1, ARRAY(SELECT org FROM turn)) c ON c.org = t.org
    ),
    -- How many jobs each organisation has ready now, counted up to the batch size or one past its
    -- room (one index range each; one past: to tell that the cap held some back). Alone in its turn
    -- (the common case under one organisation's burst), an organisation is not counted: it may take
    -- the whole batch, as far as its room goes.
    counted AS MATERIALIZED (
      SELECT t.org, t.pos, t.weight, t.room,
        CASE WHEN (SELECT count(*) FROM turn) = 1 THEN ${limit} ELSE (
          SELECT count(*) FROM (
            SELECT 1 FROM ${t} j WHERE ${waiting("j")} AND ${inOrganisation("j", "t.org")} AND j.start_after <= ${S}.job_now()
            ORDER BY j.group_id, j.priority DESC, j.created_on LIMIT least(${limit}, t.room + 1)
          ) r
        ) END::int AS found
      FROM terms t
    ),
    -- Weighted max-min shares (water filling), taken in order of ready per weight: level_i is what
    -- one unit of weight gets if the i-th and every later organisation split by weight what the
    -- earlier ones (all of whose ready jobs fit) leave. The first organisation with more ready than
    -- its level times its weight sets the level for itself and all later ones.
    levels AS (
      SELECT org, pos, weight, ready,
        (${limit} - coalesce(sum(ready) OVER (ORDER BY ready::numeric / weight, pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))::numeric
          / sum(weight) OVER (ORDER BY ready::numeric / weight, pos ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS level
      FROM (SELECT org, pos, weight, least(found, room) AS ready FROM counted) c
    ),
    water AS (
      SELECT (SELECT l.level FROM levels l WHERE l.ready > l.level * l.weight ORDER BY l.ready::numeric / l.weight, l.pos LIMIT 1) AS level
    ),
    -- Whole jobs: each gets the floor of its share, and what the floors leave of the batch goes one
    -- job each to the organisations short of their ready jobs, in turn order. The shares never add
    -- up to more than the batch, and the first in the turn is never left out.
    floors AS (
      SELECT org, pos, weight, ready, CASE WHEN w.level IS NULL THEN ready ELSE least(ready, floor(w.level * weight))::int END AS base
      FROM levels CROSS JOIN water w
    ),
    share AS (
      SELECT org, pos, weight, ready,
        base + CASE WHEN base < ready
          AND row_number() OVER (PARTITION BY base < ready ORDER BY pos) <= ${limit} - sum(base) OVER () THEN 1 ELSE 0 END AS k
      FROM floors
    ),
    next AS (
      SELECT c.id, c.fresh, s.pos, s.weight FROM share s
      CROSS JOIN LATERAL (
        SELECT j.id, j.started_on IS NULL AS fresh FROM ${t} j
        WHERE ${waiting("j")} AND ${inOrganisation("j", "s.org")} AND j.start_after <= ${S}.job_now()
        ORDER BY j.group_id, j.priority DESC, j.created_on
        LIMIT s.k
        FOR UPDATE OF j SKIP LOCKED
      ) c
      UNION ALL
      -- Jobs without an organisation (written around the platform) are claimed to be failed, not left waiting.
      SELECT * FROM (
        SELECT j.id, j.started_on IS NULL, NULL::bigint, 1 FROM ${t} j
        WHERE ${waiting("j")} AND j.group_id IS NULL AND j.start_after <= ${S}.job_now() AND ${QUEUE_NOT_PAUSED}
        ORDER BY j.priority DESC, j.created_on
        LIMIT ${limit}
        FOR UPDATE OF j SKIP LOCKED
      ) orphans
    )`;
}

/** Completes `completions` only (fenced like the claim's completion): what a runner sends while its slots are full. */
function completeSql(table: string): string {
  return `
    WITH ${completionCtes(`${S}.${table}`)}
    SELECT count(*)::int AS completed, NULL::text AS last_org, NULL::boolean AS more, NULL::boolean AS capped FROM done
  `;
}

export interface ClaimResult {
  claimed: ClaimedJob[];
  /** Whether each completion sent landed (false: its claim had lapsed and another attempt owns the job). */
  landed: (id: string) => boolean;
  /** Where the next claim's turn between organisations starts. */
  cursor: string;
  /** Some organisation filled its share: jobs may still be waiting even if the batch came back short. */
  more: boolean;
  /** A plan's cap on running jobs held some back: they may start as soon as running ones finish. */
  capped: boolean;
}

/**
 * Hands running jobs back to their queue when a shutdown deadline passes: state 'retry', due now.
 * started_on stays, so the next claim counts a new attempt (and fences out this worker), but the
 * cut-short attempt is not a failure: it never sends a job to its dead-letter queue.
 */
function releaseSql(table: string): string {
  return `
    WITH ${mineInIdOrder(`${S}.${table}`, ATTEMPTS)},
    released AS (
      UPDATE ${S}.${table} j
      SET state = 'retry', start_after = ${S}.job_now(), output = $4::jsonb
      FROM mine a
      WHERE j.ctid = a.locked_ctid
      RETURNING j.id
    )
    SELECT count(*)::int AS released, pg_notify(${notifyChannelSql()}, $1) IS NULL AS notified FROM released
  `;
}

/**
 * The SET of job `j` that undoes its claim by row `a` (a.fresh: no attempt had started before):
 * waiting again with the attempt count it had, due in `seconds` (an SQL expression).
 */
function undoClaim(seconds: string): string {
  return `
        state = CASE WHEN a.fresh THEN 'created' ELSE 'retry' END::${S}.job_state,
        started_on = CASE WHEN a.fresh THEN NULL ELSE j.started_on END,
        retry_count = CASE WHEN a.fresh THEN j.retry_count ELSE j.retry_count - 1 END,
        heartbeat_on = NULL,
        start_after = ${S}.job_now() + make_interval(secs => ${seconds})`;
}

/**
 * Puts claimed jobs back to waiting as if the claim had not happened, due in $4 seconds: a fresh
 * job is 'created' again with no start; one that ran before is 'retry' with the attempt count it
 * had, so its next claim counts the same attempt again. For jobs that were claimed but never
 * started (a stopping worker's prefetched jobs) and for jobs that snooze: neither spends an attempt.
 */
function unclaimSql(table: string): string {
  return `
    WITH ${mineInIdOrder(`${S}.${table}`, "unnest($2::uuid[], $3::int[], $4::bool[]) AS a (id, retry_count, fresh)")},
    unclaimed AS (
      UPDATE ${S}.${table} j SET ${undoClaim("$5")}
      FROM mine a
      WHERE j.ctid = a.locked_ctid
      RETURNING j.id
    )
    SELECT count(*)::int AS unclaimed, pg_notify(${notifyChannelSql()}, $1) IS NULL AS notified FROM unclaimed
  `;
}

/** Why a job went back to waiting without spending an attempt (app.job_snoozes.kind). */
export type SnoozeKind = "rate-limit" | "handler";

export interface Snooze {
  job: Pick<ClaimedJob, "id" | "retry_count" | "fresh">;
  seconds: number;
  kind: SnoozeKind;
  reason: string;
}

/**
 * Puts claimed jobs back to waiting for a while, as unclaimSql does, and records each snooze for
 * the job's timeline in the same statement. No NOTIFY: nobody can claim the jobs before they are due.
 */
function snoozeSql(table: string): string {
  return `
    WITH ${mineInIdOrder(
      `${S}.${table}`,
      "unnest($2::uuid[], $3::int[], $4::bool[], $5::float8[], $6::text[], $7::text[]) AS a (id, retry_count, fresh, seconds, kind, reason)",
    )},
    snoozed AS (
      UPDATE ${S}.${table} j SET ${undoClaim("a.seconds")}
      FROM mine a
      WHERE j.ctid = a.locked_ctid
      RETURNING j.id, j.group_id::uuid AS org_id, j.start_after, a.retry_count + 1 AS attempt, a.kind, a.reason
    ),
    recorded AS (
      INSERT INTO app.job_snoozes (org_id, job_id, n, attempt, until_at, kind, reason)
      SELECT s.org_id, s.id, coalesce((SELECT max(x.n) FROM app.job_snoozes x WHERE x.org_id = s.org_id AND x.job_id = s.id), 0) + 1,
        s.attempt, s.start_after, s.kind, s.reason
      FROM snoozed s
    )
    SELECT count(*)::int AS snoozed FROM snoozed
  `;
}

/**
 * pg-boss's touch() (heartbeat_on = now for active jobs, fenced to the attempt), but passing over
 * rows another statement has locked: that is this worker's own completion of a job that finished
 * since the list was made (or pg-boss settling it), and waiting for it chained statements behind
 * one another (a 500 ms heartbeat, and completions queued behind it). A row passed over is
 * refreshed by the next heartbeat, half an interval later. Returns the jobs that are no longer
 * active at the attempt claimed, read without locks as of the statement's start: another attempt
 * owns them.
 */
function heartbeatSql(table: string): string {
  const t = `${S}.${table}`;
  return `
    WITH ${mineInIdOrder(t, ATTEMPTS, true)},
    beat AS (
      UPDATE ${t} j SET heartbeat_on = ${S}.job_now()
      FROM mine a
      WHERE j.ctid = a.locked_ctid
    )
    SELECT coalesce(array_agg(a.id), '{}') AS lost FROM ${ATTEMPTS}
    WHERE (SELECT j.state = 'active' AND j.retry_count = a.retry_count FROM ${t} j WHERE j.name = $1 AND j.id = a.id) IS NOT TRUE
  `;
}

/**
 * A failure that retrying cannot fix: with its retry limit lowered to the attempts made, pg-boss's
 * fail() treats it as final and moves it to the dead-letter queue.
 */
function exhaustRetriesSql(table: string): string {
  return `
    UPDATE ${S}.${table} SET retry_limit = retry_count
    WHERE name = $1 AND id = $2 AND state = 'active' AND retry_count = $3
  `;
}

/** Prepared-statement handles for one queue's table, named so each connection parses them once. */
export class QueueStatements {
  readonly #queue: string;
  readonly #table: string;
  readonly #claimAndComplete = new Map<number, string>();
  readonly #release: string;
  readonly #unclaim: string;
  readonly #snooze: string;
  readonly #exhaustRetries: string;
  readonly #heartbeat: string;

  readonly #order: ClaimOrder;

  constructor(queue: string, table: string, order: ClaimOrder = "fair") {
    this.#queue = queue;
    this.#table = table;
    this.#order = order;
    this.#release = releaseSql(table);
    this.#unclaim = unclaimSql(table);
    this.#snooze = snoozeSql(table);
    this.#exhaustRetries = exhaustRetriesSql(table);
    this.#heartbeat = heartbeatSql(table);
  }

  /**
   * `limit` is the batch size, or 0 to only complete (shutdown): two statements per queue. Returns
   * the claimed jobs and, when some completions did not land (their claim had lapsed), which ones did.
   */
  async claimAndComplete(pool: pg.Pool, completions: readonly Completion[], limit: number, cursor = ""): Promise<ClaimResult> {
    let text = this.#claimAndComplete.get(limit);
    if (text === undefined) {
      text = limit === 0 ? completeSql(this.#table) : claimAndCompleteSql(this.#table, limit, this.#order);
      this.#claimAndComplete.set(limit, text);
    }
    const { rows } = await pool.query<
      ClaimedJob & { completed: number | null; last_org: string | null; more: boolean | null; capped: boolean | null }
    >({
      name: `gpt-claim-complete:${this.#queue}:${limit}`,
      text,
      values: limit === 0 ? [this.#queue, completionsJson(completions)] : [this.#queue, completionsJson(completions), cursor],
    });
    const summary = rows.pop()!;
    const claim = {
      claimed: rows as ClaimedJob[],
      cursor: summary.last_org ?? cursor,
      more: summary.more ?? false,
      capped: summary.capped ?? false,
    };
    if (summary.completed === completions.length) return { ...claim, landed: () => true };
    // Rare: some claims lapsed. Ask which completions are ours (completed at the attempt we ran).
    const { rows: ours } = await pool.query<{ id: string }>(
      `SELECT j.id FROM ${S}.${this.#table} j JOIN ${ATTEMPTS} ON j.id = a.id AND j.retry_count = a.retry_count
       WHERE j.name = $1 AND j.state = 'completed'`,
      [this.#queue, completions.map((c) => c.id), completions.map((c) => c.retry_count)],
    );
    const landed = new Set(ours.map((r) => r.id));
    return { ...claim, landed: (id) => landed.has(id) };
  }

  async release(pool: pg.Pool, jobs: readonly { id: string; retry_count: number }[], reason: unknown): Promise<number> {
    const { rows } = await pool.query<{ released: number }>({
      name: `gpt-release:${this.#queue}`,
      text: this.#release,
      values: [this.#queue, jobs.map((j) => j.id), jobs.map((j) => j.retry_count), JSON.stringify(reason)],
    });
    return rows[0]?.released ?? 0;
  }

  /** Returns how many of `jobs` were still this worker's to hand back. */
  async unclaim(pool: pg.Pool, jobs: readonly Pick<ClaimedJob, "id" | "retry_count" | "fresh">[], delaySeconds = 0): Promise<number> {
    const { rows } = await pool.query<{ unclaimed: number }>({
      name: `gpt-unclaim:${this.#queue}`,
      text: this.#unclaim,
      values: [this.#queue, jobs.map((j) => j.id), jobs.map((j) => j.retry_count), jobs.map((j) => j.fresh), delaySeconds],
    });
    return rows[0]?.unclaimed ?? 0;
  }

  /** Refreshes the running jobs' heartbeats; returns the ids that are no longer this worker's. */
  async heartbeat(pool: pg.Pool, jobs: readonly { id: string; retry_count: number }[]): Promise<string[]> {
    const { rows } = await pool.query<{ lost: string[] }>({
      name: `gpt-heartbeat:${this.#queue}`,
      text: this.#heartbeat,
      values: [this.#queue, jobs.map((j) => j.id), jobs.map((j) => j.retry_count)],
    });
    return rows[0]?.lost ?? [];
  }

  /**
   * Returns how many of the snoozes landed (the rest were no longer this worker's). Only for jobs
   * of an organisation: app.job_snoozes records each under it.
   */
  async snooze(pool: pg.Pool, snoozes: readonly Snooze[]): Promise<number> {
    const { rows } = await pool.query<{ snoozed: number }>({
      name: `gpt-snooze:${this.#queue}`,
      text: this.#snooze,
      values: [
        this.#queue,
        snoozes.map((s) => s.job.id),
        snoozes.map((s) => s.job.retry_count),
        snoozes.map((s) => s.job.fresh),
        snoozes.map((s) => s.seconds),
        snoozes.map((s) => s.kind),
        snoozes.map((s) => s.reason),
      ],
    });
    return rows[0]?.snoozed ?? 0;
  }

  /**
   * Plans the batch-size claim once on each of `connections` connections (EXPLAIN: nothing runs),
   * so the first claims after a start do not each pay for loading the job table's catalogue
   * entries into a new backend (tens of milliseconds; the latency benchmark's first 0.3 s).
   */
  async warm(pool: pg.Pool, connections: number, batchSize: number): Promise<void> {
    const text = `EXPLAIN ${claimAndCompleteSql(this.#table, batchSize, this.#order)}`;
    const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
    try {
      await Promise.all(clients.map((client) => client.query(text, [this.#queue, "[]", ""])));
    } finally {
      for (const client of clients) client.release();
    }
  }

  async exhaustRetries(pool: pg.Pool, job: { id: string; retry_count: number }): Promise<void> {
    await pool.query({ name: `gpt-exhaust:${this.#queue}`, text: this.#exhaustRetries, values: [this.#queue, job.id, job.retry_count] });
  }
}

/** The table pg-boss keeps a queue's jobs in (job_common unless the queue has its own partition). */
export async function queueTable(pool: pg.Pool, queue: string): Promise<string> {
  const { rows } = await pool.query<{ table_name: string }>(`SELECT table_name FROM ${S}.queue WHERE name = $1`, [queue]);
  const table = rows[0]?.table_name;
  if (!table) throw new Error(`queue ${queue} does not exist in ${S}.queue; run npm run migrate`);
  if (!/^[a-z0-9_]+$/.test(table)) throw new Error(`unexpected table name ${table} for queue ${queue}`);
  return table;
}
