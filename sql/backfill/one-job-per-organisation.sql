-- Enqueue one job of a type for every organisation, e.g. to rebuild something every tenant has.
--   psql "$DATABASE_URL" -v type=test-job -v payload='{"echo": "hello"}' -f sql/backfill/one-job-per-organisation.sql
-- Optional: -v run=2026-11-22 names the run (default: today), so the same backfill next month is
-- a new one; -v batch=500; -v max_batches=N.
--
-- Each organisation gets the payload as given. Stopping and re-running resumes after the last
-- organisation covered; running a finished backfill again enqueues nothing. Progress arrives as
-- NOTICE lines; SELECT * FROM ops.backfills shows the totals. Run it in psql's autocommit mode.
\set ON_ERROR_STOP on
\if :{?type}
\else
  DO $$ BEGIN RAISE EXCEPTION 'one-job-per-organisation.sql needs -v type=<job type>; SELECT name FROM ops.job_types lists them'; END $$;
\endif
\if :{?payload}
\else
  \set payload '{}'
\endif
\if :{?run}
\else
  SELECT current_date::text AS run \gset
\endif
\ir _batch-options.sql

SELECT format('per-organisation:%s:%s', :'type', :'run') AS backfill_name \gset

-- The payload is checked against the type before anything runs: a typo fails here, not per job.
SELECT format($source$
  SELECT o.id::text AS key, o.id AS org_id, %L::jsonb AS payload FROM app.organisations o
$source$, :'payload') AS source \gset

CALL ops.backfill(:'backfill_name', :'type', :'source', :batch, :max_batches);

SELECT name, enqueued, existing, batches, finished_at FROM ops.backfills WHERE name = :'backfill_name';
