-- R-GRAPH-32: the refresh token of a profile's delegated Microsoft Graph
-- sign-in (device code), sealed by the service like the profile's other
-- credentials (never in plain text). `version` moves on with every write,
-- so a worker replaces only the token it refreshed with, never a newer
-- one another worker stored meanwhile. (Numbered 0023: this branch's number.)
CREATE TABLE graph_sign_ins (
    profile TEXT PRIMARY KEY,
    sealed_token TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
