-- User names are unique, ignoring case and surrounding blanks (R-API-16):
-- profiles name their user by name, and two users of one name made a
-- profile bind to whichever came first. `name_key` is the folded name.
-- A database from before may already hold such twins: every one but the
-- oldest gets its id appended to the key (the name itself is untouched), so
-- this migration never fails on existing data; renaming such a user later
-- gives it a key of its own.
UPDATE users SET name_key = name_key || ' #' || id
WHERE name_key IS NOT NULL AND EXISTS (
    SELECT 1 FROM users older
    WHERE older.name_key = users.name_key
      AND (older.created_at < users.created_at OR (older.created_at = users.created_at AND older.id < users.id))
);
CREATE UNIQUE INDEX users_name_key ON users (name_key);
