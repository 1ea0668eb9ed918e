-- 0009: a tenant boundary that holds against any SQL the application role can run
-- (docs/decisions/009). Until now the boundary stopped a query that forgot its organisation filter,
-- but the scope itself (app.org_id) was a setting any session could change, gpt_app wrote pg-boss's
-- job table directly, and views ran the caller's functions before their organisation filter.
--
-- After this file:
-- - gpt_app logs in as itself (processes connect with its own credentials), so it has no session
--   user to SET ROLE back to; it owns nothing and is a member of nothing.
-- - The organisation scope is a token signed with a key only the owner can read
--   (ops.tenant_scope_keys); app.current_org_id() verifies it, so set_config cannot forge one.
-- - Row-level security is forced and every tenant policy applies to gpt_app; the owner's access is
--   an explicit policy, so a non-superuser owner (Supabase's postgres) keeps operating.
-- - gpt_app reads jobs only through security-barrier views and enqueues only through
--   app.enqueue / app.enqueue_many, which take the organisation from the verified scope.
-- - Column-level grants; EXECUTE and TEMP are not PUBLIC's.

-- The application role logs in ------------------------------------------------------------------
-- Roles are cluster-wide; the release step sets the password (APP_DATABASE_PASSWORD) as a SCRAM
-- verifier. Local servers with trust authentication need none.
ALTER ROLE gpt_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;

-- Signed organisation scopes -------------------------------------------------------------------

-- The keys that sign organisation scopes. Owner only: gpt_app has no grant, and the only reader is
-- app.current_org_id() (security definer). The application processes read the newest key with the
-- owner's connection at start and every minute after (core/db/tenant-scope.ts).
CREATE TABLE ops.tenant_scope_keys (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key bytea NOT NULL CHECK (length(key) >= 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A rotated key still verifies scopes until this time (processes pick up the new one within a minute).
  retired_at timestamptz
);
REVOKE ALL ON ops.tenant_scope_keys FROM PUBLIC;

DO $do$
DECLARE
  crypto_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                         WHERE e.extname = 'pgcrypto');
BEGIN
  EXECUTE format('INSERT INTO ops.tenant_scope_keys (key) VALUES (%I.gen_random_bytes(32))', crypto_schema);

  -- The organisation the current transaction is scoped to, or NULL when none is set. The scope is
  -- "v1.<key id>.<organisation>.<expires, unix seconds>.<hex HMAC-SHA256 of the rest>", written by
  -- core/db/org-scope.ts with set_config('app.org_scope', ..., true). Anything else set there is an
  -- error, not an empty scope: a forged or expired scope should fail loudly.
  -- now() is the transaction's start, so a scope valid when its transaction began stays valid in it.
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION app.current_org_id() RETURNS uuid
      LANGUAGE plpgsql STABLE SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp
      AS $body$
      DECLARE
        scope text := current_setting('app.org_scope', true);
        part text[];
        signing_key bytea;
      BEGIN
        IF scope IS NULL OR scope = '' THEN
          RETURN NULL;
        END IF;
        part := regexp_match(scope, '^v1\.([0-9]{1,9})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9]{1,12})\.([0-9a-f]{64})$');
        IF part IS NULL THEN
          RAISE EXCEPTION 'the organisation scope is malformed'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the platform sets app.org_scope (withOrg in core/db/org-scope.ts); it cannot be written by hand.';
        END IF;
        SELECT k.key INTO signing_key FROM ops.tenant_scope_keys k
        WHERE k.id = part[1]::integer AND (k.retired_at IS NULL OR k.retired_at > now());
        IF signing_key IS NULL
           OR %1$I.hmac(convert_to(format('v1.%%s.%%s.%%s', part[1], part[2], part[3]), 'UTF8'), signing_key, 'sha256') <> decode(part[4], 'hex') THEN
          RAISE EXCEPTION 'the organisation scope is not signed by this database''s key'
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF part[3]::bigint < extract(epoch FROM now()) THEN
          RAISE EXCEPTION 'the organisation scope expired at %%', to_timestamp(part[3]::bigint)
            USING ERRCODE = 'insufficient_privilege', HINT = 'Open a new transaction with withOrg.';
        END IF;
        RETURN part[2]::uuid;
      END
      $body$
  $f$, crypto_schema);
END
$do$;

