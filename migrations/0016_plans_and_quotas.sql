-- 0016: plans and quotas (issue 10, item 3), the part that guards the way in. Plans are editable
-- rows; an organisation's plan is its subscription row, or the default plan. Every enqueue (the
-- API, app.enqueue / app.enqueue_many, ops.enqueue*, backfills: all go through ops.enqueue_many)
-- spends the organisation's jobs-per-day quota and is held to its waiting-jobs limit in the same
-- statement that inserts the jobs: over either, the whole call fails with SQLSTATE GQ001 and
-- nothing is enqueued. docs/decisions/012 explains the counters.

CREATE TABLE app.plans (
  id text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{0,39}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  -- Each limit NULL: no limit.
  max_waiting_jobs bigint CHECK (max_waiting_jobs > 0),
  jobs_per_day bigint CHECK (jobs_per_day > 0),
  llm_tokens_per_month bigint CHECK (llm_tokens_per_month > 0),
  max_running_per_queue integer CHECK (max_running_per_queue > 0),
  -- The organisation's share of a queue against others' when both have work ready.
  fair_share_weight integer NOT NULL DEFAULT 1 CHECK (fair_share_weight BETWEEN 1 AND 100),
  -- The plan of every organisation without a subscription row: exactly one.
  is_default boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX plans_one_default ON app.plans (is_default) WHERE is_default;
INSERT INTO app.plans (id, name, max_waiting_jobs, jobs_per_day, llm_tokens_per_month, max_running_per_queue, fair_share_weight, is_default)
VALUES ('free', 'Free', 10000, 20000, 1000000, 10, 1, true),
       ('team', 'Team', 200000, 500000, 20000000, 50, 2, false),
       ('business', 'Business', 5000000, 10000000, 200000000, 500, 4, false);

CREATE TABLE app.subscriptions (
  org_id uuid PRIMARY KEY REFERENCES app.organisations (id) ON DELETE CASCADE,
  plan_id text NOT NULL REFERENCES app.plans (id),
  assigned_at timestamptz NOT NULL DEFAULT now(),
  -- "operator:<database user>"
  assigned_by text NOT NULL CHECK (length(assigned_by) BETWEEN 1 AND 200),
  note text CHECK (length(note) <= 500)
);
CREATE INDEX subscriptions_plan ON app.subscriptions (plan_id);

-- Plans are no tenant's data: every organisation may read them all (the plan page compares them).
-- Subscriptions: an organisation reads its own. Only operators write either.
ALTER TABLE app.plans ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE app.subscriptions ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
DO $do$
BEGIN
  EXECUTE format('CREATE POLICY operator_all ON app.plans TO %I USING (true) WITH CHECK (true)', current_user);
  EXECUTE format('CREATE POLICY operator_all ON app.subscriptions TO %I USING (true) WITH CHECK (true)', current_user);
END
$do$;
CREATE POLICY everyone_reads ON app.plans FOR SELECT TO gpt_app USING (true);
CREATE POLICY tenant_read ON app.subscriptions FOR SELECT TO gpt_app USING (org_id = (SELECT app.current_org_id()));
GRANT SELECT ON app.plans, app.subscriptions TO gpt_app;

-- Usage counters. One organisation's enqueues run on many connections at once; a single row per
-- organisation and day would make them queue on its lock. Each connection adds to the shard of its
-- backend (8 per organisation, metric and period), and readers sum the shards.
CREATE TABLE ops.usage_counters (
  org_id uuid NOT NULL,
  metric text NOT NULL CHECK (metric IN ('jobs', 'llm_tokens')),
  -- The UTC day (jobs) or the first day of the UTC month (llm_tokens).
  period_start date NOT NULL,
  shard smallint NOT NULL,
  amount bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, metric, period_start, shard)
);

-- How many jobs an organisation had waiting when last counted, and its jobs counter then. The
-- waiting now is at most that count plus the jobs enqueued since; only when that bound passes the
-- plan's limit, or the count is a week old (counters are kept 62 days), is the organisation
-- counted again (docs/decisions/012).
CREATE TABLE ops.waiting_counts (
  org_id uuid PRIMARY KEY REFERENCES app.organisations (id) ON DELETE CASCADE,
  waiting bigint NOT NULL,
  counted_day date NOT NULL,
  jobs_counted_that_day bigint NOT NULL,
  counted_at timestamptz NOT NULL DEFAULT now()
);

-- Operators' tables: the application role reaches them only through the functions below.
ALTER TABLE ops.usage_counters ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE ops.waiting_counts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
DO $do$
BEGIN
  EXECUTE format('CREATE POLICY operator_all ON ops.usage_counters TO %I USING (true) WITH CHECK (true)', current_user);
  EXECUTE format('CREATE POLICY operator_all ON ops.waiting_counts TO %I USING (true) WITH CHECK (true)', current_user);
