-- What is paused: job types paused for every organisation (organisation empty) or for one, with
-- the jobs each pause holds waiting (counted up to 100,000).
--   psql "$DATABASE_URL" -f sql/insights/paused.sql
-- Reading it: paused jobs are safe and wait; nothing runs them until the pause is lifted:
--   SELECT ops.resume_queue('<type>');               -- a pause for everyone
--   SELECT ops.resume_queue('<type>', '<org id>');   -- one organisation's
-- `paused_by` says who paused it ("operator:<user>" from SQL, "token:<subject>" from the API).
SELECT queue,
       org_id,
       organisation,
       paused_at,
       now() - paused_at AS paused_for,
       paused_by,
       reason,
       jobs_waiting
FROM ops.paused_queues
ORDER BY paused_at;
