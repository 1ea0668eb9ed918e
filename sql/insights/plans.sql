-- Every organisation's plan and how close it is to each quota, nearest first: who is about to be
-- refused (API 429 quota_exceeded, SQL GQ001) and who may need a larger plan.
--   psql "$DATABASE_URL" -f sql/insights/plans.sql
-- Reading it: `fraction` is used / limit (empty: no limit). Jobs per day reset at 00:00 UTC, LLM
-- tokens on the 1st of the month (UTC); waiting jobs free up as jobs start. Move an organisation:
--   SELECT ops.assign_plan('<org id>', 'team', 'why');
-- Waiting jobs are counted per organisation up to its limit + 1: on thousands of organisations
-- with big backlogs this takes a while.
SELECT o.name AS organisation,
       o.id AS org_id,
       u.plan_id AS plan,
       u.quota,
       u.used,
       u.quota_limit AS "limit",
       round(u.used::numeric / u.quota_limit, 3) AS fraction,
       u.resets_at
FROM app.organisations o
CROSS JOIN LATERAL ops.subscription_usage(o.id) u
ORDER BY u.used::numeric / u.quota_limit DESC NULLS LAST, o.name, u.quota;
