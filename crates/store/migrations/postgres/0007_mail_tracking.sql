-- E-mail tracking (SPEC §10). Kept column-for-column in step between the
-- sqlite and postgres folders.

-- R-TRACK-5: one message is one CRM e-mail. The message's key (normalised
-- Message-ID, else a digest of Date, From, To, Subject and body) is unique,
-- so two profiles tracking the same message at once cannot make two records.
CREATE TABLE email_messages (
    message_key TEXT PRIMARY KEY,
    activity_id TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE
);
CREATE INDEX email_messages_activity ON email_messages (activity_id);

-- Where each mail folder a profile watches stood after its last poll.
CREATE TABLE mail_folders (
    profile TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    -- CONDSTORE's HIGHESTMODSEQ; NULL on a server without CONDSTORE.
    highest_modseq BIGINT,
    uid_next BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (profile, folder)
);

-- Every message a profile tracks or tracked: where it was seen last, which
-- trigger tracked it, and the CRM e-mail it is (R-TRACK-1/4/10).
CREATE TABLE mail_tracked (
    profile TEXT NOT NULL,
    message_key TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    folder TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid BIGINT NOT NULL,
    -- 'folder', 'keyword' or 'reply'.
    trigger_name TEXT NOT NULL,
    -- 'tracked' or 'untracked' (left the folder, lost the keyword, deleted).
    state TEXT NOT NULL,
    -- 1 once $CRMTracked is set on the message (R-TRACK-9).
    marked BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (profile, message_key)
);
CREATE INDEX mail_tracked_uid ON mail_tracked (profile, folder, uid);
