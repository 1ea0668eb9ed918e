-- 0007: psql-driven backfills (sql/backfill/). A backfill enqueues one job for every row a query
-- returns, in batches that each commit, so it can be stopped at any moment (Ctrl-C loses at most
-- the batch in flight, which rolls back) and resumed by running it again.

-- One row per named backfill: where it got to and what it did. A second run of a finished
-- backfill starts after its last key and enqueues nothing.
CREATE TABLE ops.backfills (
  name text PRIMARY KEY,
  type text NOT NULL,
  last_key text,                       -- the greatest source key already enqueued (keyset cursor)
  enqueued bigint NOT NULL DEFAULT 0,  -- jobs created
  existing bigint NOT NULL DEFAULT 0,  -- rows whose job already existed (same idempotency key)
  batches bigint NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

-- Runs (or resumes) the backfill `name`: one `type` job per row of `source`, a query returning
-- (key text, org_id uuid, payload jsonb), taken in key order `batch_size` rows at a time. Each
-- job's idempotency key is "backfill:<name>:<key>", so even a reset cursor or two operators running
-- the same backfill at once cannot enqueue a row twice. Reports progress as NOTICE lines.
-- max_batches stops after that many batches (a slice now, the rest later). CALL it outside an
-- explicit transaction (psql's default), since it commits after every batch.
CREATE PROCEDURE ops.backfill(name text, type text, source text, batch_size integer DEFAULT 500, max_batches integer DEFAULT NULL)
  LANGUAGE plpgsql
  AS $$
  DECLARE
    progress ops.backfills;
    total bigint;
    batch jsonb;
    batch_rows integer;
    batch_last text;
    created_now integer;
    ran integer := 0;
    done bigint := 0;
    started timestamptz := clock_timestamp();
  BEGIN
    IF batch_size IS NULL OR batch_size < 1 OR batch_size > 10000 THEN
      RAISE EXCEPTION 'ops.backfill: batch_size must be between 1 and 10000, got %', batch_size;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ops.job_types t WHERE t.name = backfill.type) THEN
      RAISE EXCEPTION 'ops.backfill: unknown job type "%"; known types: %', type,
        (SELECT string_agg(t.name, ', ' ORDER BY t.name) FROM ops.job_types t);
    END IF;
    INSERT INTO ops.backfills AS b (name, type) VALUES (backfill.name, backfill.type)
    ON CONFLICT ON CONSTRAINT backfills_pkey DO NOTHING;
    SELECT * INTO progress FROM ops.backfills b WHERE b.name = backfill.name;
    IF progress.type <> backfill.type THEN
      RAISE EXCEPTION 'ops.backfill: "%" already ran with type %, not %', name, progress.type, type
        USING HINT = 'Pick a new backfill name, or DELETE FROM ops.backfills WHERE name = ... to forget the old one.';
    END IF;

    -- The source query is checked here, once, so a mistake fails before anything is enqueued.
    BEGIN
      EXECUTE format('SELECT count(*) FROM (%s) s WHERE s.key > $1 OR $1 IS NULL', source) INTO total USING progress.last_key;
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'ops.backfill: the source query failed: %', SQLERRM
        USING HINT = 'It must return the columns key (text), org_id (uuid) and payload (jsonb).';
    END;
    RAISE NOTICE 'backfill %: % row(s) to go%', name, total,
      CASE WHEN progress.last_key IS NULL THEN '' ELSE format(' (resuming after key %s, %s enqueued so far)', progress.last_key, progress.enqueued) END;

    LOOP
      EXIT WHEN max_batches IS NOT NULL AND ran >= max_batches;
      EXECUTE format(
        'SELECT count(*)::int, max(s.key), jsonb_agg(jsonb_build_object(''type'', $2, ''org_id'', s.org_id, ''payload'', s.payload,
                  ''options'', jsonb_build_object(''idempotencyKey'', ''backfill:'' || $3 || '':'' || s.key)) ORDER BY s.key)
         FROM (SELECT * FROM (%s) src WHERE src.key > $1 OR $1 IS NULL ORDER BY src.key LIMIT $4) s', source)
        INTO batch_rows, batch_last, batch USING progress.last_key, type, name, batch_size;
      EXIT WHEN batch_rows = 0;

      SELECT count(*) FILTER (WHERE e.created) INTO created_now FROM app.enqueue_many(batch) e;
      UPDATE ops.backfills b SET last_key = batch_last, enqueued = b.enqueued + created_now,
        existing = b.existing + batch_rows - created_now, batches = b.batches + 1, updated_at = now()
      WHERE b.name = backfill.name
      RETURNING * INTO progress;
      ran := ran + 1;
      done := done + batch_rows;
      COMMIT;
      RAISE NOTICE 'backfill %: batch %: % enqueued, % already there; % of % row(s) this run (%), last key %, % s',
        name, progress.batches, created_now, batch_rows - created_now, done, total,
        round(100.0 * least(done, total) / greatest(total, 1)) || '%', batch_last,
        round(extract(epoch FROM clock_timestamp() - started)::numeric, 1);
    END LOOP;

    IF batch_rows = 0 OR batch_rows IS NULL THEN
      UPDATE ops.backfills b SET finished_at = coalesce(b.finished_at, now()), updated_at = now() WHERE b.name = backfill.name
      RETURNING * INTO progress;
      RAISE NOTICE 'backfill %: finished; % job(s) enqueued, % already existed, in % batch(es)', name, progress.enqueued, progress.existing, progress.batches;
    ELSE
      RAISE NOTICE 'backfill %: stopped after % batch(es) as asked; run it again to resume after key %', name, ran, progress.last_key;
    END IF;
    COMMIT;
  END
  $$;
