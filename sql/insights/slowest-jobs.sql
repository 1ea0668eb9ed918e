-- The 20 slowest jobs of the last 24 hours, by their last attempt's run time.
--   psql "$DATABASE_URL" -f sql/insights/slowest-jobs.sql
-- Reading it: `run_ms` is the handler's time for the attempt that finished the job. Open a job in
-- the web app (/jobs/<job_id>) for its payload and attempts. This reads the finished jobs pg-boss
-- still keeps (no index covers them): about a second per million kept rows; add a queue filter,
-- or shorten the interval, on a busy database.
SELECT queue,
       job_id,
       org_id,
       state,
       attempts,
       run_ms,
       pickup_ms,
       completed_at
FROM ops.finished_jobs
WHERE completed_at >= now() - interval '24 hours'
ORDER BY run_ms DESC
LIMIT 20;
