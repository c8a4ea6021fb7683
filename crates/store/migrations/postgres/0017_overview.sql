-- R-WEB-3-ONE-QUERY: the dashboard's home page reads every profile's figures
-- in one statement. Each duplicates report keeps how many groups it holds, so
-- the count needs no JSON parsing in SQL, and removed-by-user pairs are found
-- by profile and state without scanning all of a profile's pairs.
-- (Numbered 0017: this branch's number.)
ALTER TABLE sync_duplicates ADD COLUMN group_count BIGINT NOT NULL DEFAULT 0;
UPDATE sync_duplicates SET group_count = json_array_length(report::json);
CREATE INDEX sync_pairs_state ON sync_pairs (profile, state);
-- R-WEB-8: a run's report is its history rows, read by run.
CREATE INDEX sync_history_run ON sync_history (run_id);
