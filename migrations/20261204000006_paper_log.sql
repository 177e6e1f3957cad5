-- The paper venue's durable order log: one row per batch the sequencer committed, written in
-- that batch's transaction, with everything `kairos-api replay` needs to derive the same books,
-- fills and ledger movements with the same matching code: the requests as applied (and whether
-- each was accepted), the time the sequencer used, the fee and limit settings in force, and what
-- the batch read from the database (balances, client order ids already taken, order groups).
CREATE TABLE paper_log (
    batch           BIGINT PRIMARY KEY,      -- the ledger lock's count as the batch took it: commit order across instances
    at_us           BIGINT NOT NULL,         -- the sequencer's time for the batch
    instance        TEXT NOT NULL,
    record          TEXT NOT NULL            -- JSON, kairos_venues::paper::log::Record
);