-- Rotates the signing key: new scopes use the new key at once (processes reload within a minute);
-- scopes signed with older keys keep working for `grace`, then stop.
CREATE FUNCTION ops.rotate_tenant_scope_key(grace interval DEFAULT '15 minutes') RETURNS integer
  LANGUAGE plpgsql
  AS $do$
  DECLARE
    crypto_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                           WHERE e.extname = 'pgcrypto');
    new_id integer;
  BEGIN
    UPDATE ops.tenant_scope_keys SET retired_at = now() + grace WHERE retired_at IS NULL;
    EXECUTE format('INSERT INTO ops.tenant_scope_keys (key) VALUES (%I.gen_random_bytes(32)) RETURNING id', crypto_schema) INTO new_id;
    RETURN new_id;
  END
  $do$;

-- Row-level security: forced, tenant policies for gpt_app, an explicit one for the owner ----------

DO $do$
DECLARE
  tenant_table regclass;
  old_policy record;
BEGIN
  FOREACH tenant_table IN ARRAY ARRAY[
    'app.organisations', 'app.users', 'app.memberships', 'app.sessions', 'app.password_resets', 'app.invitations',
    'app.api_tokens', 'app.agents', 'app.job_refs', 'app.job_attempts', 'ops.job_rollup_minute'
  ]::regclass[] LOOP
    FOR old_policy IN SELECT p.polname FROM pg_policy p WHERE p.polrelid = tenant_table LOOP
      EXECUTE format('DROP POLICY %I ON %s', old_policy.polname, tenant_table);
    END LOOP;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', tenant_table);
    -- The owner runs migrations, operator SQL and the sign-in paths that precede any organisation.
    -- A superuser or BYPASSRLS owner ignores this policy; any other owner needs it under FORCE.
    EXECUTE format('CREATE POLICY operator_all ON %s TO %I USING (true) WITH CHECK (true)', tenant_table, current_user);
  END LOOP;

  -- Each tenant table's rows for the verified scope. (SELECT ...) makes the check an InitPlan: the
  -- signature is verified once per statement, not once per row.
  FOREACH tenant_table IN ARRAY ARRAY[
    'app.memberships', 'app.invitations', 'app.api_tokens', 'app.agents', 'app.job_refs', 'app.job_attempts', 'ops.job_rollup_minute'
  ]::regclass[] LOOP
    EXECUTE format('CREATE POLICY tenant_rows ON %s TO gpt_app USING (org_id = (SELECT app.current_org_id())) WITH CHECK (org_id = (SELECT app.current_org_id()))', tenant_table);
  END LOOP;
END
$do$;

CREATE POLICY tenant_rows ON app.organisations TO gpt_app USING (id = (SELECT app.current_org_id()));
-- A user is visible to the organisations they belong to (the memberships subquery is itself
-- limited to the scope by its own policy).
CREATE POLICY tenant_rows ON app.users TO gpt_app
  USING (EXISTS (SELECT 1 FROM app.memberships m WHERE m.user_id = users.id AND m.org_id = (SELECT app.current_org_id())));
-- app.sessions and app.password_resets have no tenant policy: only the owner reads them.

-- What gpt_app may touch, column by column ------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA app FROM gpt_app;
REVOKE ALL ON ALL TABLES IN SCHEMA ops FROM gpt_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA app, ops FROM gpt_app;
-- Jobs are read through app.jobs and written through app.enqueue*: nothing of pg-boss's directly.
REVOKE ALL ON ALL TABLES IN SCHEMA pgboss FROM gpt_app;
REVOKE ALL ON SCHEMA pgboss FROM gpt_app;

GRANT SELECT (id, name, slug, created_at, updated_at) ON app.organisations TO gpt_app;
-- Never password_hash or password_changed_at, and no writes: accounts change through the owner's
-- account code (core/accounts), which checks who is asking.
GRANT SELECT (id, email, display_name, created_at, updated_at) ON app.users TO gpt_app;
-- Memberships are added by invitations (owner) and removed by managers (app code checks roles).
GRANT SELECT, DELETE ON app.memberships TO gpt_app;
GRANT SELECT (id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at),
      INSERT (org_id, email, role, token_hash, invited_by, expires_at),
      UPDATE (revoked_at) ON app.invitations TO gpt_app;
