-- 0002: how tenants reach the queue engine, and the operator tables the worker writes.
--
-- The pgboss schema belongs to pg-boss (installed by `npm run migrate` before these files run);
-- nothing here alters its tables. Every job carries its organisation in pgboss.job.group_id,
-- which pg-boss stores and copies to dead-letter jobs but otherwise leaves to us.

-- Enqueue runs inside the caller's org-scoped transaction, as gpt_app, through pg-boss's own
-- insert statement: it reads the queue's settings, inserts the job and returns its id and start time.
-- gpt_app gets no other access to pgboss.job: it reads jobs only through app.jobs below.
-- pg-boss inserts into the queue's partition directly (job_common for every queue without
-- partition: true, which the catalogue never sets), so the grant goes on both tables.
GRANT USAGE ON SCHEMA pgboss TO gpt_app;
GRANT SELECT ON pgboss.queue TO gpt_app;
GRANT INSERT ON pgboss.job, pgboss.job_common TO gpt_app;
GRANT SELECT (id, start_after) ON pgboss.job, pgboss.job_common TO gpt_app;

-- The current organisation's jobs. It guards against a forgotten organisation filter in our own
-- code (gpt_app runs only our queries), so it is deliberately not a security_barrier view: that
-- would stop the planner from using pg-boss's partial indexes for predicates on the state enum.
-- state stays pg-boss's enum and blocked is exposed for the same reason: queries can then repeat
-- an index's predicate (state < 'active' AND NOT blocked) exactly.
CREATE VIEW app.jobs AS
SELECT
  j.id,
  j.name AS type,
  app.current_org_id() AS org_id,
  j.state,
  j.blocked,
  j.priority,
  j.data AS payload,
  j.output,
  j.retry_count,
  j.retry_limit,
  j.singleton_key,
  j.created_on AS created_at,
  j.start_after,
  j.started_on AS started_at,
  j.completed_on AS completed_at,
  j.keep_until,
  j.dead_letter,
  j.source_name AS dead_lettered_from,
  j.source_id AS dead_lettered_job_id
FROM pgboss.job j
WHERE j.group_id = current_setting('app.org_id', true);

GRANT SELECT ON app.jobs TO gpt_app;

-- Latency histograms are stored as counts per bucket. These are the buckets' upper bounds in
-- milliseconds; one more bucket after the last counts everything slower. worker/metrics uses the
-- same bounds (a test compares them), so SQL percentiles and Prometheus agree.
CREATE FUNCTION ops.latency_bucket_bounds_ms() RETURNS integer[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT '{1,2,5,10,25,50,100,250,500,1000,2500,5000,10000,30000,60000,300000}'::integer[] $$;

-- Element-wise sum of two bucket arrays (a NULL side counts as zeros).
CREATE FUNCTION ops.add_buckets(a bigint[], b bigint[]) RETURNS bigint[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN a IS NULL THEN b
      WHEN b IS NULL THEN a
      ELSE (SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i)
              FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i))
    END
  $$;

-- Sums bucket arrays across rows: SELECT ops.sum_buckets(run_ms_buckets) FROM ops.job_rollup_minute ...
CREATE AGGREGATE ops.sum_buckets(bigint[]) (SFUNC = ops.add_buckets, STYPE = bigint[]);

-- The q-quantile (0..1) of a bucketed histogram in milliseconds, interpolating linearly inside the
-- bucket where it falls. NULL for an empty histogram. A quantile in the overflow bucket reports the
-- last bound: the histogram cannot say how much slower than that it was.
CREATE FUNCTION ops.histogram_quantile(buckets bigint[], q double precision) RETURNS double precision
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  AS $$
  DECLARE
    bounds integer[] := ops.latency_bucket_bounds_ms();
    total bigint := 0;
    target double precision;
    running bigint := 0;
    lower_ms double precision := 0;
    i integer;
  BEGIN
    IF buckets IS NULL THEN RETURN NULL; END IF;
    SELECT coalesce(sum(b), 0) INTO total FROM unnest(buckets) AS b;
    IF total = 0 THEN RETURN NULL; END IF;
    target := q * total;
    FOR i IN 1 .. array_length(buckets, 1) LOOP
      IF i > array_length(bounds, 1) THEN
        RETURN bounds[array_length(bounds, 1)];
      END IF;
      IF running + buckets[i] >= target AND buckets[i] > 0 THEN
        RETURN lower_ms + (bounds[i] - lower_ms) * (target - running) / buckets[i];
      END IF;
      running := running + buckets[i];
      lower_ms := bounds[i];
    END LOOP;
    RETURN bounds[array_length(bounds, 1)];
  END
  $$;

-- Per queue, per organisation, per minute: what the workers did. pg-boss deletes finished jobs after
-- their retention; these rows keep the history so SQL can answer "what happened last month".
CREATE TABLE ops.job_rollup_minute (
  minute timestamptz NOT NULL CHECK (minute = date_trunc('minute', minute)),
  queue text NOT NULL,
  org_id uuid,
  completed_count integer NOT NULL DEFAULT 0,
  failed_count integer NOT NULL DEFAULT 0,    -- failed for the last time (dead-lettered)
  retried_count integer NOT NULL DEFAULT 0,   -- failed and scheduled for another attempt
  run_ms_sum bigint NOT NULL DEFAULT 0,
  run_ms_max integer NOT NULL DEFAULT 0,
  run_ms_buckets bigint[] NOT NULL,
  pickup_ms_buckets bigint[] NOT NULL,
  -- Several worker processes add into the same row; NULLS NOT DISTINCT so jobs without an
  -- organisation still merge into one row per minute and queue.
  CONSTRAINT job_rollup_minute_key UNIQUE NULLS NOT DISTINCT (minute, queue, org_id)
);
-- Usage per organisation over time.
CREATE INDEX job_rollup_minute_org_minute_idx ON ops.job_rollup_minute (org_id, minute);

-- Organisations may read their own usage through the jobs API; operators (table owner) see all.
ALTER TABLE ops.job_rollup_minute ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_rollup_minute_current_org ON ops.job_rollup_minute
  FOR SELECT USING (org_id = app.current_org_id());
GRANT USAGE ON SCHEMA ops TO gpt_app;
GRANT SELECT ON ops.job_rollup_minute TO gpt_app;

-- One row per worker process, refreshed while it runs: "which workers are alive" for the
-- dashboard, readiness checks and alerting.
CREATE TABLE ops.worker_instances (
  id uuid PRIMARY KEY,
  hostname text NOT NULL,
  pid integer NOT NULL,
  version text NOT NULL,
  concurrency integer NOT NULL,
  job_types text[] NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz
);
CREATE INDEX worker_instances_last_seen_idx ON ops.worker_instances (last_seen_at);

-- Fixed-window request counters for rate limiting when Redis is not configured. UNLOGGED: the
-- counters are worthless after a crash, and skipping the WAL keeps a counter bump cheap.
CREATE UNLOGGED TABLE ops.rate_limit_windows (
  key text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  hits integer NOT NULL
);
