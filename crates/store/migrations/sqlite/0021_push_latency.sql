-- R-WEB-20: push latency. A profile keeps the earliest push notice (a CRM
-- change the scheduler read, a groupware notification) no run has taken
-- yet (`woken_at`, the scheduler's clock, ms); a claim moves it to
-- `run_woken_at`, the notice the claimed run serves, in the same UPDATE
-- (the SET sees the row's old values), and the run's row gets the time from
-- that notice to its end (`push_latency_ms`). Runs not woken by push: NULL.
ALTER TABLE sync_profiles ADD COLUMN woken_at BIGINT;
ALTER TABLE sync_profiles ADD COLUMN run_woken_at BIGINT;
ALTER TABLE sync_runs ADD COLUMN push_latency_ms BIGINT;
-- R-WEB-21: the server's run feed reads the runs finished since it last
-- looked, by end time.
CREATE INDEX sync_runs_finished ON sync_runs (finished_at);
