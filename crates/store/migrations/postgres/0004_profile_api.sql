-- crmsync profiles API (postgres). Kept in step with ../sqlite/0004_profile_api.sql.
-- version: bumped whenever the definition changes, the profile's ETag (If-Match on PUT).
ALTER TABLE sync_profiles ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- SHA-256 (hex) of the profile's push token, the secret in the webhook URL a
-- groupware server calls (R-SCHED-2); NULL until one is issued. Never the token itself.
ALTER TABLE sync_profiles ADD COLUMN push_token_hash TEXT;
CREATE UNIQUE INDEX sync_profiles_push_token ON sync_profiles (push_token_hash);
