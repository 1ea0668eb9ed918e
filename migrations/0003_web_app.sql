-- 0003: what the web app needs: sessions, password resets, invitations, API tokens, agents, an
-- index of each organisation's jobs, and the insight views the dashboard and operators share.

-- Accounts ------------------------------------------------------------------------------------

ALTER TABLE app.users ADD COLUMN password_changed_at timestamptz;

-- Server-side sessions: the cookie carries a random token, the table only its sha256, so a leaked
-- table cannot be replayed as cookies. Read and written only by the owner (core/accounts), since a
-- session is looked up before any organisation is known; gpt_app has no access at all.
CREATE TABLE app.sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash bytea NOT NULL,
  user_id uuid NOT NULL REFERENCES app.users (id) ON DELETE CASCADE,
  current_org_id uuid REFERENCES app.organisations (id) ON DELETE SET NULL,
  user_agent text CHECK (user_agent IS NULL OR length(user_agent) <= 500),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
-- "Sign out everywhere" and pruning.
CREATE INDEX sessions_user_id_idx ON app.sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON app.sessions (expires_at);
ALTER TABLE app.sessions ENABLE ROW LEVEL SECURITY;

-- One-time password reset tokens (sha256 stored); a token works once, within its expiry.
CREATE TABLE app.password_resets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES app.users (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CONSTRAINT password_resets_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX password_resets_user_id_idx ON app.password_resets (user_id);
ALTER TABLE app.password_resets ENABLE ROW LEVEL SECURITY;

-- Invitations to an organisation, accepted through a link carrying the token (sha256 stored).
CREATE TABLE app.invitations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
  email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320),
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  token_hash bytea NOT NULL,
  invited_by uuid REFERENCES app.users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  revoked_at timestamptz,
  CONSTRAINT invitations_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX invitations_org_id_idx ON app.invitations (org_id, created_at DESC);
ALTER TABLE app.invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY invitations_current_org ON app.invitations
  USING (org_id = app.current_org_id()) WITH CHECK (org_id = app.current_org_id());
GRANT SELECT, INSERT, UPDATE ON app.invitations TO gpt_app;

-- API tokens for the worker's jobs API. id is the JWT's jti; the token itself is never stored.
CREATE TABLE app.api_tokens (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  scopes text[] NOT NULL CHECK (cardinality(scopes) > 0),
  created_by uuid REFERENCES app.users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX api_tokens_org_id_idx ON app.api_tokens (org_id, created_at DESC);
ALTER TABLE app.api_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_tokens_current_org ON app.api_tokens
  USING (org_id = app.current_org_id()) WITH CHECK (org_id = app.current_org_id());
GRANT SELECT, INSERT, UPDATE ON app.api_tokens TO gpt_app;

-- AI agents (the data model and screens; answering messages comes with its own issue).
CREATE TABLE app.agents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  model text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
  system_prompt text NOT NULL CHECK (length(system_prompt) <= 20000),
  temperature numeric(3, 2) NOT NULL CHECK (temperature BETWEEN 0 AND 2),
  max_tokens integer NOT NULL CHECK (max_tokens BETWEEN 1 AND 200000),
  knowledge_base_enabled boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
  created_by uuid REFERENCES app.users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT agents_org_name_key UNIQUE (org_id, name)
);
ALTER TABLE app.agents ENABLE ROW LEVEL SECURITY;
CREATE POLICY agents_current_org ON app.agents
  USING (org_id = app.current_org_id()) WITH CHECK (org_id = app.current_org_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON app.agents TO gpt_app;

-- Each organisation's jobs, newest first. pg-boss's tables have no index by organisation or time
-- (and are not ours to index), so enqueue writes one row here in the same transaction as the job;
-- the jobs console pages through it and reads each job's state from app.jobs by primary key.
CREATE TABLE app.job_refs (
  org_id uuid NOT NULL,
  job_id uuid NOT NULL,
  type text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, job_id)
);
-- Keyset pages: newest first, all types or one type.
CREATE INDEX job_refs_org_created_idx ON app.job_refs (org_id, created_at DESC, job_id DESC);
CREATE INDEX job_refs_org_type_created_idx ON app.job_refs (org_id, type, created_at DESC, job_id DESC);
-- Pruning refs whose jobs pg-boss has deleted, oldest first (core/jobs/job-refs.ts).
CREATE INDEX job_refs_created_idx ON app.job_refs (created_at, job_id);
ALTER TABLE app.job_refs ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_refs_current_org ON app.job_refs
  USING (org_id = app.current_org_id()) WITH CHECK (org_id = app.current_org_id());
GRANT SELECT, INSERT ON app.job_refs TO gpt_app;

-- Failed attempts, for the attempts timeline of the job detail page: pg-boss keeps only a job's
-- latest output, so each failed attempt's error would otherwise be overwritten by the next.
-- Written by the worker after pg-boss records the failure (failures only: nothing on the hot path).
CREATE TABLE app.job_attempts (
  org_id uuid NOT NULL,
  job_id uuid NOT NULL,
  attempt integer NOT NULL CHECK (attempt >= 1),
  failed_at timestamptz NOT NULL DEFAULT now(),
  run_ms integer NOT NULL CHECK (run_ms >= 0),
  message text NOT NULL,
  final boolean NOT NULL,
  PRIMARY KEY (org_id, job_id, attempt)
);
CREATE INDEX job_attempts_failed_at_idx ON app.job_attempts (failed_at);
ALTER TABLE app.job_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_attempts_current_org ON app.job_attempts
  USING (org_id = app.current_org_id()) WITH CHECK (org_id = app.current_org_id());
