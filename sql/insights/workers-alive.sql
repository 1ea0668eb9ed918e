-- Worker processes that reported in the last 30 seconds.
--   psql "$DATABASE_URL" -f sql/insights/workers-alive.sql
-- Reading it: one row per running worker process, with the job types it runs and how many run at
-- once. No rows while jobs are queued means nothing is processing them: start a worker
-- (npm run start:worker, or the Procfile's worker process).
SELECT hostname,
       pid,
       version,
       concurrency,
       job_types,
       now() - started_at AS up_for,
       now() - last_seen_at AS last_seen
FROM ops.workers_alive
ORDER BY started_at;
