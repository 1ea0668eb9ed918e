-- 0015: ops.enqueue_many in time linear in the jobs it is given (issue 10; a prerequisite of
-- quotas, which will check every enqueue here). Three parts of 0009's version compared every job
-- with every other: the repeated-idempotency-key check (a lateral min per job), the per-(type,
-- organisation) loop that scanned all jobs for each pair (a backfill across many organisations is
-- nearly one pair per job), and the "was it inserted" tests against an array. Now: a window
-- function, one INSERT for every job (job refs written from its RETURNING, one NOTIFY per queue),
-- and hash joins. Same checks, same errors, same rows; test/core/sql-enqueue.test.ts and
-- test/worker/hostile-input.test.ts hold it to that.
CREATE OR REPLACE FUNCTION ops.enqueue_many(jobs jsonb) RETURNS TABLE (ord integer, id uuid, created boolean)
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  #variable_conflict use_column
  DECLARE
    requests ops.enqueue_request[];
    problems text[];
    missing_queues text;
    inserted uuid[] := '{}';
    runnable_types text[];
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

    SELECT coalesce(array_agg(format('[%s] repeats the idempotency key of job [%s] in this request', f.ord, f.first_ord) ORDER BY f.ord), '{}')
    INTO problems
    FROM (SELECT r.ord, min(r.ord) OVER (PARTITION BY r.id) AS first_ord FROM unnest(requests) r) f
    WHERE f.first_ord < f.ord;
    IF cardinality(problems) > 0 THEN
      RAISE EXCEPTION 'nothing was enqueued: %', array_to_string(problems, '; ')
        USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT string_agg(DISTINCT r.type, ', ') INTO missing_queues
    FROM unnest(requests) r WHERE NOT EXISTS (SELECT 1 FROM pgboss.queue q WHERE q.name = r.type);
    IF missing_queues IS NOT NULL THEN
      RAISE EXCEPTION 'job type(s) % are in the catalogue but their queues do not exist', missing_queues
        USING HINT = 'Run npm run migrate: the release step creates the catalogue''s queues.';
    END IF;
    -- One statement for every job: the columns and values of pg-boss 12.35's insertJobs, for the
    -- options the Node client sets (id, data, priority, startAfter, singletonKey, group):
    -- everything else is the queue's.
    WITH ins AS (
      INSERT INTO pgboss.job (
        id, name, data, priority, start_after, created_on, singleton_key, singleton_on, group_id, group_tier,
        expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff, retry_delay_max,
        policy, dead_letter, heartbeat_seconds, blocked, blocking, pending_dependencies
      )
      SELECT
        r.id, r.type, r.payload, coalesce((r.options ->> 'priority')::int, 0), s.start_after, pgboss.job_now(),
        r.options ->> 'singletonKey', NULL, r.org_id::text, NULL,
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
      JOIN pgboss.queue q ON q.name = r.type
      ORDER BY r.ord
      ON CONFLICT DO NOTHING
      RETURNING pgboss.job.id, pgboss.job.name, pgboss.job.group_id, pgboss.job.start_after
    ),
    refs AS (
      INSERT INTO app.job_refs (org_id, job_id, type)
      SELECT ins.group_id::uuid, ins.id, ins.name FROM ins
      ON CONFLICT DO NOTHING
    )
    SELECT coalesce(array_agg(ins.id), '{}'),
           coalesce(array_agg(DISTINCT ins.name) FILTER (WHERE ins.start_after <= pgboss.job_now()), '{}')
    INTO inserted, runnable_types FROM ins;
    -- One wake-up per queue, as pg-boss sends: only when a job can start now and the queue asks for it.
    PERFORM pg_notify(ops.queue_notify_channel(), q.name)
    FROM pgboss.queue q WHERE q.name = ANY (runnable_types) AND q.notify;

    -- An idempotency key names one job: repeating it is fine with the same payload, an error with another.
    SELECT jsonb_agg(jsonb_build_object('ord', r.ord, 'id', r.id) ORDER BY r.ord) INTO conflicts
    FROM unnest(requests) r
    JOIN pgboss.job j ON j.name = r.type AND j.id = r.id
    LEFT JOIN unnest(inserted) AS i (id) ON i.id = r.id
    WHERE r.options ? 'idempotencyKey' AND i.id IS NULL AND j.data IS DISTINCT FROM r.payload;
    IF conflicts IS NOT NULL THEN
      RAISE EXCEPTION 'nothing was enqueued: %', (
          SELECT string_agg(format('[%s] this idempotency key already created job %s with a different payload; use a new key for a different job',
                                   c ->> 'ord', c ->> 'id'), '; ')
          FROM jsonb_array_elements(conflicts) AS c)
        USING ERRCODE = 'unique_violation', DETAIL = conflicts::text;
    END IF;

    RETURN QUERY SELECT r.ord, r.id, i.id IS NOT NULL FROM unnest(requests) r LEFT JOIN unnest(inserted) AS i (id) ON i.id = r.id ORDER BY r.ord;
  END
  $$;
