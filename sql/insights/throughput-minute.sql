-- Throughput per minute: completed, failed and retried jobs per job type over the last hour.
--   psql "$DATABASE_URL" -f sql/insights/throughput-minute.sql
-- Reading it: one row per minute and job type that had any outcome (a minute with no row did
-- nothing). Compare `completed` with the rate jobs are sent: when sending outpaces completing for
-- several minutes, queue-depth.sql will show the backlog growing; add worker processes.
SELECT minute,
       queue,
       sum(completed) AS completed,
       sum(failed) AS failed,
       sum(retried) AS retried
FROM ops.job_throughput_minute
WHERE minute >= date_trunc('minute', now()) - interval '59 minutes'
GROUP BY minute, queue
ORDER BY minute DESC, queue;
