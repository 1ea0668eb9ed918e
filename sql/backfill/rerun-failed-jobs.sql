-- Re-run every job of one type that failed for good since a date: one new job per failed job,
-- with the same organisation and payload.
--   psql "$DATABASE_URL" -v type=test-job -v since=2026-11-01 -f sql/backfill/rerun-failed-jobs.sql
-- Optional: -v batch=500 (jobs per committed batch), -v max_batches=10 (stop after 10 batches).
--
-- Safe to stop and to run twice: each batch commits on its own and the backfill remembers the last
-- job it covered (ops.backfills), so a second run resumes there, and a finished one enqueues
-- nothing. Each new job's idempotency key is derived from the failed job's id, so even a reset
-- cursor cannot enqueue a job twice. Progress arrives as NOTICE lines; SELECT * FROM ops.backfills
-- shows every backfill's totals. Run it in psql's default autocommit mode (not with -1).
\set ON_ERROR_STOP on
\if :{?type}
\else
  DO $$ BEGIN RAISE EXCEPTION 'rerun-failed-jobs.sql needs -v type=<job type>; SELECT name FROM ops.job_types lists them'; END $$;
\endif
\if :{?since}
\else
  DO $$ BEGIN RAISE EXCEPTION 'rerun-failed-jobs.sql needs -v since=<date>, e.g. -v since=2026-11-01'; END $$;
\endif
\ir _batch-options.sql

-- The name ties the run to its arguments: another type or date is another backfill.
SELECT format('rerun-failed:%s:since-%s', :'type', :'since') AS backfill_name \gset

-- The source query: key (keyset order), org_id, payload. Failed jobs that are still in the queue
-- table (pg-boss deletes finished jobs after the queue's deleteAfterSeconds).
SELECT format($source$
  SELECT j.id::text AS key, j.group_id::uuid AS org_id, j.data AS payload
  FROM pgboss.job j
  WHERE j.name = %L AND j.state = 'failed' AND j.created_on >= %L::timestamptz AND j.group_id IS NOT NULL
$source$, :'type', :'since') AS source \gset

CALL ops.backfill(:'backfill_name', :'type', :'source', :batch, :max_batches);

SELECT name, enqueued, existing, batches, last_key, finished_at FROM ops.backfills WHERE name = :'backfill_name';
