-- Leases: every piece of background work is claimed by one process (its INSTANCE_ID) until an expiry, so
-- several workers share the work and a process that dies loses its claims when they expire
-- (db/sql/leases.py). Portable SQL, like 0001. (0003 is the retention migration.)

ALTER TABLE jobs ADD COLUMN lease_owner TEXT;                    -- submitting, polling or delivering it
ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION;        -- free again from then on
ALTER TABLE callback_inbox ADD COLUMN lease_owner TEXT;          -- processing the callback
ALTER TABLE callback_inbox ADD COLUMN lease_until DOUBLE PRECISION;
ALTER TABLE audit_log ADD COLUMN lease_owner TEXT;               -- posting the line
ALTER TABLE audit_log ADD COLUMN lease_until DOUBLE PRECISION;

-- Work that runs once across all processes at a time (a retention pass, removing expired results).
CREATE TABLE work_leases (
    name         TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    lease_until  DOUBLE PRECISION NOT NULL
);
