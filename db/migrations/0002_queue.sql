-- The line: accepted jobs wait here (status 'queued') until a provider slot is free, handed out in fair
-- order (db/sql/queue.py). Portable SQL, like 0001.

-- Arrival and claim order share one counter (provider_slots.last_ticket), so "who waited longest" is a
-- comparison of tickets, never of clocks.
ALTER TABLE jobs ADD COLUMN line_ticket BIGINT;            -- its place in the arrival order
ALTER TABLE jobs ADD COLUMN claim_ticket BIGINT;           -- when it last left the line
ALTER TABLE jobs ADD COLUMN claimed_at DOUBLE PRECISION;   -- when it left the line for the provider

-- The waiting jobs in arrival order, a member's latest claim, and the most recent generation times.
CREATE INDEX jobs_in_line ON jobs (status, line_ticket);
CREATE INDEX jobs_by_member_claim ON jobs (user_id, guild_id, claim_ticket);
CREATE INDEX jobs_by_finish ON jobs (finished_at);

-- The provider's slots: one row. Running jobs are counted from `jobs`; this keeps what cannot be counted.
CREATE TABLE provider_slots (
    id             INTEGER PRIMARY KEY,        -- always 1
    working_limit  INTEGER,                    -- NULL: PROVIDER_MAX_CONCURRENCY; lowered after "full"
    changed_at     DOUBLE PRECISION,           -- when the working limit last moved
    held_until     DOUBLE PRECISION,           -- no claims before this ("full" with nothing running)
    last_ticket    BIGINT NOT NULL DEFAULT 0   -- the line's counter
);
INSERT INTO provider_slots (id, last_ticket) VALUES (1, 0);