END
$do$;

CREATE FUNCTION ops.utc_day() RETURNS date
  LANGUAGE sql STABLE AS $$ SELECT (now() AT TIME ZONE 'UTC')::date $$;

-- The plan an organisation is on: its subscription's, else the default plan.
CREATE FUNCTION ops.plan_of(org uuid) RETURNS app.plans
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT p.* FROM app.plans p
    WHERE p.id = coalesce((SELECT s.plan_id FROM app.subscriptions s WHERE s.org_id = org), (SELECT d.id FROM app.plans d WHERE d.is_default))
  $$;

CREATE FUNCTION ops.usage_since(org uuid, metric text, since date) RETURNS bigint
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT coalesce(sum(c.amount), 0)::bigint FROM ops.usage_counters c
    WHERE c.org_id = org AND c.metric = usage_since.metric AND c.period_start >= since
  $$;

-- Waiting jobs (created or retry, due or not) of an organisation in every queue, counted up to
-- `up_to` (one index range per queue on the fair-share index).
CREATE FUNCTION ops.count_waiting(org uuid, up_to bigint) RETURNS bigint
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT count(*) FROM (
      SELECT 1 FROM pgboss.queue q
      CROSS JOIN LATERAL (
        SELECT 1 FROM pgboss.job j
        WHERE j.name = q.name AND j.group_id = org::text AND j.state < 'active' AND NOT j.blocked
        LIMIT up_to
      ) w
      LIMIT up_to
    ) n
  $$;

CREATE FUNCTION ops.quota_exceeded(org uuid, plan app.plans, quota text, quota_limit bigint, used bigint, requested bigint, resets_at timestamptz)
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RAISE EXCEPTION '%', CASE quota
        WHEN 'jobs_per_day' THEN format('quota exceeded: organisation %s (plan "%s") may enqueue %s jobs a day; %s today before this request of %s; it resets at %s UTC',
          org, plan.id, quota_limit, used, requested, to_char(resets_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'))
        ELSE format('quota exceeded: organisation %s (plan "%s") may have %s jobs waiting; %s are, and this request adds %s; room comes back as its jobs start',
          org, plan.id, quota_limit, used, requested)
      END
      USING ERRCODE = 'GQ001',
            DETAIL = jsonb_build_object('quota', quota, 'orgId', org, 'plan', plan.id, 'limit', quota_limit, 'used', used,
                                        'requested', requested, 'resetsAt', resets_at)::text,
            HINT = CASE quota
              WHEN 'jobs_per_day' THEN 'Nothing was enqueued. Send it again after the reset, or ask an operator for a larger plan (ops.assign_plan).'
              ELSE 'Nothing was enqueued. Send it again when fewer jobs wait, or ask an operator for a larger plan (ops.assign_plan).'
            END;
  END
  $$;

-- Spends `counts[i]` jobs of organisation `orgs[i]`'s quotas: adds them to today's counter, then
-- checks the plan's jobs per day and waiting jobs (the jobs are inserted already: a recount sees
-- them). Raises GQ001 when over, which undoes the counter and the insert with it. Two enqueues at
-- the same moment each see the other's jobs only once it commits, so together they can pass a
-- limit by the jobs of the one that commits second: never by more than a call's own size.
CREATE FUNCTION ops.spend_job_quota(orgs uuid[], counts bigint[]) RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    today date := ops.utc_day();
    i integer;
    plan app.plans;
    used_today bigint;
    snapshot ops.waiting_counts;
    bound bigint;
    waiting bigint;
  BEGIN
    FOR i IN 1 .. coalesce(cardinality(orgs), 0) LOOP
      CONTINUE WHEN counts[i] IS NULL OR counts[i] <= 0;
      INSERT INTO ops.usage_counters AS c (org_id, metric, period_start, shard, amount)
      VALUES (orgs[i], 'jobs', today, pg_backend_pid() % 8, counts[i])
      ON CONFLICT (org_id, metric, period_start, shard) DO UPDATE SET amount = c.amount + excluded.amount;
      plan := ops.plan_of(orgs[i]);
      CONTINUE WHEN plan.jobs_per_day IS NULL AND plan.max_waiting_jobs IS NULL;
      -- Read once: both checks and a recount use today's total (this call's jobs included).
      used_today := ops.usage_since(orgs[i], 'jobs', today);

      IF used_today > plan.jobs_per_day THEN
        PERFORM ops.quota_exceeded(orgs[i], plan, 'jobs_per_day', plan.jobs_per_day, used_today - counts[i], counts[i],
                                   ((today + 1)::timestamp AT TIME ZONE 'UTC'));
      END IF;

      IF plan.max_waiting_jobs IS NOT NULL THEN
        SELECT * INTO snapshot FROM ops.waiting_counts w WHERE w.org_id = orgs[i];
        bound := snapshot.waiting - snapshot.jobs_counted_that_day
                 + CASE WHEN snapshot.counted_day = today THEN used_today ELSE ops.usage_since(orgs[i], 'jobs', snapshot.counted_day) END;
        IF snapshot.org_id IS NULL OR snapshot.counted_day < today - 7 OR bound > plan.max_waiting_jobs THEN
          waiting := ops.count_waiting(orgs[i], plan.max_waiting_jobs + 1);
          IF waiting > plan.max_waiting_jobs THEN
            PERFORM ops.quota_exceeded(orgs[i], plan, 'max_waiting_jobs', plan.max_waiting_jobs, greatest(waiting - counts[i], 0), counts[i], NULL);
          END IF;
          INSERT INTO ops.waiting_counts AS w (org_id, waiting, counted_day, jobs_counted_that_day, counted_at)
          VALUES (orgs[i], waiting, today, used_today, now())
          ON CONFLICT (org_id) DO UPDATE SET waiting = excluded.waiting, counted_day = excluded.counted_day,
            jobs_counted_that_day = excluded.jobs_counted_that_day, counted_at = excluded.counted_at;
        END IF;
      END IF;
    END LOOP;
  END
  $$;

