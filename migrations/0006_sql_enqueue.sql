-- 0006: enqueue from SQL. Operators (psql, backfills) and SQL callers send jobs with
-- app.enqueue / app.enqueue_many, which insert exactly the row pg-boss 12.35's own insert
-- (plans.insertJobs, what core/jobs/enqueue.ts sends through) would: the queue's settings are
-- read from pgboss.queue, which the release step keeps equal to the job catalogue. The payload
-- check uses the catalogue as published by the release step into ops.job_types.

-- UUIDv5 needs SHA-1, which core PostgreSQL lacks; pgcrypto is a contrib extension every
-- distribution and Supabase ship (Supabase keeps it in the "extensions" schema).
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- The job catalogue as the code that last released sees it (core/jobs/catalogue-publish.ts writes
-- it after every migration run). One row per job type; types removed from the code are removed here.
CREATE TABLE ops.job_types (
  name text PRIMARY KEY,
  description text NOT NULL,
  -- JSON Schema (draft 2020-12) of the payload, generated from the type's zod schema.
  payload_schema jsonb NOT NULL CHECK (jsonb_typeof(payload_schema) = 'object'),
  dead_letter_queue text NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON ops.job_types TO gpt_app;

-- For reading in psql: each type's payload keys and the queue settings its jobs inherit.
CREATE VIEW ops.job_catalogue AS
SELECT
  t.name,
  t.description,
  ARRAY(SELECT jsonb_array_elements_text(coalesce(t.payload_schema -> 'required', '[]'))) AS required_keys,
  ARRAY(SELECT k FROM jsonb_object_keys(coalesce(t.payload_schema -> 'properties', '{}')) AS k
        WHERE NOT coalesce(t.payload_schema -> 'required', '[]') ? k ORDER BY k) AS optional_keys,
  q.policy,
  q.retry_limit,
  q.retry_delay AS retry_delay_seconds,
  q.retry_backoff,
  q.retry_delay_max AS retry_delay_max_seconds,
  q.expire_seconds,
  q.heartbeat_seconds,
  q.retention_seconds,
  q.deletion_seconds AS delete_after_seconds,
  q.dead_letter,
  q.notify,
  t.published_at
FROM ops.job_types t
LEFT JOIN pgboss.queue q ON q.name = t.name;

-- pg-boss's NOTIFY channel for its schema (plans.notifyChannelSql in 12.35); the payload is the
-- queue name. The worker LISTENs on it; test/core/sql-enqueue.test.ts checks the two agree.
CREATE FUNCTION ops.queue_notify_channel() RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT 'pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24) $$;

-- The job id an idempotency key maps to: UUIDv5 of (organisation, type, key), byte for byte what
-- core/jobs/idempotency.ts computes, so a key used from SQL and from Node names the same job.
-- Created through EXECUTE because pgcrypto's schema differs between installations.
DO $do$
DECLARE
  crypto_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                         WHERE e.extname = 'pgcrypto');
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION ops.idempotency_job_id(org_id uuid, type text, key text) RETURNS uuid
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      AS $body$
        SELECT encode(
          set_byte(set_byte(h, 6, (get_byte(h, 6) & 15) | 80), 8, (get_byte(h, 8) & 63) | 128),
          'hex')::uuid
        FROM (SELECT substring(%I.digest(
                decode('3f1c2b9e6d0a4c559b7e2a8e5d41c7f0', 'hex')
                  || convert_to(org_id::text, 'UTF8') || '\x00'::bytea
                  || convert_to(type, 'UTF8') || '\x00'::bytea
                  || convert_to(key, 'UTF8'),
                'sha1') FROM 1 FOR 16) AS h) AS hashed
      $body$
  $f$, crypto_schema);
END
$do$;
GRANT EXECUTE ON FUNCTION ops.idempotency_job_id(uuid, text, text) TO gpt_app;

