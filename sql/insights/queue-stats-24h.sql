-- Failure rate and run time per job type over the last 24 hours, all organisations together.
--   psql "$DATABASE_URL" -f sql/insights/queue-stats-24h.sql
-- Reading it: `failure_rate` counts jobs that failed for good against all finished ones (a retry
-- that later succeeded is not a failure). `run_ms_p95` is the 95th percentile of handler run time
-- from the rollups' latency histograms (bucket upper bounds, so it is an upper estimate), for the
-- organisation where it was worst; `pickup_ms_p95` likewise for the wait from due to started. The
-- dashboard shows the same numbers per organisation; latency.sql has them hour by hour.
SELECT queue,
       sum(completed) AS completed,
       sum(failed) AS failed,
       sum(retried) AS retried,
       round(sum(failed)::numeric / nullif(sum(completed + failed), 0), 4) AS failure_rate,
       max(run_ms_p95) AS run_ms_p95_worst_org,
       max(pickup_ms_p95) AS pickup_ms_p95_worst_org
FROM ops.queue_stats_24h
GROUP BY queue
ORDER BY failure_rate DESC NULLS LAST, queue;
