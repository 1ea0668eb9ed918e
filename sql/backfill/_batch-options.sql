-- Options every backfill in this folder takes, with their defaults; included with \ir.
--   -v batch=N        jobs per committed batch (default 500)
--   -v max_batches=N  stop after N batches; run the file again to resume (default: run to the end)
\if :{?batch}
\else
  \set batch 500
\endif
\if :{?max_batches}
\else
  \set max_batches NULL
\endif
