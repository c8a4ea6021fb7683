-- R-WEB-13: the admin's metrics read the runs of the last 24 hours of every
-- profile, and run-report expiry (R-WEB-11) finds old finished runs, by
-- time rather than by profile. (Numbered 0019: this branch's number.)
CREATE INDEX sync_runs_started ON sync_runs (started_at);