-- What is wrong with one value against one JSON Schema property: the checks zod's schemas turn
-- into (type, bounds, lengths, enum). NULL when nothing is. Nested objects are checked by the
-- worker, which validates every payload against the full zod schema before running it.
CREATE FUNCTION ops.json_value_problem(property jsonb, value jsonb) RETURNS text
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  AS $$
  DECLARE
    types text[] := CASE jsonb_typeof(property -> 'type')
                      WHEN 'string' THEN ARRAY[property ->> 'type']
                      WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(property -> 'type'))
                    END;
    actual text := jsonb_typeof(value);
  BEGIN
    IF types IS NOT NULL AND NOT (
      actual = ANY (types)
      OR (actual = 'number' AND 'integer' = ANY (types) AND (value::text)::numeric = trunc((value::text)::numeric))
    ) THEN
      RETURN format('expected %s, got %s', array_to_string(types, ' or '), actual);
    END IF;
    IF property ? 'enum' AND NOT (property -> 'enum') @> jsonb_build_array(value) THEN
      RETURN format('must be one of %s', property -> 'enum');
    END IF;
    IF property ? 'const' AND property -> 'const' <> value THEN
      RETURN format('must be %s', property -> 'const');
    END IF;
    IF actual = 'number' THEN
      IF (value::text)::numeric < (property ->> 'minimum')::numeric THEN
        RETURN format('must be at least %s', property ->> 'minimum');
      END IF;
      IF (value::text)::numeric > (property ->> 'maximum')::numeric THEN
        RETURN format('must be at most %s', property ->> 'maximum');
      END IF;
    END IF;
    IF actual = 'string' THEN
      IF length(value #>> '{}') < (property ->> 'minLength')::int THEN
        RETURN format('must be at least %s characters', property ->> 'minLength');
      END IF;
      IF length(value #>> '{}') > (property ->> 'maxLength')::int THEN
        RETURN format('must be at most %s characters', property ->> 'maxLength');
      END IF;
    END IF;
    RETURN NULL;
  END
  $$;

-- Every problem with a payload against its type's published schema, one "payload.<key>: <what>"
-- line each, in the same words as the Node client: missing required keys, unknown keys (for
-- strict schemas), and each present key's value.
CREATE FUNCTION ops.payload_problems(schema jsonb, payload jsonb) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN payload IS NULL OR jsonb_typeof(payload) <> 'object' THEN
        ARRAY[format('payload: expected a JSON object, got %s', coalesce(jsonb_typeof(payload), 'nothing'))]
      ELSE ARRAY(
        SELECT format('payload.%s: is required', r) FROM jsonb_array_elements_text(coalesce(schema -> 'required', '[]')) AS r
        WHERE NOT payload ? r
        UNION ALL
        SELECT format('payload.%s: is not a known field', k) FROM jsonb_object_keys(payload) AS k
        WHERE schema -> 'additionalProperties' = 'false' AND NOT coalesce(schema -> 'properties', '{}') ? k
        UNION ALL
        SELECT format('payload.%s: %s', p.key, ops.json_value_problem(p.value, payload -> p.key))
        FROM jsonb_each(coalesce(schema -> 'properties', '{}')) AS p
        WHERE payload ? p.key AND ops.json_value_problem(p.value, payload -> p.key) IS NOT NULL
      )
    END
  $$;

-- Whether an organisation exists, whatever the caller's scope: the check that catches a mistyped
-- id before it becomes a job nobody can see. Reveals existence only.
CREATE FUNCTION ops.organisation_exists(id uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT EXISTS (SELECT 1 FROM app.organisations o WHERE o.id = organisation_exists.id) $$;

-- Every problem with one enqueue request, in words an operator can act on; empty when it is valid.
CREATE FUNCTION ops.enqueue_problems(type text, org_id uuid, payload jsonb, options jsonb) RETURNS text[]
  LANGUAGE plpgsql STABLE
  AS $$
  DECLARE
    published jsonb := (SELECT t.payload_schema FROM ops.job_types t WHERE t.name = type);
    problems text[] := '{}';
    unknown_options text[];
    start_after jsonb := options -> 'startAfter';
  BEGIN
    IF published IS NULL THEN
      RETURN ARRAY[format('unknown job type "%s"; known types: %s', type,
        coalesce((SELECT string_agg(t.name, ', ' ORDER BY t.name) FROM ops.job_types t), 'none (run npm run migrate to publish the catalogue)'))];
    END IF;
    IF org_id IS NULL THEN
      problems := problems || 'org_id: every job needs its organisation'::text;
    ELSIF NOT ops.organisation_exists(org_id) THEN
      problems := problems || format('org_id: no organisation has id %s', org_id);
    END IF;
    problems := problems || ops.payload_problems(published, payload);
    IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
      RETURN problems || format('options: expected a JSON object, got %s', coalesce(jsonb_typeof(options), 'nothing'));
    END IF;
    unknown_options := ARRAY(SELECT k FROM jsonb_object_keys(options) AS k
                             WHERE k NOT IN ('priority', 'startAfter', 'idempotencyKey', 'singletonKey') ORDER BY k);
    IF cardinality(unknown_options) > 0 THEN
      problems := problems || format('options: unknown option(s) %s; known: priority, startAfter, idempotencyKey, singletonKey',
        array_to_string(unknown_options, ', '));
    END IF;
    IF options ? 'priority' AND ops.json_value_problem('{"type": "integer"}', options -> 'priority') IS NOT NULL THEN
      problems := problems || 'options.priority: must be an integer'::text;
    END IF;
    IF start_after IS NOT NULL AND NOT (
      (jsonb_typeof(start_after) = 'number' AND (start_after::text)::numeric >= 0)
      OR (jsonb_typeof(start_after) = 'string' AND ops.is_timestamptz(start_after #>> '{}'))
    ) THEN
      problems := problems || 'options.startAfter: must be seconds from now (a number >= 0) or a timestamp such as "2026-01-31T09:00:00Z"'::text;
    END IF;
    IF options ? 'idempotencyKey' AND (jsonb_typeof(options -> 'idempotencyKey') <> 'string' OR options ->> 'idempotencyKey' = '') THEN
      problems := problems || 'options.idempotencyKey: must be a non-empty string'::text;
    END IF;
    IF options ? 'singletonKey' AND (jsonb_typeof(options -> 'singletonKey') <> 'string' OR options ->> 'singletonKey' = '') THEN
      problems := problems || 'options.singletonKey: must be a non-empty string'::text;
    END IF;
    RETURN problems;
  END
  $$;

-- Type-safe checks for text an operator typed (pg_input_is_valid arrives only in PostgreSQL 16).
CREATE FUNCTION ops.is_timestamptz(value text) RETURNS boolean
  LANGUAGE plpgsql STABLE
  AS $$
  BEGIN
    PERFORM value::timestamptz;
    RETURN true;
  EXCEPTION WHEN others THEN
    RETURN false;
  END
  $$;

CREATE FUNCTION ops.is_uuid(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' $$;

-- One job of an app.enqueue_many call, with the id it will get.
CREATE TYPE ops.enqueue_request AS (ord integer, type text, org_id uuid, payload jsonb, options jsonb, id uuid);

-- Set-based enqueue. `jobs` is a JSON array of {"type", "org_id", "payload", "options"} (options
-- as for app.enqueue). Every job is checked first; if any is invalid nothing is enqueued and the
-- error lists each problem by its position (from 1). Then one insert per type and organisation.
-- Returns one row per job, in order: created is false when an idempotency key named a job that
-- already exists, or the queue's policy already holds a job with that singleton key.
-- SECURITY INVOKER: an application connection (gpt_app) may only enqueue for the organisation its
-- transaction is scoped to, and row-level security still applies to everything written.
CREATE FUNCTION app.enqueue_many(jobs jsonb) RETURNS TABLE (ord integer, id uuid, created boolean)
  LANGUAGE plpgsql
  AS $$
  #variable_conflict use_column
  DECLARE
    scope_org text := nullif(current_setting('app.org_id', true), '');
    requests ops.enqueue_request[];
    problems text[];
    batch record;
    inserted uuid[] := '{}';
    batch_inserted uuid[];
    runnable boolean;
  BEGIN
    IF jobs IS NULL OR jsonb_typeof(jobs) <> 'array' THEN
      RAISE EXCEPTION 'app.enqueue_many: jobs must be a JSON array of {"type", "org_id", "payload", "options"}'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Every problem of every job, by position; a malformed org_id is reported, not a cast error.
    SELECT coalesce(array_agg(format('[%s] %s', e.n, p) ORDER BY e.n), '{}') INTO problems
    FROM jsonb_array_elements(jobs) WITH ORDINALITY AS e(j, n),
      LATERAL (SELECT CASE WHEN ops.is_uuid(e.j ->> 'org_id') THEN (e.j ->> 'org_id')::uuid END AS org_id) o,
      unnest(
        CASE WHEN e.j ? 'org_id' AND o.org_id IS NULL AND jsonb_typeof(e.j -> 'org_id') <> 'null'
             THEN ARRAY[format('org_id: %s is not a UUID', e.j -> 'org_id')] ELSE '{}'::text[] END
        || array_remove(ops.enqueue_problems(e.j ->> 'type', o.org_id, coalesce(e.j -> 'payload', '{}'), coalesce(e.j -> 'options', '{}')),
             CASE WHEN e.j ? 'org_id' THEN 'org_id: every job needs its organisation' END)
        || CASE WHEN scope_org IS NOT NULL AND o.org_id::text <> scope_org
                THEN ARRAY[format('org_id: %s differs from the transaction''s organisation %s', o.org_id, scope_org)]
                ELSE '{}'::text[] END
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
      -- job_refs is row-level secured by organisation: scope each batch to its own.
      PERFORM set_config('app.org_id', batch.org_id::text, true);
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
    PERFORM set_config('app.org_id', coalesce(scope_org, ''), true);

    RETURN QUERY SELECT r.ord, r.id, r.id = ANY (inserted) FROM unnest(requests) r ORDER BY r.ord;
  END
  $$;

-- Enqueues one job and returns its id:
--   SELECT app.enqueue('test-job', '<org uuid>', '{"echo": 1}', '{"priority": 5}');
-- options: priority (integer, higher first), startAfter (seconds from now, or a timestamp),
-- idempotencyKey (the same key again returns the first job's id; a different payload is an
-- error), singletonKey (for queues whose policy allows one job per key).
CREATE FUNCTION app.enqueue(type text, org_id uuid, payload jsonb DEFAULT '{}', options jsonb DEFAULT '{}') RETURNS uuid
  LANGUAGE plpgsql
  AS $$
  #variable_conflict use_column
  DECLARE
    scope_org text := current_setting('app.org_id', true);
    result record;
    existing jsonb;
    problems text[] := ops.enqueue_problems(type, org_id, payload, options);
  BEGIN
    IF nullif(scope_org, '') IS DISTINCT FROM NULL AND scope_org <> org_id::text THEN
      problems := problems || format('org_id: %s differs from the transaction''s organisation %s', org_id, scope_org);
    END IF;
    IF cardinality(problems) > 0 THEN
      RAISE EXCEPTION 'job of type % rejected, nothing was enqueued: %', type, array_to_string(problems, '; ')
        USING ERRCODE = 'invalid_parameter_value',
              HINT = format('SELECT * FROM ops.job_catalogue WHERE name = %L shows the keys it takes.', type);
    END IF;
    SELECT * INTO result FROM app.enqueue_many(jsonb_build_array(jsonb_build_object(
      'type', type, 'org_id', org_id, 'payload', payload, 'options', options)));
    IF result.created THEN
      RETURN result.id;
    END IF;
    IF options ? 'idempotencyKey' THEN
      PERFORM set_config('app.org_id', org_id::text, true);
      SELECT j.payload INTO existing FROM app.jobs j WHERE j.id = result.id;
      PERFORM set_config('app.org_id', coalesce(scope_org, ''), true);
      IF existing IS DISTINCT FROM payload THEN
        RAISE EXCEPTION 'this idempotency key already created job % with a different payload; use a new key for a different job', result.id
          USING ERRCODE = 'unique_violation';
      END IF;
      RETURN result.id;
    END IF;
    RAISE EXCEPTION 'job of type % was not queued: its queue''s "%" policy already holds a job with this singleton key', type,
      (SELECT q.policy FROM pgboss.queue q WHERE q.name = type)
      USING ERRCODE = 'unique_violation';
  END
  $$;

GRANT EXECUTE ON FUNCTION app.enqueue(text, uuid, jsonb, jsonb), app.enqueue_many(jsonb) TO gpt_app;
