-- Retention: a finished job's input files are removed some time after it finished; the job remembers when,
-- so Re-run and /job can say its inputs have expired.
ALTER TABLE jobs ADD COLUMN inputs_removed_at DOUBLE PRECISION;

-- Finished jobs whose inputs are still kept, oldest first: the retention sweep and the media size cap.
CREATE INDEX jobs_inputs_kept ON jobs (finished_at)
    WHERE inputs_removed_at IS NULL AND finished_at IS NOT NULL;

-- /healthz proves the database takes writes by updating this one row.
CREATE TABLE health_probe (
    id          INTEGER PRIMARY KEY,
    checked_at  DOUBLE PRECISION NOT NULL
);