GRANT SELECT, INSERT (id, org_id, name, scopes, created_by, expires_at), UPDATE (revoked_at) ON app.api_tokens TO gpt_app;
GRANT SELECT, DELETE,
      INSERT (org_id, name, model, system_prompt, temperature, max_tokens, knowledge_base_enabled, status, created_by),
      UPDATE (name, model, system_prompt, temperature, max_tokens, knowledge_base_enabled, status, updated_at) ON app.agents TO gpt_app;
GRANT SELECT ON app.job_refs, app.job_attempts, ops.job_rollup_minute TO gpt_app;
-- Shared, tenant-free: the job catalogue and whether backups are healthy (not the backup tables).
GRANT SELECT ON ops.job_types, ops.backup_status TO gpt_app;

-- Nobody creates objects in public by default (PostgreSQL 15's default; explicit for older servers).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Temporary objects are how SQL run as gpt_app would define functions of its own (pg_temp). The
-- database's ACL is not copied by CREATE DATABASE ... TEMPLATE nor restored by pg_restore without
-- --create, so the release step applies this again on every run (core/db/release.ts).
CREATE FUNCTION ops.enforce_database_privileges() RETURNS void
  LANGUAGE plpgsql
  AS $$
  BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY, CONNECT ON DATABASE %I TO %I', current_database(), current_user);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO gpt_app', current_database());
  END
  $$;
SELECT ops.enforce_database_privileges();

-- Views gpt_app reads: security barriers over the verified scope --------------------------------
-- These views read pg-boss's table and the ops views as their owner, so their own WHERE is the
-- boundary. security_barrier makes the planner apply it before any function the caller adds (a
-- "leaky" function in a caller's WHERE never sees another organisation's row); conditions that are
-- leakproof (=, <, > on text, uuid, timestamps) still reach the indexes.

CREATE OR REPLACE VIEW app.jobs WITH (security_barrier = true) AS
SELECT
  j.id,
  j.name AS type,
  (SELECT app.current_org_id()) AS org_id,
  j.state,
  j.blocked,
  j.priority,
  j.data AS payload,
  j.output,
  j.retry_count,
  j.retry_limit,
  j.singleton_key,
  j.created_on AS created_at,
  j.start_after,
  j.started_on AS started_at,
  j.completed_on AS completed_at,
  j.keep_until,
  j.dead_letter,
  j.source_name AS dead_lettered_from,
  j.source_id AS dead_lettered_job_id
FROM pgboss.job j
WHERE j.group_id = (SELECT app.current_org_id()::text);

CREATE OR REPLACE VIEW app.queue_depth WITH (security_barrier = true) AS
SELECT * FROM ops.queue_depth WHERE org_id = (SELECT app.current_org_id()::text);
CREATE OR REPLACE VIEW app.dead_letters WITH (security_barrier = true) AS
SELECT * FROM ops.dead_letters WHERE org_id = (SELECT app.current_org_id()::text);
CREATE OR REPLACE VIEW app.job_throughput_minute WITH (security_barrier = true) AS
SELECT * FROM ops.job_throughput_minute WHERE org_id = (SELECT app.current_org_id());
CREATE OR REPLACE VIEW app.queue_stats_24h WITH (security_barrier = true) AS
SELECT * FROM ops.queue_stats_24h WHERE org_id = (SELECT app.current_org_id());
-- Tenant-free (how many workers are alive), a barrier all the same so every app.* view is one.
CREATE OR REPLACE VIEW app.workers_alive WITH (security_barrier = true) AS SELECT count(*) AS workers FROM ops.workers_alive;

GRANT SELECT ON app.jobs, app.queue_depth, app.dead_letters, app.job_throughput_minute, app.queue_stats_24h, app.workers_alive TO gpt_app;

-- Enqueue: operators name any organisation, tenants get the one of their scope --------------------

DROP FUNCTION app.enqueue(text, uuid, jsonb, jsonb);
DROP FUNCTION app.enqueue_many(jsonb);

