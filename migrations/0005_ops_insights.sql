-- The rest of the operators' insight views (issue 4), next to those of 0003/0004. Each has a
-- commented psql file in sql/insights/ that says how to read it. ops.* views read every
-- organisation and are for the database owner; the web app reads the app.* wrappers.

-- Pickup (due → started) percentiles next to run time in the 24-hour figures, summed set-wise
-- from both histograms at once. New columns go at the end, so 0004's readers are unchanged.
CREATE OR REPLACE VIEW ops.queue_stats_24h AS
SELECT queue, org_id,
  sum(completed)::bigint AS completed, sum(failed)::bigint AS failed, sum(retried)::bigint AS retried,
  CASE WHEN sum(completed + failed) > 0 THEN round(sum(failed) / sum(completed + failed), 4) END AS failure_rate,
  ops.histogram_quantile(array_agg(run_ms ORDER BY bucket), 0.5) AS run_ms_p50,
  ops.histogram_quantile(array_agg(run_ms ORDER BY bucket), 0.95) AS run_ms_p95,
  ops.histogram_quantile(array_agg(pickup_ms ORDER BY bucket), 0.5) AS pickup_ms_p50,
  ops.histogram_quantile(array_agg(pickup_ms ORDER BY bucket), 0.95) AS pickup_ms_p95
FROM (
  SELECT r.queue, r.org_id, b.bucket, sum(b.run_ms)::bigint AS run_ms, sum(b.pickup_ms)::bigint AS pickup_ms,
    sum(r.completed_count) FILTER (WHERE b.bucket = 1) AS completed,
    sum(r.failed_count) FILTER (WHERE b.bucket = 1) AS failed,
    sum(r.retried_count) FILTER (WHERE b.bucket = 1) AS retried
  FROM ops.job_rollup_minute r
  CROSS JOIN LATERAL unnest(r.run_ms_buckets, r.pickup_ms_buckets) WITH ORDINALITY AS b (run_ms, pickup_ms, bucket)
  WHERE r.minute >= date_trunc('minute', now() - interval '24 hours')
  GROUP BY r.queue, r.org_id, b.bucket
) per_bucket
GROUP BY queue, org_id;
CREATE OR REPLACE VIEW app.queue_stats_24h AS SELECT * FROM ops.queue_stats_24h WHERE org_id = app.current_org_id();

-- Outcomes per hour (UTC), queue and organisation: the minute rollups summed.
CREATE VIEW ops.job_throughput_hour AS
SELECT date_trunc('hour', minute, 'UTC') AS hour, queue, org_id,
  sum(completed_count)::bigint AS completed, sum(failed_count)::bigint AS failed, sum(retried_count)::bigint AS retried,
  CASE WHEN sum(completed_count + failed_count) > 0
    THEN round(sum(failed_count)::numeric / sum(completed_count + failed_count), 4) END AS failure_rate
FROM ops.job_rollup_minute
GROUP BY 1, 2, 3;
COMMENT ON VIEW ops.job_throughput_hour IS 'Completed, failed and retried jobs per hour (UTC), queue and organisation, with the failure rate.';

-- Pickup and run-time percentiles per hour (UTC) and queue, every organisation together.
CREATE VIEW ops.job_latency_hour AS
SELECT hour, queue, sum(finished)::bigint AS attempts,
  ops.histogram_quantile(array_agg(pickup_ms ORDER BY bucket), 0.5) AS pickup_ms_p50,
  ops.histogram_quantile(array_agg(pickup_ms ORDER BY bucket), 0.95) AS pickup_ms_p95,
  ops.histogram_quantile(array_agg(pickup_ms ORDER BY bucket), 0.99) AS pickup_ms_p99,
  ops.histogram_quantile(array_agg(run_ms ORDER BY bucket), 0.5) AS run_ms_p50,
  ops.histogram_quantile(array_agg(run_ms ORDER BY bucket), 0.95) AS run_ms_p95,
  ops.histogram_quantile(array_agg(run_ms ORDER BY bucket), 0.99) AS run_ms_p99
