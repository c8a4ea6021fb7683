-- The groupware collection each profile's class was last synced with, so a
-- run that knows its collections skips discovery (R-SYNC-PERF-3). Reset
-- forgets it with the cursors; a collection reported gone is re-discovered.
CREATE TABLE sync_collections (
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    -- The connector's description of the collection (JSON).
    found TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (profile, collection)
);