-- Set-based enqueue for operators (psql, backfills): `jobs` is a JSON array of {"type", "org_id",
-- "payload", "options"}. Every job is checked first; if any is invalid nothing is enqueued and the
-- error lists each problem by its position (from 1). Then one insert per type and organisation,
-- writing exactly the row pg-boss 12.35's insertJobs would (docs/reference/pg-boss-contract.md).
-- Returns one row per job, in order: created is false when an idempotency key named a job that
-- already exists with the same payload, or the queue's policy already holds a job with that
-- singleton key. A repeated idempotency key with a different payload is an error (unique_violation,
-- DETAIL a JSON array of {"ord", "id"}), and nothing is enqueued.
CREATE FUNCTION ops.enqueue_many(jobs jsonb) RETURNS TABLE (ord integer, id uuid, created boolean)
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  #variable_conflict use_column
  DECLARE
    requests ops.enqueue_request[];
    problems text[];
    batch record;
    inserted uuid[] := '{}';
    batch_inserted uuid[];
    runnable boolean;
    conflicts jsonb;
  BEGIN
    IF jobs IS NULL OR jsonb_typeof(jobs) <> 'array' THEN
      RAISE EXCEPTION 'enqueue_many: jobs must be a JSON array of {"type", "org_id", "payload", "options"}'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Every problem of every job, by position; a malformed org_id is reported, not a cast error.
    SELECT coalesce(array_agg(format('[%s] %s', e.n, p) ORDER BY e.n), '{}') INTO problems
    FROM jsonb_array_elements(jobs) WITH ORDINALITY AS e(j, n),
      LATERAL (SELECT CASE WHEN jsonb_typeof(e.j) = 'object' AND ops.is_uuid(e.j ->> 'org_id') THEN (e.j ->> 'org_id')::uuid END AS org_id) o,
      unnest(
        CASE
          WHEN jsonb_typeof(e.j) <> 'object' THEN ARRAY[format('expected a JSON object, got %s', jsonb_typeof(e.j))]
          WHEN jsonb_typeof(e.j -> 'type') IS DISTINCT FROM 'string' THEN ARRAY['type: must be a job type name (a string)'::text]
          ELSE
            CASE WHEN e.j ? 'org_id' AND o.org_id IS NULL AND jsonb_typeof(e.j -> 'org_id') <> 'null'
                 THEN ARRAY[format('org_id: %s is not a UUID', e.j -> 'org_id')] ELSE '{}'::text[] END
            || array_remove(ops.enqueue_problems(e.j ->> 'type', o.org_id, coalesce(e.j -> 'payload', '{}'), coalesce(e.j -> 'options', '{}')),
                 CASE WHEN e.j ? 'org_id' THEN 'org_id: every job needs its organisation' END)
            -- The nesting limit the jobs API documents (MAX_JSON_DEPTH in core/jobs/storable-json.ts):
            -- an array or object at level 32 is the 33rd container.
            || CASE WHEN jsonb_path_exists(coalesce(e.j -> 'payload', '{}'), 'strict $.**{32} ? (@.type() == "object" || @.type() == "array")')
                    THEN ARRAY['payload: nests deeper than 32 levels of arrays and objects'::text] ELSE '{}'::text[] END
        END
      ) AS p;
    IF cardinality(problems) > 0 THEN
      RAISE EXCEPTION '% of % job(s) rejected; nothing was enqueued: %',
        (SELECT count(DISTINCT split_part(p, ']', 1)) FROM unnest(problems) AS p), jsonb_array_length(jobs),
        array_to_string(problems, '; ')
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'SELECT * FROM ops.job_catalogue shows each type''s keys; fix the listed jobs and send the batch again.';
    END IF;

    requests := ARRAY(
      SELECT ROW(e.n, e.j ->> 'type', (e.j ->> 'org_id')::uuid, coalesce(e.j -> 'payload', '{}'), coalesce(e.j -> 'options', '{}'),
        CASE WHEN e.j -> 'options' ? 'idempotencyKey'
             THEN ops.idempotency_job_id((e.j ->> 'org_id')::uuid, e.j ->> 'type', e.j -> 'options' ->> 'idempotencyKey')
             ELSE gen_random_uuid() END)::ops.enqueue_request
      FROM jsonb_array_elements(jobs) WITH ORDINALITY AS e(j, n) ORDER BY e.n);

    SELECT coalesce(array_agg(format('[%s] repeats the idempotency key of job [%s] in this request', r.ord, f.ord) ORDER BY r.ord), '{}')
    INTO problems
    FROM unnest(requests) r
    JOIN LATERAL (SELECT min(o.ord) AS ord FROM unnest(requests) o WHERE o.id = r.id) f ON f.ord < r.ord;
    IF cardinality(problems) > 0 THEN
      RAISE EXCEPTION 'nothing was enqueued: %', array_to_string(problems, '; ')
        USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR batch IN SELECT DISTINCT r.type, r.org_id, q.name IS NOT NULL AS has_queue, coalesce(q.notify, false) AS notify
                 FROM unnest(requests) r LEFT JOIN pgboss.queue q ON q.name = r.type ORDER BY 1, 2 LOOP
      IF NOT batch.has_queue THEN
        RAISE EXCEPTION 'job type "%" is in the catalogue but its queue does not exist', batch.type
          USING HINT = 'Run npm run migrate: the release step creates the catalogue''s queues.';
      END IF;
      -- The columns and values of pg-boss 12.35's insertJobs, for the options the Node client sets
      -- (id, data, priority, startAfter, singletonKey, group): everything else is the queue's.
      WITH ins AS (
        INSERT INTO pgboss.job (
          id, name, data, priority, start_after, created_on, singleton_key, singleton_on, group_id, group_tier,
          expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff, retry_delay_max,
          policy, dead_letter, heartbeat_seconds, blocked, blocking, pending_dependencies
        )
        SELECT
          r.id, batch.type, r.payload, coalesce((r.options ->> 'priority')::int, 0), s.start_after, pgboss.job_now(),
          r.options ->> 'singletonKey', NULL, batch.org_id::text, NULL,
          q.expire_seconds, q.deletion_seconds, s.start_after + q.retention_seconds * interval '1s',
          q.retry_limit, q.retry_delay, coalesce(q.retry_backoff, false), q.retry_delay_max,
          q.policy, q.dead_letter, q.heartbeat_seconds, false, false, 0
        FROM unnest(requests) r
        CROSS JOIN LATERAL (
          SELECT CASE jsonb_typeof(r.options -> 'startAfter')
            WHEN 'string' THEN (r.options ->> 'startAfter')::timestamptz
            WHEN 'number' THEN pgboss.job_now() + (r.options ->> 'startAfter')::numeric * interval '1s'
            ELSE pgboss.job_now()
          END AS start_after
        ) s
        JOIN pgboss.queue q ON q.name = batch.type
        WHERE r.type = batch.type AND r.org_id = batch.org_id
        ORDER BY r.ord
        ON CONFLICT DO NOTHING
        RETURNING pgboss.job.id, pgboss.job.start_after
      )
      SELECT coalesce(array_agg(ins.id), '{}'), coalesce(bool_or(ins.start_after <= pgboss.job_now()), false)
      INTO batch_inserted, runnable FROM ins;

      inserted := inserted || batch_inserted;
      INSERT INTO app.job_refs (org_id, job_id, type)
      SELECT batch.org_id, u, batch.type FROM unnest(batch_inserted) AS u
      ON CONFLICT DO NOTHING;
      -- One wake-up per queue, as pg-boss sends: only when a job can start now and the queue asks for it.
      IF runnable AND batch.notify THEN
        PERFORM pg_notify(ops.queue_notify_channel(), batch.type);
      END IF;
    END LOOP;

    -- An idempotency key names one job: repeating it is fine with the same payload, an error with another.
    SELECT jsonb_agg(jsonb_build_object('ord', r.ord, 'id', r.id) ORDER BY r.ord) INTO conflicts
    FROM unnest(requests) r
    JOIN pgboss.job j ON j.name = r.type AND j.id = r.id
    WHERE r.options ? 'idempotencyKey' AND NOT r.id = ANY (inserted) AND j.data IS DISTINCT FROM r.payload;
    IF conflicts IS NOT NULL THEN
      RAISE EXCEPTION 'nothing was enqueued: %', (
          SELECT string_agg(format('[%s] this idempotency key already created job %s with a different payload; use a new key for a different job',
                                   c ->> 'ord', c ->> 'id'), '; ')
          FROM jsonb_array_elements(conflicts) AS c)
        USING ERRCODE = 'unique_violation', DETAIL = conflicts::text;
    END IF;

    RETURN QUERY SELECT r.ord, r.id, r.id = ANY (inserted) FROM unnest(requests) r ORDER BY r.ord;
  END
  $$;

