-- Rows `preflight` writes and reads back to prove the database takes writes (a reachable but
-- read-only replica, a full disk or a revoked grant would pass a SELECT 1). Each row is deleted
-- by the check that wrote it; a row left behind names the process that was interrupted.
CREATE TABLE preflight_writes (
    id              TEXT PRIMARY KEY,
    written_at_us   BIGINT NOT NULL,
    writer          TEXT NOT NULL            -- host/pid of the preflight run
);
