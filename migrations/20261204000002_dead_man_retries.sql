-- A dead-man's switch stays in place after it fires until every cancel is confirmed: a fired
-- switch has `fired_at_us` set and `deadline_us` moved to its next retry; `attempts` counts
-- the tries. A heartbeat re-arms it (both reset); the row goes only when the cancels succeed.
ALTER TABLE dead_man_switches ADD COLUMN fired_at_us BIGINT;
ALTER TABLE dead_man_switches ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