-- Every organisation's waiting jobs as of now, so the bound starts true for jobs queued before
-- this migration.
INSERT INTO ops.waiting_counts (org_id, waiting, counted_day, jobs_counted_that_day)
SELECT o.id, ops.count_waiting(o.id, 9223372036854775807), ops.utc_day(), 0 FROM app.organisations o;

-- Two routines of earlier migrations gain a few lines: their bodies are carried over with an
-- addition after (or in place of) one anchor, as 0009 did for ops.backfill. The anchor must occur
-- exactly once, or the migration stops rather than patch the wrong place.
CREATE FUNCTION pg_temp.patched_body(routine regprocedure, anchor text, replacement text) RETURNS text
  LANGUAGE plpgsql AS $$
  DECLARE
    body text := (SELECT p.prosrc FROM pg_proc p WHERE p.oid = routine);
  BEGIN
    IF (length(body) - length(replace(body, anchor, ''))) / length(anchor) <> 1 THEN
      RAISE EXCEPTION '0016: % does not contain "%" exactly once; change it by hand', routine, anchor;
    END IF;
    RETURN replace(body, anchor, replacement);
  END
  $$;

-- ops.enqueue_many spends the quotas of the jobs it inserted, in the statement's transaction.
DO $do$
DECLARE
  anchor constant text := 'INTO inserted, runnable_types FROM ins;';
BEGIN
  EXECUTE format(
    'CREATE OR REPLACE FUNCTION ops.enqueue_many(jobs jsonb) RETURNS TABLE (ord integer, id uuid, created boolean) '
    'LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS %L',
    pg_temp.patched_body('ops.enqueue_many(jsonb)', anchor, anchor || $add$
    -- Quotas (0016): the jobs just inserted count against their organisations' plans; over a quota
    -- this raises GQ001 and the insert is undone with the rest of the statement.
    PERFORM ops.spend_job_quota(array_agg(q.org_id), array_agg(q.n))
    FROM (SELECT r.org_id, count(*) AS n FROM unnest(requests) r JOIN unnest(inserted) AS i (id) ON i.id = r.id GROUP BY r.org_id) q;$add$));
END
$do$;

-- A backfill that meets a quota stops with a NOTICE that says which and when it resets; the
-- batches before it stay enqueued and a later CALL resumes after the last of them.
DO $do$
BEGIN
  EXECUTE format(
    'CREATE OR REPLACE PROCEDURE ops.backfill(name text, type text, source text, batch_size integer DEFAULT 500, max_batches integer DEFAULT NULL) '
    'LANGUAGE plpgsql AS %L',
    pg_temp.patched_body('ops.backfill(text, text, text, integer, integer)',
      'SELECT count(*) FILTER (WHERE e.created) INTO created_now FROM ops.enqueue_many(batch) e;', $add$DECLARE
        quota_message text;
      BEGIN
        SELECT count(*) FILTER (WHERE e.created) INTO created_now FROM ops.enqueue_many(batch) e;
      EXCEPTION WHEN SQLSTATE 'GQ001' THEN
        GET STACKED DIAGNOSTICS quota_message = MESSAGE_TEXT;
        RAISE NOTICE 'backfill %: stopped before batch %, which was not enqueued: %. The % job(s) of earlier batches stay enqueued; CALL ops.backfill again with the same name after that and it resumes after key %.',
          name, progress.batches + 1, quota_message, progress.enqueued, coalesce(progress.last_key, '(none yet)');
        RETURN;
      END;$add$));
END
$do$;

