-- The CLOB heartbeat of each venue account, kept by the `venue-heartbeat` keeper job and read
-- by every API instance: new orders go to the venue only while the last accepted beat is
-- recent. The id the CLOB expects next is here so a keeper that takes the job over continues
-- the chain of beats instead of starting with a rejected one.
CREATE TABLE venue_heartbeats (
    account         TEXT PRIMARY KEY,   -- venue and a fingerprint of the API key, never the key
    heartbeat_id    TEXT NOT NULL,      -- what the next beat sends ('' before the first)
    alive           BIGINT NOT NULL,    -- 0/1: 0 after a rejected beat or when the deadline is at risk
    accepted_at_us  BIGINT NOT NULL,    -- the last beat the CLOB accepted (0: none yet)
    updated_at_us   BIGINT NOT NULL,
    note            TEXT                -- why it is not alive
);
