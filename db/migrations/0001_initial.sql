-- The initial schema. Portable SQL: it runs on SQLite today and is meant to run on PostgreSQL too
-- (times are Unix seconds as DOUBLE PRECISION, booleans are 0/1 integers, ids are text or BIGINT).

-- One row per video a member asked for, from acceptance to delivery.
CREATE TABLE jobs (
    id                      TEXT PRIMARY KEY,          -- the public job id members see and type
    guild_id                BIGINT,                    -- NULL in DMs
    channel_id              BIGINT NOT NULL,
    user_id                 BIGINT NOT NULL,
    kind                    TEXT NOT NULL,             -- motion | text2video | image2video | extend
    params                  TEXT NOT NULL,             -- JSON of the request options
    parent_job_id           TEXT,                      -- the job this one extends or re-runs
    provider                TEXT NOT NULL,
    provider_task_id        TEXT,
    callback_token          TEXT NOT NULL UNIQUE,      -- authenticates POST /callbacks/{token}
    input_token             TEXT UNIQUE,               -- serves the job's inputs to the provider
    status                  TEXT NOT NULL,             -- pending | submitted | succeeded | delivered | failed
    provider_status         TEXT,                      -- the provider's own last word, for /job
    progress_stage          TEXT NOT NULL DEFAULT 'queued',
    result_url              TEXT,
    result_video_id         TEXT,
    result_duration         DOUBLE PRECISION,
    error_category          TEXT,
    error_message           TEXT,
    credits                 INTEGER NOT NULL DEFAULT 0,
    settlement              TEXT NOT NULL DEFAULT 'reserved', -- reserved | charged | refunded
    interaction_token       TEXT,
    interaction_expires_at  DOUBLE PRECISION,
    application_id          BIGINT,
    progress_message_id     BIGINT,
    delivery_nonce          TEXT,
    delivery_attempts       INTEGER NOT NULL DEFAULT 0,
    delivered_message_id    BIGINT,
    delivered_channel_id    BIGINT,
    delivered_via           TEXT,                      -- interaction | channel | dm | none
    delivery_note           TEXT,
    submit_attempts         INTEGER NOT NULL DEFAULT 0,
    poll_attempts           INTEGER NOT NULL DEFAULT 0,
    next_poll_at            DOUBLE PRECISION,
    callback_count          INTEGER NOT NULL DEFAULT 0,
    created_at              DOUBLE PRECISION NOT NULL,
    submitted_at            DOUBLE PRECISION,
    finished_at             DOUBLE PRECISION,
    delivered_at            DOUBLE PRECISION,
    updated_at              DOUBLE PRECISION NOT NULL
);
CREATE INDEX jobs_by_status ON jobs (status, next_poll_at);
CREATE INDEX jobs_by_user ON jobs (guild_id, user_id, created_at);
CREATE INDEX jobs_by_task ON jobs (provider, provider_task_id);

-- Callbacks are written here before the listener answers 200, then processed off the request path.
CREATE TABLE callback_inbox (
    id            INTEGER PRIMARY KEY,
    job_id        TEXT NOT NULL REFERENCES jobs (id),
    body          TEXT NOT NULL,
    received_at   DOUBLE PRECISION NOT NULL,
    processed_at  DOUBLE PRECISION
);
CREATE INDEX callback_inbox_pending ON callback_inbox (processed_at, id);

-- Per-server settings. One row per server that changed anything.
CREATE TABLE guild_settings (
    guild_id        BIGINT PRIMARY KEY,
    paused          INTEGER NOT NULL DEFAULT 0,
    pause_reason    TEXT,
    log_channel_id  BIGINT,
    mod_role_id     BIGINT,
    updated_at      DOUBLE PRECISION NOT NULL
);

CREATE TABLE allowed_channels (
    guild_id    BIGINT NOT NULL,
    channel_id  BIGINT NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

CREATE TABLE blocklist (
    guild_id  BIGINT NOT NULL,
    term      TEXT NOT NULL,
    PRIMARY KEY (guild_id, term)
);

-- Quota limits: scope 'guild' (target 0), 'role' or 'user'. credits NULL means unlimited.
CREATE TABLE quota_limits (
    guild_id    BIGINT NOT NULL,
    scope       TEXT NOT NULL,
    target_id   BIGINT NOT NULL,
    credits     INTEGER,
    period      TEXT NOT NULL,          -- day | week | month
    updated_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, scope, target_id)
);

-- The usage ledger: one row per job's credits; its state follows the job's settlement.
CREATE TABLE credit_ledger (
    job_id      TEXT PRIMARY KEY REFERENCES jobs (id),
    guild_id    BIGINT,
    user_id     BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    credits     INTEGER NOT NULL,
    state       TEXT NOT NULL,          -- reserved | charged | refunded
    created_at  DOUBLE PRECISION NOT NULL,
    settled_at  DOUBLE PRECISION
);
CREATE INDEX credit_ledger_by_user ON credit_ledger (guild_id, user_id, created_at);

-- "/kling-admin quota reset" forgives what a member spent before this moment in the current period.
CREATE TABLE quota_resets (
    guild_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    reset_at    DOUBLE PRECISION NOT NULL,
    actor_id    BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id, reset_at)
);

-- Every admin change and job event, also posted to the server's log channel when one is set.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    guild_id    BIGINT,
    actor_id    BIGINT,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    job_id      TEXT,
    created_at  DOUBLE PRECISION NOT NULL,
    posted_at   DOUBLE PRECISION
);
CREATE INDEX audit_log_unposted ON audit_log (posted_at, id);
