-- Jobs marked running past their expiry or a missed heartbeat.
--   psql "$DATABASE_URL" -f sql/insights/stuck-jobs.sql
-- Reading it: each row's worker died or hangs. pg-boss's supervision (run by the workers) sends
-- such jobs back to their queue, or fails them when no retries are left, within a minute or so.
-- An empty result is healthy. Rows older than a few minutes mean no worker is supervising: check
-- workers-alive.sql and the worker logs.
SELECT queue,
       job_id,
       org_id,
       attempt,
       reason,
       now() - started_at AS running_for,
       expires_at,
       heartbeat_due_at
FROM ops.stuck_jobs
ORDER BY started_at;