-- Operators: SELECT ops.assign_plan('<org id>', 'team', 'why') moves an organisation to a plan
-- (from its next enqueue on). Returns the subscription as stored.
CREATE FUNCTION ops.assign_plan(org_id uuid, plan_id text, note text DEFAULT NULL) RETURNS app.subscriptions
  LANGUAGE plpgsql
  AS $fn$
  #variable_conflict use_column
  DECLARE
    stored app.subscriptions;
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM app.organisations o WHERE o.id = assign_plan.org_id) THEN
      RAISE EXCEPTION 'ops.assign_plan: no organisation %', assign_plan.org_id USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM app.plans p WHERE p.id = assign_plan.plan_id) THEN
      RAISE EXCEPTION 'ops.assign_plan: no plan "%"', assign_plan.plan_id
        USING ERRCODE = '22023', HINT = format('Plans: %s.', (SELECT string_agg(p.id, ', ' ORDER BY p.id) FROM app.plans p));
    END IF;
    INSERT INTO app.subscriptions AS s (org_id, plan_id, assigned_by, note)
    VALUES (assign_plan.org_id, assign_plan.plan_id, 'operator:' || session_user, assign_plan.note)
    ON CONFLICT (org_id) DO UPDATE SET plan_id = excluded.plan_id, assigned_at = now(), assigned_by = excluded.assigned_by, note = excluded.note
    RETURNING * INTO stored;
    RETURN stored;
  END
  $fn$;

-- LLM tokens an organisation used (the providers of issue 12 call it per request).
CREATE FUNCTION ops.record_llm_tokens(org_id uuid, tokens bigint) RETURNS void
  LANGUAGE sql
  SET search_path = pg_catalog, pg_temp
  AS $$
    INSERT INTO ops.usage_counters AS c (org_id, metric, period_start, shard, amount)
    SELECT org_id, 'llm_tokens', date_trunc('month', now() AT TIME ZONE 'UTC')::date, pg_backend_pid() % 8, tokens
    WHERE tokens > 0
    ON CONFLICT (org_id, metric, period_start, shard) DO UPDATE SET amount = c.amount + excluded.amount
  $$;

-- An organisation's plan, usage and limits, one row per quota: what GET /api/subscriptions and the
-- plan page show. Waiting jobs are counted up to the limit + 1 (or 1,000,000 without a limit).
CREATE FUNCTION ops.subscription_usage(org uuid)
  RETURNS TABLE (plan_id text, plan_name text, fair_share_weight integer, max_running_per_queue integer,
                 quota text, quota_limit bigint, used bigint, resets_at timestamptz)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    plan app.plans := ops.plan_of(org);
    month_start date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  BEGIN
    RETURN QUERY
    SELECT plan.id, plan.name, plan.fair_share_weight, plan.max_running_per_queue, q.quota, q.quota_limit, q.used, q.resets_at
    FROM (VALUES
      ('max_waiting_jobs', plan.max_waiting_jobs, ops.count_waiting(org, coalesce(plan.max_waiting_jobs + 1, 1000000)), NULL::timestamptz),
      ('jobs_per_day', plan.jobs_per_day, ops.usage_since(org, 'jobs', ops.utc_day()), (ops.utc_day() + 1)::timestamp AT TIME ZONE 'UTC'),
      ('llm_tokens_per_month', plan.llm_tokens_per_month, ops.usage_since(org, 'llm_tokens', month_start),
        (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC')
    ) AS q (quota, quota_limit, used, resets_at);
  END
  $$;

-- The same for the organisation of the caller's verified scope (security definer: the counters
-- and pg-boss's table are not the application role's to read).
CREATE FUNCTION app.subscription_usage()
  RETURNS TABLE (plan_id text, plan_name text, fair_share_weight integer, max_running_per_queue integer,
                 quota text, quota_limit bigint, used bigint, resets_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT * FROM ops.subscription_usage(app.require_org_id()) $$;

-- Functions are executable by PUBLIC when created; these are for operators (the owner) only.
REVOKE EXECUTE ON FUNCTION ops.utc_day(), ops.plan_of(uuid), ops.usage_since(uuid, text, date), ops.count_waiting(uuid, bigint),
  ops.quota_exceeded(uuid, app.plans, text, bigint, bigint, bigint, timestamptz), ops.spend_job_quota(uuid[], bigint[]),
  ops.assign_plan(uuid, text, text), ops.record_llm_tokens(uuid, bigint), ops.subscription_usage(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION app.subscription_usage() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.subscription_usage() TO gpt_app;
COMMENT ON FUNCTION ops.assign_plan(uuid, text, text) IS 'Moves an organisation to a plan (app.plans); effective from its next enqueue.';
COMMENT ON FUNCTION ops.subscription_usage(uuid) IS 'An organisation''s plan, and per quota its limit, usage and reset time.';
