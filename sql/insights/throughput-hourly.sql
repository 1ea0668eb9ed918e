-- Throughput per hour: completed, failed and retried jobs per job type over the last 24 hours.
--   psql "$DATABASE_URL" -f sql/insights/throughput-hourly.sql
-- Reading it: one row per hour (UTC) and job type, from the workers' per-minute rollups, so it
-- still answers after pg-boss has deleted the jobs themselves. `failure_rate` is failed against
-- completed + failed (retries that later succeeded are not failures). A rising rate is the cue to
-- open the dead-letter contents (dead-letters.sql). The dashboard's 24-hour chart reads the same
-- rollups per organisation.
SELECT hour,
       queue,
       sum(completed) AS completed,
       sum(failed) AS failed,
       sum(retried) AS retried,
       round(sum(failed)::numeric / nullif(sum(completed + failed), 0), 4) AS failure_rate
FROM ops.job_throughput_hour
WHERE hour >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
GROUP BY hour, queue
ORDER BY hour DESC, queue;
