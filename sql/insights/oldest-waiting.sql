-- The oldest waiting job of each job type: due, not started, not deferred.
--   psql "$DATABASE_URL" -f sql/insights/oldest-waiting.sql
-- Reading it: `waiting_for` is how long the job has been due without a worker starting it. A few
-- seconds is normal under load; minutes mean no worker runs this type (workers-alive.sql shows
-- the types each worker runs) or the workers are saturated (latency.sql, pickup columns).
-- `retry_count` above 0 means the job is waiting for another attempt after failing.
SELECT queue,
       waiting_for,
       job_id,
       org_id,
       state,
       retry_count,
       due_at,
       created_at
FROM ops.oldest_waiting
ORDER BY waiting_for DESC;
