-- R-PAIR-2, R-OPS-16: the records and items of a duplicates group someone
-- chose to keep apart. First-sync matching leaves them out, so they are
-- never reported again; each is synced on its own.
-- (Numbered 0010 to leave room for another branch's 0009.)
CREATE TABLE sync_kept_apart (
    profile TEXT NOT NULL,
    collection TEXT NOT NULL,
    -- `crm` (a CRM record id) or `groupware` (an item's href).
    side TEXT NOT NULL,
    member TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (profile, collection, side, member)
);
