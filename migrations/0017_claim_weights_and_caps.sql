-- The claim side of plans (docs/decisions/012, 010): what the fair claim needs of each organisation
-- in its turn: the plan's fair-share weight, and how many more of its jobs of the queue may start
-- under the plan's cap on running jobs per queue.
--
-- Counting the running jobs inside the claim statement is not enough: two workers claiming at once
-- would both see the same count in their statements' snapshots and together pass the cap. So each
-- capped organisation's room is counted under a transaction-scoped advisory lock on (queue,
-- organisation), which the claim holds until it commits, and in a statement of its own: this
-- function is VOLATILE, so that statement takes a fresh snapshot after the lock, which sees every
-- claim committed by the worker that held the lock before. Claims of the same capped organisation
-- thus take turns (each waits for the one before it, a claim statement's few milliseconds); the
-- locks are taken in the organisations' order, so two claims never wait for each other in a cycle.
-- Only claims take these locks, and a claim holds no row of another worker's jobs while it waits.
CREATE FUNCTION ops.claim_terms(queue text, orgs text[])
  RETURNS TABLE (org text, weight integer, room integer)
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    terms record;
    capped text[] := '{}';
    capped_weights integer[] := '{}';
    caps integer[] := '{}';
  BEGIN
    FOR terms IN
      -- A group id that is not a uuid (a job written around the platform) gets the default plan
      -- rather than failing the claim.
      SELECT o.org, coalesce(p.fair_share_weight, 1) AS weight, p.max_running_per_queue AS cap
      FROM unnest(orgs) AS o (org)
      LEFT JOIN app.subscriptions s
        ON s.org_id = CASE WHEN o.org ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN o.org::uuid END
      LEFT JOIN app.plans p ON p.id = coalesce(s.plan_id, (SELECT d.id FROM app.plans d WHERE d.is_default))
      ORDER BY o.org
    LOOP
      IF terms.cap IS NULL THEN
        org := terms.org; weight := terms.weight; room := NULL;
        RETURN NEXT;
      ELSE
        PERFORM pg_advisory_xact_lock(hashtextextended('gpt:running-cap:' || queue || ':' || terms.org, 0));
        capped := capped || terms.org;
        capped_weights := capped_weights || terms.weight;
        caps := caps || terms.cap;
      END IF;
    END LOOP;

    -- A statement of its own, after the locks: its snapshot is fresh (see above). The count walks
    -- pg-boss's index of active jobs by group (name, group_id WHERE state = 'active'), up to the cap.
    RETURN QUERY
      SELECT c.org, c.weight, (c.cap - (
        SELECT count(*) FROM (SELECT FROM pgboss.job j WHERE j.name = queue AND j.state = 'active' AND j.group_id = c.org LIMIT c.cap) r
      ))::integer
      FROM unnest(capped, capped_weights, caps) AS c (org, weight, cap);
  END
  $$;

COMMENT ON FUNCTION ops.claim_terms(text, text[]) IS
  'The fair claim''s terms per organisation: plan weight, and room under the plan''s cap on running jobs per queue (NULL: no cap). Takes advisory locks until the claim commits; the worker''s, not the application''s.';

REVOKE EXECUTE ON FUNCTION ops.claim_terms(text, text[]) FROM PUBLIC;

-- Platform operators in the web app: the users who may open the operator-only plans page (assign
-- plans to organisations without psql). The owner alone reads and writes this table, and the web
-- app checks it with its owner connection: no SQL the application role can run makes anyone an
-- operator. Operators name them with ops.grant_platform_operator('<email>').
CREATE TABLE ops.platform_operators (
  user_id uuid PRIMARY KEY REFERENCES app.users (id) ON DELETE CASCADE,
  granted_at timestamptz NOT NULL DEFAULT now(),
  -- "operator:<database user>"
  granted_by text NOT NULL CHECK (length(granted_by) BETWEEN 1 AND 200)
);
ALTER TABLE ops.platform_operators ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
DO $do$
BEGIN
  EXECUTE format('CREATE POLICY operator_all ON ops.platform_operators TO %I USING (true) WITH CHECK (true)', current_user);
END
$do$;

CREATE FUNCTION ops.grant_platform_operator(email text) RETURNS uuid
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  DECLARE
    found uuid;
  BEGIN
    SELECT u.id INTO found FROM app.users u WHERE lower(u.email) = lower(grant_platform_operator.email);
    IF found IS NULL THEN
      RAISE EXCEPTION 'ops.grant_platform_operator: no user with the email %', grant_platform_operator.email
        USING ERRCODE = '22023', HINT = 'The person signs up in the web app first.';
    END IF;
    INSERT INTO ops.platform_operators (user_id, granted_by) VALUES (found, 'operator:' || session_user)
    ON CONFLICT (user_id) DO NOTHING;
    RETURN found;
  END
  $fn$;

CREATE FUNCTION ops.revoke_platform_operator(email text) RETURNS boolean
  LANGUAGE sql
  SET search_path = pg_catalog, pg_temp
  AS $fn$
    WITH gone AS (
      DELETE FROM ops.platform_operators o USING app.users u
      WHERE o.user_id = u.id AND lower(u.email) = lower(revoke_platform_operator.email)
      RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM gone)
  $fn$;

REVOKE EXECUTE ON FUNCTION ops.grant_platform_operator(text), ops.revoke_platform_operator(text) FROM PUBLIC;
