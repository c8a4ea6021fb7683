-- crmsync server mode, PostgreSQL. Kept in step with ../sqlite/0003_service.sql.
-- Sync profiles managed by the service: the definition (from the config file
-- or the API), the schedule, and the row lease a worker holds while it runs
-- the profile (R-SCHED-3). Times are unix milliseconds, flags 0/1.
CREATE TABLE sync_profiles (
    name TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'config' (the file wins at every start) or 'api'.
    source TEXT NOT NULL,
    connector_kind TEXT NOT NULL,
    -- JSON of the connector settings without their secret part.
    connector_settings TEXT NOT NULL,
    -- The secret settings as JSON, sealed with the [security] key (AEAD);
    -- NULL when the connector has none.
    connector_secret TEXT,
    -- The engine's rules as JSON (without the user, which is user_id).
    rules TEXT NOT NULL,
    pull_interval_secs BIGINT NOT NULL,
    push BIGINT NOT NULL,
    enabled BIGINT NOT NULL,
    -- 'ok' or 'failing' (with the reason), and failures in a row.
    state TEXT NOT NULL,
    state_reason TEXT,
    failures BIGINT NOT NULL,
    next_run_at BIGINT NOT NULL,
    last_run_at BIGINT,
    -- 1 when a CRM change or a push notification arrived since the run
    -- started, so the run's end schedules the next one at once.
    pending_trigger BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sync_profiles_due ON sync_profiles (enabled, next_run_at);
CREATE INDEX sync_profiles_user ON sync_profiles (user_id);
-- Which profiles hold a record (trigger lookups, R-SCHED-2).
CREATE INDEX sync_pairs_crm ON sync_pairs (crm_id);