FROM (
  SELECT date_trunc('hour', r.minute, 'UTC') AS hour, r.queue, b.bucket,
    sum(b.run_ms)::bigint AS run_ms, sum(b.pickup_ms)::bigint AS pickup_ms,
    sum(r.completed_count + r.failed_count + r.retried_count) FILTER (WHERE b.bucket = 1) AS finished
  FROM ops.job_rollup_minute r
  CROSS JOIN LATERAL unnest(r.run_ms_buckets, r.pickup_ms_buckets) WITH ORDINALITY AS b (run_ms, pickup_ms, bucket)
  GROUP BY 1, 2, 3
) per_bucket
GROUP BY hour, queue;
COMMENT ON VIEW ops.job_latency_hour IS 'Per hour (UTC) and queue: attempts finished, p50/p95/p99 of pickup delay and run time in ms (bucket upper bounds).';

-- The job that has been due the longest in each queue (waiting for a worker, not deferred).
CREATE VIEW ops.oldest_waiting AS
SELECT DISTINCT ON (name) name AS queue, id AS job_id, group_id AS org_id, state, created_on AS created_at,
  start_after AS due_at, now() - start_after AS waiting_for, retry_count
FROM pgboss.job
WHERE state < 'active' AND NOT blocked AND start_after <= now() AND source_id IS NULL
ORDER BY name, start_after, id;
COMMENT ON VIEW ops.oldest_waiting IS 'Per queue, the job due the longest and still waiting for a worker.';

-- Jobs still marked running after their expiry or a missed heartbeat: their worker died or hangs.
-- pg-boss's supervisor sends them back to the queue (or fails them) on its next pass; rows that
-- stay here mean supervision is not running. group_id IS NOT NULL (every job of ours) lets the
-- scan use pg-boss's index of active jobs instead of reading the whole table.
CREATE VIEW ops.stuck_jobs AS
SELECT name AS queue, id AS job_id, group_id AS org_id, retry_count + 1 AS attempt, started_on AS started_at,
  started_on + make_interval(secs => expire_seconds) AS expires_at,
  coalesce(heartbeat_on, started_on) + make_interval(secs => heartbeat_seconds) AS heartbeat_due_at,
  CASE WHEN started_on + make_interval(secs => expire_seconds) < now() THEN 'past its expiry' ELSE 'missed its heartbeat' END AS reason
FROM pgboss.job
WHERE state = 'active' AND group_id IS NOT NULL
  AND (started_on + make_interval(secs => expire_seconds) < now()
    OR coalesce(heartbeat_on, started_on) + make_interval(secs => heartbeat_seconds) < now());
COMMENT ON VIEW ops.stuck_jobs IS 'Running jobs past their expiry or heartbeat deadline (a dead or hung worker).';

-- Usage per day (UTC), organisation and queue, from the rollups (outlives pg-boss's retention).
CREATE VIEW ops.usage_daily AS
SELECT date_trunc('day', r.minute, 'UTC') AS day, r.org_id, o.name AS organisation, r.queue,
  sum(r.completed_count)::bigint AS completed, sum(r.failed_count)::bigint AS failed, sum(r.retried_count)::bigint AS retried,
  round(sum(r.run_ms_sum) / 1000.0, 1) AS run_seconds
FROM ops.job_rollup_minute r
LEFT JOIN app.organisations o ON o.id = r.org_id
GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW ops.usage_daily IS 'Jobs finished and handler seconds per day (UTC), organisation and queue.';

-- Finished jobs pg-boss still keeps, with their last attempt's pickup and run time. pg-boss has no
-- index on finished jobs: filter on queue and completed_at, and expect a scan of those kept.
CREATE VIEW ops.finished_jobs AS
SELECT name AS queue, id AS job_id, group_id AS org_id, state, retry_count + 1 AS attempts,
  created_on AS created_at, started_on AS started_at, completed_on AS completed_at,
  round(extract(epoch FROM started_on - start_after) * 1000)::bigint AS pickup_ms,
  round(extract(epoch FROM completed_on - started_on) * 1000)::bigint AS run_ms,
  output
FROM pgboss.job
WHERE state IN ('completed', 'failed') AND source_id IS NULL AND started_on IS NOT NULL;
COMMENT ON VIEW ops.finished_jobs IS 'Completed and failed jobs still kept by pg-boss, with the last attempt''s pickup and run time in ms.';
