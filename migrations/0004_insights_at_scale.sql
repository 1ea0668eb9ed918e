-- The dashboard's and the jobs console's reads at a million jobs (bench/web-loaders.ts measures
-- them). The views keep 0003's columns (dead_letters gains root_job_id at the end); what changes is
-- how they are computed.

-- Queue depth grouped on (queue, organisation) alone, each state counted with a FILTER: one hash
-- aggregate over the backlog instead of a sort on a computed state that spilled to disk with tens
-- of thousands of waiting jobs. The states are then unpivoted into rows, so the view keeps 0003's
-- shape (a state with no jobs has no row, as before).
CREATE OR REPLACE VIEW ops.queue_depth AS
SELECT w.queue, w.org_id, s.state, s.jobs, s.oldest_created_at
FROM (
  SELECT name AS queue, group_id AS org_id,
    count(*) FILTER (WHERE state = 'created' AND start_after <= now()) AS queued,
    min(created_on) FILTER (WHERE state = 'created' AND start_after <= now()) AS queued_oldest,
    count(*) FILTER (WHERE state = 'created' AND start_after > now()) AS deferred,
    min(created_on) FILTER (WHERE state = 'created' AND start_after > now()) AS deferred_oldest,
    count(*) FILTER (WHERE state = 'retry') AS retry,
    min(created_on) FILTER (WHERE state = 'retry') AS retry_oldest
  FROM pgboss.job
  WHERE state < 'active' AND NOT blocked AND group_id IS NOT NULL
  GROUP BY name, group_id
) w
CROSS JOIN LATERAL (
  VALUES ('queued', w.queued, w.queued_oldest), ('deferred', w.deferred, w.deferred_oldest), ('retry', w.retry, w.retry_oldest)
) AS s (state, jobs, oldest_created_at)
WHERE s.jobs > 0
UNION ALL
SELECT name, group_id, 'active', count(*), min(created_on)
FROM pgboss.job
WHERE state = 'active' AND group_id IS NOT NULL
GROUP BY name, group_id;

-- The organisation is read once per query (an InitPlan) rather than once per backlog row: as a
-- plain filter, current_setting() and its casts ran for every waiting job and cost more than
-- counting them. The InitPlan's parameter is still pushed down to pg-boss's indexes.
CREATE OR REPLACE VIEW app.queue_depth AS SELECT * FROM ops.queue_depth WHERE org_id = (SELECT app.current_org_id()::text);

-- The 24-hour figures with the run-time histogram summed set-wise (unnest, group by bucket)
-- rather than by ops.sum_buckets, whose SQL step function runs a query per minute row: 1,440 of
-- them per queue and organisation cost about 20 ms. Totals are taken once per row (bucket 1).
CREATE OR REPLACE VIEW ops.queue_stats_24h AS
SELECT queue, org_id,
  sum(completed)::bigint AS completed, sum(failed)::bigint AS failed, sum(retried)::bigint AS retried,
  CASE WHEN sum(completed + failed) > 0 THEN round(sum(failed) / sum(completed + failed), 4) END AS failure_rate,
  ops.histogram_quantile(array_agg(run_ms ORDER BY bucket), 0.5) AS run_ms_p50,
  ops.histogram_quantile(array_agg(run_ms ORDER BY bucket), 0.95) AS run_ms_p95
FROM (
  SELECT r.queue, r.org_id, b.bucket, sum(b.run_ms)::bigint AS run_ms,
    sum(r.completed_count) FILTER (WHERE b.bucket = 1) AS completed,
    sum(r.failed_count) FILTER (WHERE b.bucket = 1) AS failed,
    sum(r.retried_count) FILTER (WHERE b.bucket = 1) AS retried
  FROM ops.job_rollup_minute r
  CROSS JOIN LATERAL unnest(r.run_ms_buckets) WITH ORDINALITY AS b (run_ms, bucket)
  WHERE r.minute >= date_trunc('minute', now() - interval '24 hours')
  GROUP BY r.queue, r.org_id, b.bucket
) per_bucket
GROUP BY queue, org_id;

-- Two partial indexes on pg-boss's job table, both over rows the hot path never writes (a job
-- that completes is never failed, cancelled or a dead-letter copy), so claiming and completing
-- pay only the predicate check. pg-boss indexes neither by organisation: without them, the
-- dashboard's recent failures read every dead letter of every organisation (tens of thousands
-- after two weeks at a 2% failure rate), and the console's "failed" filter walked back through
-- all history to the last failure. The names carry an app_ prefix: ours, not pg-boss's. On a
-- partitioned job table each partition gets its copy, including queues created later.
CREATE INDEX app_job_failed_by_org_idx ON pgboss.job (group_id, state, created_on DESC, id DESC)
  WHERE state IN ('failed', 'cancelled');
CREATE INDEX app_dead_letters_by_org_idx ON pgboss.job (group_id, created_on DESC)
  WHERE state < 'active' AND NOT blocked AND source_id IS NOT NULL AND group_id IS NOT NULL;

-- Dead letters gain the id of the first job in their chain (pg-boss's source_root_id, indexed by
-- its job_i12), so a retry finds and removes a job's copies by index rather than by reading every
-- dead letter of the organisation. For a job that went to the dead-letter queue once, it is the
-- job's own id.
CREATE OR REPLACE VIEW ops.dead_letters AS
SELECT j.id AS dead_letter_job_id, j.name AS dead_letter_queue, j.group_id AS org_id,
  j.source_name AS queue, j.source_id AS job_id, j.created_on AS failed_at,
  j.source_retry_count + 1 AS attempts, j.source_output AS error, j.data AS payload,
  j.source_root_id AS root_job_id
FROM pgboss.job j
WHERE j.state < 'active' AND NOT j.blocked AND j.source_id IS NOT NULL AND j.group_id IS NOT NULL;
CREATE OR REPLACE VIEW app.dead_letters AS SELECT * FROM ops.dead_letters WHERE org_id = app.current_org_id()::text;