-- Enqueues one job for any organisation and returns its id (operators):
--   SELECT ops.enqueue('test-job', '<org uuid>', '{"echo": 1}', '{"priority": 5}');
-- options: priority (integer, higher first), startAfter (seconds from now, or a timestamp),
-- idempotencyKey (the same key again returns the first job's id; a different payload is an
-- error), singletonKey (for queues whose policy allows one job per key).
CREATE FUNCTION ops.enqueue(type text, org_id uuid, payload jsonb DEFAULT '{}', options jsonb DEFAULT '{}') RETURNS uuid
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  #variable_conflict use_column
  DECLARE
    result record;
    problems text[] := ops.enqueue_problems(type, org_id, payload, options);
  BEGIN
    IF cardinality(problems) > 0 THEN
      RAISE EXCEPTION 'job of type % rejected, nothing was enqueued: %', type, array_to_string(problems, '; ')
        USING ERRCODE = 'invalid_parameter_value',
              HINT = format('SELECT * FROM ops.job_catalogue WHERE name = %L shows the keys it takes.', type);
    END IF;
    SELECT * INTO result FROM ops.enqueue_many(jsonb_build_array(jsonb_build_object(
      'type', type, 'org_id', org_id, 'payload', payload, 'options', options)));
    IF result.created OR options ? 'idempotencyKey' THEN
      RETURN result.id;
    END IF;
    RAISE EXCEPTION 'job of type % was not queued: its queue''s "%" policy already holds a job with this singleton key', type,
      (SELECT q.policy FROM pgboss.queue q WHERE q.name = type)
      USING ERRCODE = 'unique_violation';
  END
  $$;

