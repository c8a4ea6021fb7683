-- R-SCHED-2: the change notification subscriptions the scheduler holds on a
-- profile's groupware server (Microsoft Graph), one per synced collection.
-- The push URL's token and the clientState are secrets: only their SHA-256
-- hashes are kept, enough to check what arrives. A row without
-- subscription_id is being created (or its creation failed or was lost):
-- the next pass creates it again. (Numbered 0016: this branch's number.)
CREATE TABLE push_subscriptions (
    profile TEXT NOT NULL,
    -- The connector's collection id.
    collection TEXT NOT NULL,
    -- Hex SHA-256 of the token in the notification URL's path.
    url_token_hash TEXT NOT NULL UNIQUE,
    -- Hex SHA-256 of the clientState the server echoes in each notification.
    client_state_hash TEXT NOT NULL,
    subscription_id TEXT,
    expires_at BIGINT,
    -- When to renew: before expires_at, or at once after the server asked.
    renew_at BIGINT,
    PRIMARY KEY (profile, collection)
);
