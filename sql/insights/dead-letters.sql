-- Dead-letter contents: the 50 newest jobs that failed for the last time, with their error.
--   psql "$DATABASE_URL" -f sql/insights/dead-letters.sql
-- Reading it: `job_id` is the original job (pg-boss keeps it, state failed, until retention);
-- `error` is its last attempt's message. Retry one from the web dashboard, or all failures of a
-- type from the jobs console ("Retry all failed jobs of this type").
SELECT failed_at,
       queue,
       org_id,
       job_id,
       attempts,
       error ->> 'message' AS error
FROM ops.dead_letters
ORDER BY failed_at DESC
LIMIT 50;
