-- crmsync sync status store, PostgreSQL. Kept in step with ../sqlite/0002_status.sql.
-- One pair links a CRM record and a groupware item for one profile and collection.
CREATE TABLE sync_pairs (
    id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    href TEXT NOT NULL,
    etag TEXT NOT NULL,
    uid TEXT,
    crm_version BIGINT NOT NULL,
    origin TEXT NOT NULL,
    state TEXT NOT NULL,
    base TEXT NOT NULL,
    facts TEXT,
    raw TEXT,
    updated_at BIGINT NOT NULL,
    UNIQUE (profile, collection, href),
    UNIQUE (profile, collection, crm_id)
);

CREATE TABLE sync_cursors (
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    crm_seq BIGINT NOT NULL,
    token TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (profile, collection)
);

CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    outcome TEXT NOT NULL,
    summary TEXT,
    error TEXT
);
CREATE INDEX sync_runs_profile ON sync_runs (profile, started_at);

-- The plan of a run, written before it is applied (R-SAFE-1/2).
CREATE TABLE sync_journal (
    run_id TEXT NOT NULL,
    step BIGINT NOT NULL,
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (run_id, step)
);
CREATE INDEX sync_journal_open ON sync_journal (profile, state);

CREATE TABLE sync_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    crm_id TEXT,
    href TEXT,
    run_id TEXT,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    rule TEXT NOT NULL,
    message TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX sync_history_crm ON sync_history (profile, crm_id);
CREATE INDEX sync_history_href ON sync_history (profile, href);

CREATE TABLE sync_conflicts (
    id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    pair_id TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    href TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolution TEXT
);
CREATE INDEX sync_conflicts_open ON sync_conflicts (profile, resolved_at);

CREATE TABLE sync_quarantine (
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    href TEXT NOT NULL,
    etag TEXT NOT NULL,
    error TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (profile, collection, href)
);

CREATE TABLE sync_duplicates (
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    report TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (profile, collection)
);
