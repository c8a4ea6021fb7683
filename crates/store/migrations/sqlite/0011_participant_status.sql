-- R-CAL-3-STATUS: where each profile stands with the appointments it keeps
-- in its user's calendar (`sent`, `synchronized`). Kept apart from the
-- activity's versioned data on purpose: a status write must neither bump the
-- activity's version (API clients' ETags) nor enter the change log, which
-- would wake every participant's profile again, endlessly.
CREATE TABLE sync_participant_status (
    profile TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    -- The CRM user the profile syncs for: the participant this status is of.
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (profile, activity_id)
);
CREATE INDEX sync_participant_status_activity ON sync_participant_status (activity_id);