-- The organisation of the caller's verified scope, or an error saying how to get one.
CREATE FUNCTION app.require_org_id() RETURNS uuid
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    scope uuid := app.current_org_id();
  BEGIN
    IF scope IS NULL THEN
      RAISE EXCEPTION 'no organisation scope: tenant functions work inside an organisation''s transaction'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The platform opens one with withOrg (core/db/org-scope.ts); operators enqueue with ops.enqueue / ops.enqueue_many.';
    END IF;
    RETURN scope;
  END
  $$;

-- Tenant enqueue: the jobs of app.enqueue_many's caller belong to the organisation of its verified
-- scope. "org_id" may be left out; when given it must be that organisation. Security definer: the
-- caller (gpt_app) has no access to pg-boss's tables; this function writes them for the scope only.
CREATE FUNCTION app.enqueue_many(jobs jsonb) RETURNS TABLE (ord integer, id uuid, created boolean)
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  #variable_conflict use_column
  DECLARE
    scope uuid := app.require_org_id();
    foreign_jobs text;
  BEGIN
    IF jobs IS NULL OR jsonb_typeof(jobs) <> 'array' THEN
      RAISE EXCEPTION 'app.enqueue_many: jobs must be a JSON array of {"type", "payload", "options"}'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(format('[%s]', e.n), ', ' ORDER BY e.n) INTO foreign_jobs
    FROM jsonb_array_elements(jobs) WITH ORDINALITY AS e(j, n)
    WHERE jsonb_typeof(e.j) = 'object' AND e.j ? 'org_id' AND jsonb_typeof(e.j -> 'org_id') <> 'null'
      AND NOT (ops.is_uuid(e.j ->> 'org_id') AND (e.j ->> 'org_id')::uuid = scope);
    IF foreign_jobs IS NOT NULL THEN
      RAISE EXCEPTION 'nothing was enqueued: job(s) % name an organisation other than the transaction''s (%)', foreign_jobs, scope
        USING ERRCODE = 'insufficient_privilege', HINT = 'Leave org_id out: jobs belong to the organisation of the transaction.';
    END IF;
    RETURN QUERY SELECT * FROM ops.enqueue_many(coalesce((
      SELECT jsonb_agg(CASE WHEN jsonb_typeof(e.j) = 'object' THEN e.j || jsonb_build_object('org_id', scope) ELSE e.j END ORDER BY e.n)
      FROM jsonb_array_elements(jobs) WITH ORDINALITY AS e(j, n)), '[]'));
  END
  $$;

-- Tenant enqueue of one job: SELECT app.enqueue('test-job', '{"echo": 1}', '{"priority": 5}')
-- inside an organisation's transaction. Options as for ops.enqueue.
CREATE FUNCTION app.enqueue(type text, payload jsonb DEFAULT '{}', options jsonb DEFAULT '{}') RETURNS uuid
  LANGUAGE sql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT ops.enqueue(type, app.require_org_id(), payload, options) $$;

