-- Pickup and run-time percentiles per job type and hour, over the last 24 hours.
--   psql "$DATABASE_URL" -f sql/insights/latency.sql
-- Reading it: `pickup` is from when a job was due to when a worker started it (queueing delay);
-- `run` is the handler's time. Values are histogram bucket upper bounds in ms (1, 2, 5, 10, 25,
-- 50, 100, 250, 500, 1000, ...), so read them as "at most". High pickup with normal run time means
-- too few workers or a backlog; high run time means the handler or what it calls (OpenRouter,
-- Kommo, the database) got slower. `attempts` counts finished attempts, retries included.
SELECT hour,
       queue,
       attempts,
       pickup_ms_p50,
       pickup_ms_p95,
       pickup_ms_p99,
       run_ms_p50,
       run_ms_p95,
       run_ms_p99
FROM ops.job_latency_hour
WHERE hour >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
ORDER BY hour DESC, queue;
