-- R-SCHED-4: a fencing token per profile lease. Every claim of a profile
-- (by the scheduler or for a run by hand) bumps it, and a leased run's
-- writes commit only while the token is the one its claim returned, so a
-- worker that paused past its lease can no longer write for the profile.
-- (Numbered 0008 to leave room for other branches' 0006/0007.)
ALTER TABLE sync_profiles ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
