-- Queue depth: unfinished jobs per job type and state, over every organisation.
--   psql "$DATABASE_URL" -f sql/insights/queue-depth.sql
-- Reading it: `queued` jobs are due now and waiting for a worker; `deferred` are due later;
-- `retry` failed an attempt and wait for their backoff; `active` are running. A growing `queued`
-- with an old `oldest_waiting` means workers are missing or too few (see the worker health and
-- add worker processes). The web dashboard shows the same view per organisation.
SELECT queue,
       state,
       sum(jobs) AS jobs,
       now() - min(oldest_created_at) AS oldest_waiting
FROM ops.queue_depth
GROUP BY queue, state
ORDER BY queue, state;