GRANT SELECT ON app.job_attempts TO gpt_app;

-- Insight views ---------------------------------------------------------------------------------
-- ops.* are for operators (every organisation, owner only); app.* wrap them for the current
-- organisation. The dashboard reads the app.* views; sql/insights/*.sql query the ops.* ones.
-- Each counting view matches one of pg-boss's partial indexes (unfinished jobs), so it reads the
-- backlog, never the days of finished jobs pg-boss keeps.

-- Unfinished jobs per queue, organisation and state (queued = due now, deferred = due later).
-- org_id is pg-boss's group id as text: no cast that a hand-inserted job could break, and a filter
-- on it can use pg-boss's (name, group_id) index.
CREATE VIEW ops.queue_depth AS
SELECT name AS queue, group_id AS org_id,
  CASE WHEN state = 'retry' THEN 'retry' WHEN start_after > now() THEN 'deferred' ELSE 'queued' END AS state,
  count(*) AS jobs,
  min(created_on) AS oldest_created_at
FROM pgboss.job
WHERE state < 'active' AND NOT blocked AND group_id IS NOT NULL
GROUP BY 1, 2, 3
UNION ALL
SELECT name, group_id, 'active', count(*), min(created_on)
FROM pgboss.job
WHERE state = 'active' AND group_id IS NOT NULL
GROUP BY 1, 2;
COMMENT ON VIEW ops.queue_depth IS 'Unfinished jobs per queue, organisation and state, with the oldest one''s creation time.';

-- Outcomes per queue, organisation and minute, from the workers' rollups.
CREATE VIEW ops.job_throughput_minute AS
SELECT minute, queue, org_id, completed_count AS completed, failed_count AS failed, retried_count AS retried,
  CASE WHEN completed_count + failed_count > 0 THEN round(failed_count::numeric / (completed_count + failed_count), 4) END AS failure_rate,
  run_ms_buckets, pickup_ms_buckets
FROM ops.job_rollup_minute;
COMMENT ON VIEW ops.job_throughput_minute IS 'Completed, failed and retried jobs per minute, queue and organisation (history outlives pg-boss retention).';

-- The last 24 hours per queue and organisation: totals, failure rate, run-time percentiles.
CREATE VIEW ops.queue_stats_24h AS
SELECT queue, org_id,
  sum(completed_count) AS completed, sum(failed_count) AS failed, sum(retried_count) AS retried,
  CASE WHEN sum(completed_count + failed_count) > 0
    THEN round(sum(failed_count)::numeric / sum(completed_count + failed_count), 4) END AS failure_rate,
  ops.histogram_quantile(ops.sum_buckets(run_ms_buckets), 0.5) AS run_ms_p50,
  ops.histogram_quantile(ops.sum_buckets(run_ms_buckets), 0.95) AS run_ms_p95
FROM ops.job_rollup_minute
WHERE minute >= date_trunc('minute', now() - interval '24 hours')
GROUP BY queue, org_id;
COMMENT ON VIEW ops.queue_stats_24h IS 'Per queue and organisation over the last 24 hours: totals, failure rate, p50/p95 run time in ms.';

-- Jobs that failed for the last time: the copies in the dead-letter queues, with the error.
CREATE VIEW ops.dead_letters AS
SELECT j.id AS dead_letter_job_id, j.name AS dead_letter_queue, j.group_id AS org_id,
  j.source_name AS queue, j.source_id AS job_id, j.created_on AS failed_at,
  j.source_retry_count + 1 AS attempts, j.source_output AS error, j.data AS payload
FROM pgboss.job j
WHERE j.state < 'active' AND NOT j.blocked AND j.source_id IS NOT NULL AND j.group_id IS NOT NULL;
COMMENT ON VIEW ops.dead_letters IS 'Jobs that failed for the last time, with their error, waiting in dead-letter queues (org_id is pg-boss''s group id, text).';

-- Worker processes seen in the last 30 seconds.
CREATE VIEW ops.workers_alive AS
SELECT id, hostname, pid, version, concurrency, job_types, started_at, last_seen_at
FROM ops.worker_instances
WHERE stopped_at IS NULL AND last_seen_at > now() - interval '30 seconds';
COMMENT ON VIEW ops.workers_alive IS 'Worker processes that reported within the last 30 seconds.';

-- The current organisation's share of each view, for the web app (gpt_app reads only these).
CREATE VIEW app.queue_depth AS SELECT * FROM ops.queue_depth WHERE org_id = app.current_org_id()::text;
CREATE VIEW app.job_throughput_minute AS SELECT * FROM ops.job_throughput_minute WHERE org_id = app.current_org_id();
CREATE VIEW app.queue_stats_24h AS SELECT * FROM ops.queue_stats_24h WHERE org_id = app.current_org_id();
CREATE VIEW app.dead_letters AS SELECT * FROM ops.dead_letters WHERE org_id = app.current_org_id()::text;
-- Workers are shared infrastructure: tenants see how many are alive, not where they run.
CREATE VIEW app.workers_alive AS SELECT count(*) AS workers FROM ops.workers_alive;
GRANT SELECT ON app.queue_depth, app.job_throughput_minute, app.queue_stats_24h, app.dead_letters, app.workers_alive TO gpt_app;
