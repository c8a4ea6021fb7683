-- R-TRACK-3: opportunities and cases, in the shape every entity table has
-- (one generic code path serves them), and the conversions that created
-- records from activities. (Numbered 0015: this branch's number.)
CREATE TABLE opportunities (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    shared BIGINT NOT NULL DEFAULT 0,
    name_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX opportunities_modified ON opportunities (modified_at, id);
CREATE INDEX opportunities_owner ON opportunities (owner_id);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    shared BIGINT NOT NULL DEFAULT 0,
    name_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX cases_modified ON cases (modified_at, id);
CREATE INDEX cases_owner ON cases (owner_id);

-- R-TRACK-3-ONCE: which record a conversion of an activity created, so a
-- retried conversion finds it instead of creating a second one. Written in
-- the transaction that creates the record and links the activity to it.
-- No foreign keys: the row outlives neither side in meaning (a deleted
-- target is no longer "what the activity regards"), and is only read
-- together with both.
CREATE TABLE activity_conversions (
    activity_id TEXT NOT NULL,
    target_entity TEXT NOT NULL,
    target_id TEXT NOT NULL,
    converted_by TEXT NOT NULL,
    converted_at BIGINT NOT NULL,
    PRIMARY KEY (activity_id, target_entity, target_id)
);
