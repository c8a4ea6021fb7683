-- R-PUSH-1: every commit that adds to the change log notifies the channel
-- `crmsync_changes`, so schedulers in other processes wake at once instead
-- of at their next poll. NOTIFY is delivered at commit (and not at all on
-- rollback); one notification per statement is enough, since listeners only
-- take it as "read the change log now". (Numbered 0014: this branch's number.)
CREATE FUNCTION crmsync_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crmsync_changes', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION crmsync_notify_change();
