-- The keepers' jobs: each a leased singleton. One process holds a job's lease at a time and
-- renews it while alive; another claims it once it expires (kill -9 hands over within one
-- lease). `fence` grows with every claim: the holder's writes that matter (finishing a run,
-- a job's own effects) name the fence they hold, so a holder that froze and woke up after
-- losing the lease changes nothing.
CREATE TABLE keeper_jobs (
    name                TEXT PRIMARY KEY,
    enabled             BIGINT NOT NULL,         -- 0/1, as the holder's config says
    period_ms           BIGINT NOT NULL,
    next_run_at_us      BIGINT NOT NULL,
    holder              TEXT,                    -- host/pid of the lease holder; NULL when released
    lease_until_us      BIGINT NOT NULL,
    fence               BIGINT NOT NULL,
    attempts            BIGINT NOT NULL,         -- failed runs in a row
    last_error          TEXT,
    last_run_at_us      BIGINT,
    last_success_at_us  BIGINT
);
