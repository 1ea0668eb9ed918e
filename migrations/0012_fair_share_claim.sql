-- 0012: the index the runner's fair-share claim walks (issue 10, docs/decisions/010). A claim takes
-- the organisations with waiting jobs of a queue in turn (a skip scan: one index probe per
-- organisation, however many jobs each has waiting), then each organisation's next jobs by
-- priority and age. Both walk this index; pg-boss's own claim index (name, priority, created_on)
-- cannot answer "the next organisation after X" or "X's oldest job" without reading the backlog.
--
-- Built in the migration's transaction: pg-boss's table is partitioned, and CREATE INDEX
-- CONCURRENTLY is not supported on a partitioned table. Writes to the job table wait while it
-- builds (about a second per million waiting or finished jobs on the 2-core benchmark machine).
CREATE INDEX fair_share_claim_idx ON pgboss.job (name, group_id, priority DESC, created_on)
  WHERE state < 'active' AND NOT blocked;
