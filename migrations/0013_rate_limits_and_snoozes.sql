-- 0013: keyed rate limits and snoozes (issue 10, docs/decisions/011). A job type declares budgets
-- keyed by its payload ("kommo:{accountId}" 7 a second); before a worker starts such a job it books
-- a start time from each budget here, in one statement for every job it is about to start. A job
-- whose start would be more than a moment away is not run: it goes back to waiting until the
-- budget allows (a snooze), with no attempt spent. Handlers snooze themselves the same way (an
-- upstream's 429). Every snooze is recorded for the job's timeline.

-- Internal: written only by ops.rate_limit_admit and ops.rate_limit_push. One row per key ever
-- used; a row is a few dozen bytes and keys are per account or organisation, so rows are not pruned.
CREATE TABLE ops.rate_limit_budgets (
  key text PRIMARY KEY,
  -- The earliest start the next admitted job may book: each admission moves it on by its spend.
  next_start_at timestamptz NOT NULL,
  -- Where the line of snoozed jobs ends: each job snoozed for this key comes back one spend after
  -- the previous one, so they return one at a time as the budget frees up, not all at once.
  snoozed_until_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.rate_limit_budgets IS
  'Internal: keyed rate-limit budgets of job types (docs/decisions/011). Written by ops.rate_limit_admit and ops.rate_limit_push only.';

-- Books start times for jobs about to start. Input: one (job, key, spend) triple per budget a job
-- spends from (job is the caller's index; spend_seconds is perSeconds / limit x cost). Per job, in
-- job order: admitted with wait_seconds <= hold_seconds when every one of its budgets allows a
-- start by then (the caller waits that long, then runs it); otherwise not admitted, and
-- wait_seconds says when to try again (the caller snoozes the job that long).
CREATE FUNCTION ops.rate_limit_admit(job_index integer[], keys text[], spend_seconds float8[], hold_seconds float8)
RETURNS TABLE (job integer, admitted boolean, wait_seconds float8)
LANGUAGE plpgsql
AS $fn$
DECLARE
  now_at timestamptz;
  start_at timestamptz;
  one_job integer;
BEGIN
  IF cardinality(job_index) <> cardinality(keys) OR cardinality(keys) <> cardinality(spend_seconds) THEN
    RAISE EXCEPTION 'ops.rate_limit_admit: job_index, keys and spend_seconds must have the same length (got %, %, %)',
      cardinality(job_index), cardinality(keys), cardinality(spend_seconds) USING ERRCODE = '22023';
  END IF;
  -- Not waiting for the WAL flush at commit: the caller starts its jobs when this answers, and a
  -- flush during a checkpoint (up to a second on the benchmark machine) made one job late and the
  -- next on time, so an upstream saw them together. A crash may lose the last bookings, letting a
  -- job book a slot already spent: at most a request or two too many, once.
  PERFORM set_config('synchronous_commit', 'off', true);
  INSERT INTO ops.rate_limit_budgets (key, next_start_at, snoozed_until_at)
  SELECT DISTINCT k, '-infinity'::timestamptz, '-infinity'::timestamptz FROM unnest(keys) AS k ORDER BY 1
  ON CONFLICT (key) DO NOTHING;
  -- In key order, so two workers booking overlapping keys queue up instead of deadlocking.
  PERFORM 1 FROM ops.rate_limit_budgets b WHERE b.key = ANY (keys) ORDER BY b.key FOR UPDATE;
  -- Read after the locks: a wait for another worker's booking must not count as time already passed.
  now_at := clock_timestamp();
  FOR one_job IN SELECT DISTINCT i FROM unnest(job_index) AS i ORDER BY 1 LOOP
    SELECT greatest(now_at, max(b.next_start_at)) INTO start_at
    FROM unnest(job_index, keys) AS s (i, k) JOIN ops.rate_limit_budgets b ON b.key = s.k
    WHERE s.i = one_job;
    IF start_at <= now_at + make_interval(secs => hold_seconds) THEN
      UPDATE ops.rate_limit_budgets b
      SET next_start_at = start_at + make_interval(secs => s.spend), updated_at = now_at
      FROM unnest(job_index, keys, spend_seconds) AS s (i, k, spend)
      WHERE s.i = one_job AND b.key = s.k;
      RETURN QUERY SELECT one_job, true, extract(epoch FROM start_at - now_at)::float8;
    ELSE
      -- Behind every job already snoozed for these budgets, and not before the budgets allow.
      SELECT greatest(now_at, max(b.next_start_at), max(b.snoozed_until_at)) INTO start_at
      FROM unnest(job_index, keys) AS s (i, k) JOIN ops.rate_limit_budgets b ON b.key = s.k
      WHERE s.i = one_job;
      UPDATE ops.rate_limit_budgets b
      SET snoozed_until_at = start_at + make_interval(secs => s.spend), updated_at = now_at
      FROM unnest(job_index, keys, spend_seconds) AS s (i, k, spend)
      WHERE s.i = one_job AND b.key = s.k;
      RETURN QUERY SELECT one_job, false, extract(epoch FROM start_at - now_at)::float8;
    END IF;
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION ops.rate_limit_admit(integer[], text[], float8[], float8) IS
  'Books start times from keyed rate-limit budgets for jobs about to start (docs/decisions/011). Called by the worker.';

-- An upstream refused (429): nothing starts from these budgets for the next `seconds`.
CREATE FUNCTION ops.rate_limit_push(keys text[], seconds float8)
RETURNS void
LANGUAGE sql
AS $fn$
  INSERT INTO ops.rate_limit_budgets AS b (key, next_start_at, snoozed_until_at)
  SELECT DISTINCT k, clock_timestamp() + make_interval(secs => seconds), '-infinity'::timestamptz FROM unnest(keys) AS k ORDER BY 1
  ON CONFLICT (key) DO UPDATE
  SET next_start_at = greatest(b.next_start_at, excluded.next_start_at), updated_at = clock_timestamp();
$fn$;
COMMENT ON FUNCTION ops.rate_limit_push(text[], float8) IS
  'Holds keyed rate-limit budgets back for a number of seconds after an upstream answered 429 (docs/decisions/011).';

-- Each snooze of a job, for its timeline (pg-boss keeps only the job's current start time).
-- Written by the worker as it snoozes the job; pruned with the failed attempts.
CREATE TABLE app.job_snoozes (
  org_id uuid NOT NULL,
  job_id uuid NOT NULL,
  -- 1 for the job's first snooze, then 2, ...
  n integer NOT NULL CHECK (n >= 1),
  -- The attempt that was about to start (rate limit) or was running (handler); it was not spent.
  attempt integer NOT NULL CHECK (attempt >= 1),
  snoozed_at timestamptz NOT NULL DEFAULT now(),
  until_at timestamptz NOT NULL,
  kind text NOT NULL CHECK (kind IN ('rate-limit', 'handler')),
  reason text NOT NULL,
  PRIMARY KEY (org_id, job_id, n)
);
CREATE INDEX job_snoozes_snoozed_at_idx ON app.job_snoozes (snoozed_at);
ALTER TABLE app.job_snoozes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
DO $do$
BEGIN
  -- As for every tenant table (0009): the owner's explicit policy under FORCE, the tenant's rows for gpt_app.
  EXECUTE format('CREATE POLICY operator_all ON app.job_snoozes TO %I USING (true) WITH CHECK (true)', current_user);
END
$do$;
CREATE POLICY tenant_rows ON app.job_snoozes TO gpt_app
  USING (org_id = (SELECT app.current_org_id())) WITH CHECK (org_id = (SELECT app.current_org_id()));
GRANT SELECT ON app.job_snoozes TO gpt_app;

-- Functions are executable by PUBLIC when created; these are the worker's (the owner's) alone.
REVOKE EXECUTE ON FUNCTION ops.rate_limit_admit(integer[], text[], float8[], float8), ops.rate_limit_push(text[], float8) FROM PUBLIC;
