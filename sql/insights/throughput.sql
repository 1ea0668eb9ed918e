-- Throughput: completed and failed jobs per hour over the last 24 hours, per job type.
--   psql "$DATABASE_URL" -f sql/insights/throughput.sql
-- Reading it: each row is one hour (UTC) of one job type, from the workers' per-minute rollups,
-- so it still answers after pg-boss has deleted the jobs themselves. A rising `failed` share is
-- the cue to open the dead-letter contents (dead-letters.sql). The dashboard's charts read the
-- same view (per organisation, per minute for the last hour and per hour for the last day).
SELECT date_trunc('hour', minute) AS hour,
       queue,
       sum(completed) AS completed,
       sum(failed) AS failed,
       sum(retried) AS retried
FROM ops.job_throughput_minute
WHERE minute >= now() - interval '24 hours'
GROUP BY 1, 2
ORDER BY 1 DESC, 2;
