-- Usage per organisation over the last 30 days: jobs finished and handler time.
--   psql "$DATABASE_URL" -f sql/insights/usage-per-organisation.sql
-- Reading it: one row per organisation, busiest first. `run_seconds` is the time handlers spent
-- on its jobs (the capacity it used); `failed` counts jobs that failed for good. For one
-- organisation per day, query ops.usage_daily directly:
--   SELECT * FROM ops.usage_daily WHERE org_id = '...' ORDER BY day DESC;
SELECT organisation,
       org_id,
       sum(completed) AS completed,
       sum(failed) AS failed,
       sum(retried) AS retried,
       sum(run_seconds) AS run_seconds
FROM ops.usage_daily
WHERE day >= date_trunc('day', now(), 'UTC') - interval '29 days'
GROUP BY organisation, org_id
ORDER BY run_seconds DESC, completed DESC;
