-- crmsync CRM store, PostgreSQL. Kept column-for-column in step with
-- ../sqlite/0001_crm.sql: the store runs the same SQL on both backends.
-- Times are unix milliseconds (BIGINT); flags are 0/1 BIGINT; record fields
-- are JSON text in `data`, with the columns queries need copied out of it.

-- The change log's sequence lives in one counter row. Every write transaction
-- bumps it as its last statement, so appends are serialized and numbers are
-- handed out in commit order without gaps.
CREATE TABLE change_counter (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL
);
INSERT INTO change_counter (id, last_seq) VALUES (1, 0);

CREATE TABLE changes (
    seq BIGINT PRIMARY KEY,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    op TEXT NOT NULL,
    version BIGINT NOT NULL,
    owner_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX changes_record ON changes (entity, record_id);

-- The five entity tables share one shape so one generic code path serves them.
-- users.owner_id has no foreign key: a user may own itself (create_user).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    shared BIGINT NOT NULL DEFAULT 0,
    name_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX users_modified ON users (modified_at, id);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    shared BIGINT NOT NULL DEFAULT 0,
    name_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX accounts_modified ON accounts (modified_at, id);
CREATE INDEX accounts_owner ON accounts (owner_id);
CREATE INDEX accounts_name ON accounts (name_key);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    shared BIGINT NOT NULL DEFAULT 0,
    name_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX contacts_modified ON contacts (modified_at, id);
CREATE INDEX contacts_owner ON contacts (owner_id);

CREATE TABLE leads (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    shared BIGINT NOT NULL DEFAULT 0,
    name_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX leads_modified ON leads (modified_at, id);
CREATE INDEX leads_owner ON leads (owner_id);

CREATE TABLE activities (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    shared BIGINT NOT NULL DEFAULT 0,
    name_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX activities_modified ON activities (modified_at, id);
CREATE INDEX activities_owner ON activities (owner_id);

-- Lower-cased e-mail addresses of users, contacts and leads, for
-- case-insensitive lookups by address (pairing, attendee matching).
CREATE TABLE record_emails (
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (entity, record_id, email)
);
CREATE INDEX record_emails_email ON record_emails (email, entity);

-- Copied out of the activity JSON in the same transaction, so that "owner or
-- invited participant" (R-FILTER-1) is one indexed query.
CREATE TABLE activity_participants (
    activity_id TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    party_id TEXT,
    email TEXT,
    role TEXT NOT NULL,
    invite BIGINT NOT NULL,
    PRIMARY KEY (activity_id, position)
);
CREATE INDEX activity_participants_party ON activity_participants (party_id, kind);

-- Only the SHA-256 of a token is kept; one token per user.
CREATE TABLE api_tokens (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE journal_entries (
    ordinal BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    text TEXT NOT NULL,
    system BIGINT NOT NULL,
    author_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX journal_entries_record ON journal_entries (entity, record_id);

-- R-FILTER-1: contacts a user flagged *synchronize*.
CREATE TABLE contact_sync_flags (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, contact_id)
);
CREATE INDEX contact_sync_flags_contact ON contact_sync_flags (contact_id);

-- What a deleted record was, until every profile's cursor has passed `seq`
-- (the delete's change-log number).
CREATE TABLE tombstones (
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    deleted_at BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (entity, record_id)
);
CREATE INDEX tombstones_seq ON tombstones (seq);
