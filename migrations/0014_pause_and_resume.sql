-- 0014: pause and resume (issue 10, item 4). A queue can be paused for every organisation (an
-- operator's ops.pause_queue) or for one organisation (its own members through the API and the
-- web app, or an operator). Paused jobs stay waiting: the runner's claim skips a paused
-- organisation's jobs (one probe of the fair-share turn, whatever its backlog) and claims nothing
-- from a queue paused for everyone. Nothing is lost; resuming wakes the workers at once.
CREATE TABLE app.queue_pauses (
  -- A job type of the catalogue; its pauses go when the type leaves the code.
  queue text NOT NULL REFERENCES ops.job_types (name) ON DELETE CASCADE,
  -- NULL: paused for every organisation (operators only).
  org_id uuid REFERENCES app.organisations (id) ON DELETE CASCADE,
  paused_at timestamptz NOT NULL DEFAULT now(),
  -- Who paused it: "operator:<database user>" or "user:<email>" / "token:<name>".
  paused_by text NOT NULL CHECK (length(paused_by) BETWEEN 1 AND 200),
  reason text CHECK (length(reason) <= 500),
  UNIQUE NULLS NOT DISTINCT (queue, org_id)
);
ALTER TABLE app.queue_pauses ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
DO $do$
BEGIN
  EXECUTE format('CREATE POLICY operator_all ON app.queue_pauses TO %I USING (true) WITH CHECK (true)', current_user);
END
$do$;
-- An organisation sees its own pauses and the queue-wide ones (they stop its jobs too), and
-- pauses and resumes only its own.
CREATE POLICY tenant_read ON app.queue_pauses FOR SELECT TO gpt_app
  USING (org_id IS NULL OR org_id = (SELECT app.current_org_id()));
CREATE POLICY tenant_pause ON app.queue_pauses FOR INSERT TO gpt_app
  WITH CHECK (org_id = (SELECT app.current_org_id()));
CREATE POLICY tenant_resume ON app.queue_pauses FOR DELETE TO gpt_app
  USING (org_id = (SELECT app.current_org_id()));
GRANT SELECT, INSERT (queue, org_id, paused_by, reason), DELETE ON app.queue_pauses TO gpt_app;

-- Operators: SELECT ops.pause_queue('test-job') pauses a queue for everyone;
-- SELECT ops.pause_queue('test-job', '<org id>', 'why') for one organisation. Pausing again
-- replaces the reason. Returns the pause as stored.
CREATE FUNCTION ops.pause_queue(queue text, org_id uuid DEFAULT NULL, reason text DEFAULT NULL)
RETURNS app.queue_pauses
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
  known text;
  stored app.queue_pauses;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ops.job_types t WHERE t.name = pause_queue.queue) THEN
    SELECT string_agg(t.name, ', ' ORDER BY t.name) INTO known FROM ops.job_types t;
    RAISE EXCEPTION 'ops.pause_queue: no job type "%"', pause_queue.queue
      USING ERRCODE = '22023', HINT = format('Known job types: %s.', coalesce(known, 'none (run npm run migrate)'));
  END IF;
  IF pause_queue.org_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM app.organisations o WHERE o.id = pause_queue.org_id) THEN
    RAISE EXCEPTION 'ops.pause_queue: no organisation %', pause_queue.org_id USING ERRCODE = '22023';
  END IF;
  INSERT INTO app.queue_pauses AS p (queue, org_id, paused_by, reason)
  VALUES (pause_queue.queue, pause_queue.org_id, 'operator:' || session_user, pause_queue.reason)
  ON CONFLICT (queue, org_id) DO UPDATE SET reason = excluded.reason, paused_by = excluded.paused_by
  RETURNING * INTO stored;
  RETURN stored;
END
$fn$;

-- Lifts a pause (the queue-wide one when org_id is NULL) and wakes the workers. Returns whether
-- there was one.
CREATE FUNCTION ops.resume_queue(queue text, org_id uuid DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
BEGIN
  DELETE FROM app.queue_pauses p WHERE p.queue = resume_queue.queue AND p.org_id IS NOT DISTINCT FROM resume_queue.org_id;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM pg_notify(ops.queue_notify_channel(), resume_queue.queue);
  RETURN true;
END
$fn$;
COMMENT ON FUNCTION ops.pause_queue(text, uuid, text) IS 'Pauses a job type for every organisation (org_id NULL) or one; its jobs stay waiting.';
COMMENT ON FUNCTION ops.resume_queue(text, uuid) IS 'Lifts a pause made by ops.pause_queue or an organisation, and wakes the workers.';

-- What is paused, with the jobs each pause holds back (counted up to 100,000).
CREATE VIEW ops.paused_queues AS
SELECT p.queue,
       p.org_id,
       o.name AS organisation,
       p.paused_at,
       p.paused_by,
       p.reason,
       (SELECT count(*) FROM (
          SELECT 1 FROM pgboss.job j
          WHERE j.name = p.queue AND j.state < 'active' AND (p.org_id IS NULL OR j.group_id = p.org_id::text)
          LIMIT 100000) w) AS jobs_waiting
FROM app.queue_pauses p
LEFT JOIN app.organisations o ON o.id = p.org_id;

-- Functions are executable by PUBLIC when created; these are for operators (the owner) only.
REVOKE EXECUTE ON FUNCTION ops.pause_queue(text, uuid, text), ops.resume_queue(text, uuid) FROM PUBLIC;