-- Backfills enqueue for the organisations their source rows name: the operator's function. The
-- procedure of 0007 is unchanged otherwise, so its body is carried over with that one call swapped.
DO $do$
DECLARE
  body text := (SELECT p.prosrc FROM pg_proc p WHERE p.oid = 'ops.backfill'::regproc);
BEGIN
  IF (length(body) - length(replace(body, 'app.enqueue_many(batch)', ''))) / length('app.enqueue_many(batch)') <> 1 THEN
    RAISE EXCEPTION '0009: ops.backfill does not call app.enqueue_many(batch) exactly once; rewrite it by hand';
  END IF;
  EXECUTE format('CREATE OR REPLACE PROCEDURE ops.backfill(name text, type text, source text, batch_size integer DEFAULT 500, max_batches integer DEFAULT NULL) LANGUAGE plpgsql AS %L',
    replace(body, 'app.enqueue_many(batch)', 'ops.enqueue_many(batch)'));
END
$do$;

-- Membership rules the database keeps whoever asks ------------------------------------------------

-- An organisation keeps at least one owner, and an API token stops working when its creator leaves
-- the organisation (or the account is deleted). Revocations are announced on the channel the API's
-- token registry listens to, so they take effect at once.
-- Revokes the live API tokens `creator` made (in organisation `in_org`, or in all when NULL),
-- announcing each.
CREATE FUNCTION app.revoke_api_tokens_created_by(creator uuid, in_org uuid) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    revoked uuid;
  BEGIN
    FOR revoked IN
      UPDATE app.api_tokens t SET revoked_at = now()
      WHERE t.created_by = creator AND (in_org IS NULL OR t.org_id = in_org) AND t.revoked_at IS NULL
      RETURNING t.id
    LOOP
      PERFORM pg_notify('gpt_api_token_revoked', revoked::text);
    END LOOP;
  END
  $$;

CREATE FUNCTION app.membership_removed() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF OLD.role = 'owner' THEN
      -- Locking the organisation serialises removals: two owners removing each other at once cannot
      -- both pass the check. (When the organisation itself is being deleted, it is gone: allowed.)
      PERFORM 1 FROM app.organisations o WHERE o.id = OLD.org_id FOR UPDATE;
      IF FOUND AND NOT EXISTS (SELECT 1 FROM app.memberships m WHERE m.org_id = OLD.org_id AND m.role = 'owner' AND m.user_id <> OLD.user_id) THEN
        RAISE EXCEPTION 'an organisation needs at least one owner; make someone else owner first'
          USING ERRCODE = 'check_violation', CONSTRAINT = 'memberships_last_owner';
      END IF;
    END IF;
    PERFORM app.revoke_api_tokens_created_by(OLD.user_id, OLD.org_id);
    RETURN OLD;
  END
  $$;
CREATE TRIGGER memberships_removed BEFORE DELETE ON app.memberships
  FOR EACH ROW EXECUTE FUNCTION app.membership_removed();

-- Deleting an account: its memberships go by cascade, but the tokens' created_by is set to NULL by
-- its own cascade, perhaps first; revoke the tokens here, before either runs.
CREATE FUNCTION app.user_removed() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    PERFORM app.revoke_api_tokens_created_by(OLD.id, NULL);
    RETURN OLD;
  END
  $$;
CREATE TRIGGER users_removed BEFORE DELETE ON app.users
  FOR EACH ROW EXECUTE FUNCTION app.user_removed();

-- Functions: EXECUTE is granted, never PUBLIC's ---------------------------------------------------
-- PostgreSQL gives PUBLIC EXECUTE on every new function, and per-schema default privileges cannot
-- take that away; so this revokes after everything above is created, and a later migration that
-- adds a function in app or ops revokes it too (test/core/tenant-attacks.test.ts lists what gpt_app
-- may call and fails on anything else).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA app, ops FROM PUBLIC, gpt_app;
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA app, ops FROM PUBLIC, gpt_app;
GRANT EXECUTE ON FUNCTION app.current_org_id(), app.require_org_id(), app.enqueue(text, jsonb, jsonb), app.enqueue_many(jsonb) TO gpt_app;
-- Called by the insight views gpt_app reads (a view runs its functions as the caller).
GRANT EXECUTE ON FUNCTION ops.histogram_quantile(bigint[], double precision), ops.latency_bucket_bounds_ms() TO gpt_app;
