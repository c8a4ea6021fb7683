-- R-SCALE-14: kept in step with ../postgres/0024_per_run_indexes.sql. The
-- scheduler's claim (`Catalog::claim_due_profiles`) takes the due profiles
-- in (next_run_at, name) order, a few at a time. With the old index on
-- (enabled, next_run_at) alone SQLite put every due row of one due time in
-- a temporary B-tree to order them by name, for each claim: all profiles
-- due at once cost a sort of all of them per claim. With the name in the
-- index the rows come out in claim order and the claim stops after the few
-- it takes. This index has the old one as its prefix, so the old one goes.
CREATE INDEX sync_profiles_claim ON sync_profiles (enabled, next_run_at, name);
DROP INDEX sync_profiles_due;
-- R-SCALE-15: every run closes the earlier runs of its profile left
-- `running` by a dead worker (`SyncState::close_dead_runs`). By
-- (profile, started_at) that read every run report the profile kept (about
-- 2,900 at a 15-minute interval and 30 days' reports), each run. Only runs
-- still running are in this index: normally one per running profile.
CREATE INDEX sync_runs_running ON sync_runs (profile) WHERE outcome = 'running';
