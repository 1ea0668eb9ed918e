-- 0011: gpt_app reads pg-boss's job table under row-level security, not through barrier views
-- (docs/decisions/009, "Revised by 0011"). 0009 made app.jobs and app.dead_letters security-barrier
-- views over pg-boss's table read as the views' owner. A barrier view is planned as a subquery the
-- planner may not flatten, so a page's ORDER BY created_at DESC LIMIT 51 could not use an index and a
-- state filter (enum_eq is not leakproof) ran only after the view had produced every row of the
-- organisation: at a million jobs the console's first page took 2 s (bench/README.md).
--
-- Row-level security puts the organisation check on the table itself. The planner applies it before
-- any condition of the caller's that is not leakproof, as a barrier does, but it still plans the
-- query as one: index scans, index order and partial indexes survive. gpt_app gets SELECT on the
-- columns the views read and nothing else: no schema USAGE (it cannot name pgboss.job; the views
-- can, since a view's relations are resolved when it is created), no writes.

ALTER TABLE pgboss.job ENABLE ROW LEVEL SECURITY;
-- Not FORCE: the owner is pg-boss itself (workers, maintenance, operator SQL), which reads every
-- organisation. Any role other than the owner and gpt_app has no policy, so it sees no row.
CREATE POLICY tenant_rows ON pgboss.job FOR SELECT TO gpt_app USING (group_id = (SELECT app.current_org_id()::text));

GRANT SELECT (id, name, group_id, state, blocked, priority, data, output, retry_count, retry_limit, singleton_key,
              created_on, start_after, started_on, completed_on, keep_until, dead_letter,
              source_name, source_id, source_root_id, source_retry_count, source_output)
  ON pgboss.job TO gpt_app;

-- The views run with the caller's rights (security_invoker), so gpt_app's policy applies inside them.
-- Their own organisation filter stays: the owner reading app.jobs inside a scope sees that scope too.
ALTER VIEW app.jobs RESET (security_barrier);
ALTER VIEW app.jobs SET (security_invoker = true);

DROP VIEW app.dead_letters;
-- The dead-letter copies of the scope's organisation (ops.dead_letters' rows and columns), read from
-- pg-boss's table directly so the caller's policy applies and failed_at order can use
-- app_dead_letters_by_org_idx (migrations/0004).
CREATE VIEW app.dead_letters WITH (security_invoker = true) AS
SELECT j.id AS dead_letter_job_id, j.name AS dead_letter_queue, j.group_id AS org_id,
  j.source_name AS queue, j.source_id AS job_id, j.created_on AS failed_at,
  j.source_retry_count + 1 AS attempts, j.source_output AS error, j.data AS payload,
  j.source_root_id AS root_job_id
FROM pgboss.job j
WHERE j.state < 'active' AND NOT j.blocked AND j.source_id IS NOT NULL AND j.group_id IS NOT NULL
  AND j.group_id = (SELECT app.current_org_id()::text);
GRANT SELECT ON app.dead_letters TO gpt_app;

-- A pg-boss upgrade that rebuilt its job table would drop the policy and the grants with it: reads
-- then fail (no grant) rather than leak. The release step re-checks on every run that row-level
-- security is still on (without taking the table's lock when it is).
CREATE OR REPLACE FUNCTION ops.enforce_database_privileges() RETURNS void
  LANGUAGE plpgsql
  AS $$
  BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY, CONNECT ON DATABASE %I TO %I', current_database(), current_user);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO gpt_app', current_database());
    IF NOT (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = 'pgboss.job'::regclass) THEN
      ALTER TABLE pgboss.job ENABLE ROW LEVEL SECURITY;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = 'pgboss.job'::regclass AND p.polname = 'tenant_rows') THEN
      RAISE EXCEPTION 'pgboss.job has lost its tenant_rows policy (migrations/0011)'
        USING HINT = 'A pg-boss upgrade rebuilt its job table: re-create the policy and grants of migrations/0011 before starting the platform.';
    END IF;
  END
  $$;

-- The scope check, about 60 times cheaper -------------------------------------------------------
-- Every statement of a tenant transaction verifies its scope once (an InitPlan per policy or view
-- that names it). 0009 parsed the scope with regexp_match, whose capture groups make PostgreSQL's
-- regex engine backtrack: about 1 ms per call, paid two or three times by every page the console
-- loads and every job the API enqueues. A match without captures (~ runs as a DFA) and
-- string_to_array do the same in about 16 µs. What is accepted and every error are unchanged.
DO $do$
DECLARE
  crypto_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                         WHERE e.extname = 'pgcrypto');
BEGIN
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
        IF scope !~ '^v1\.[0-9]{1,9}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[0-9]{1,12}\.[0-9a-f]{64}$' THEN
          RAISE EXCEPTION 'the organisation scope is malformed'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the platform sets app.org_scope (withOrg in core/db/org-scope.ts); it cannot be written by hand.';
        END IF;
        -- v1, key id, organisation, expires (unix seconds), signature
        part := string_to_array(scope, '.');
        SELECT k.key INTO signing_key FROM ops.tenant_scope_keys k
        WHERE k.id = part[2]::integer AND (k.retired_at IS NULL OR k.retired_at > now());
        IF signing_key IS NULL
           OR %1$I.hmac(convert_to(format('v1.%%s.%%s.%%s', part[2], part[3], part[4]), 'UTF8'), signing_key, 'sha256') <> decode(part[5], 'hex') THEN
          RAISE EXCEPTION 'the organisation scope is not signed by this database''s key'
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF part[4]::bigint < extract(epoch FROM now()) THEN
          RAISE EXCEPTION 'the organisation scope expired at %%', to_timestamp(part[4]::bigint)
            USING ERRCODE = 'insufficient_privilege', HINT = 'Open a new transaction with withOrg.';
        END IF;
        RETURN part[3]::uuid;
      END
      $body$
  $f$, crypto_schema);
END
$do$;
