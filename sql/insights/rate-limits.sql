-- Keyed rate limits (docs/decisions/011): each budget used in the last day, how far ahead it is
-- booked, and the last hour's snoozes.
--   psql "$DATABASE_URL" -f sql/insights/rate-limits.sql
-- Reading it: `booked_ahead` is how long a job of that key arriving now would wait to start;
-- `snoozed_line_ahead` is when the last job already snoozed for it comes back. Both growing
-- without end mean jobs arrive faster than the limit lets them run: the limit is the bottleneck
-- (ask the upstream for more, or spread the work). Snoozes by `handler` are upstream refusals (429)
-- or a handler's own choice; many of them for a key mean its declared limit is higher than the
-- upstream's real one.
SELECT b.key,
       greatest(b.next_start_at - now(), interval '0') AS booked_ahead,
       greatest(b.snoozed_until_at - now(), interval '0') AS snoozed_line_ahead,
       b.updated_at AS last_booked_at
FROM ops.rate_limit_budgets b
WHERE b.updated_at > now() - interval '1 day'
ORDER BY b.next_start_at DESC
LIMIT 50;

SELECT s.kind,
       s.reason,
       count(*) AS snoozes,
       count(DISTINCT s.job_id) AS jobs,
       max(s.until_at - s.snoozed_at) AS longest_wait
FROM app.job_snoozes s
WHERE s.snoozed_at > now() - interval '1 hour'
GROUP BY s.kind, s.reason
ORDER BY snoozes DESC
LIMIT 50;
