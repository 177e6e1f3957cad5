-- Flash markets: short-lived markets on the flash-bets program, opened by an operator through
-- the API, put on chain and settled by the keepers. The API writes a market's terms once
-- (status `pending`); the keepers record what they send (signatures) and chain-sync what the
-- chain says (status, totals, winner), never moving a row back to an older slot.
CREATE TABLE flash_markets (
    id                  TEXT PRIMARY KEY,        -- UUIDv7, the API's id
    market_id           TEXT NOT NULL UNIQUE,    -- the 32-byte on-chain id, hex (first byte zero)
    address             TEXT NOT NULL UNIQUE,    -- the market's PDA, base58
    symbol              TEXT NOT NULL,           -- the price feed's asset id (e.g. `bitcoin`)
    rule_kind           TEXT NOT NULL,           -- threshold | twap | buckets
    rule_params         TEXT NOT NULL,           -- strike or edges, micro-units, comma-separated
    outcome_count       BIGINT NOT NULL,
    circuit_id          BIGINT NOT NULL,
    ticks               BIGINT NOT NULL,
    tick_interval_s     BIGINT NOT NULL,
    oracle              TEXT,                    -- the oracle's address, set when created on chain
    created_at_us       BIGINT NOT NULL,
    lock_at_us          BIGINT NOT NULL,         -- betting closes; the ticks are observed after it
    deadline_at_us      BIGINT NOT NULL,         -- resolve by then, or anyone may void
    status              TEXT NOT NULL,           -- pending | open | locked | resolved | voided
    commitment          TEXT,                    -- hex, once locked
    salt_sealed         TEXT,                    -- the commitment's salt, AES-GCM under the master key
    winning_outcome     BIGINT,
    totals              TEXT NOT NULL,           -- micro-units per outcome, comma-separated
    create_signature    TEXT,
    lock_signature      TEXT,
    resolve_signature   TEXT,
    void_signature      TEXT,
    slot                BIGINT NOT NULL,         -- the slot chain-sync last saw the account at
    created_by          TEXT NOT NULL            -- the operator's user id
);
CREATE INDEX flash_markets_by_status ON flash_markets (status, id);

-- Bets as the chain holds them: one position per wallet and outcome.
CREATE TABLE flash_positions (
    market_id           TEXT NOT NULL,           -- flash_markets.id
    wallet              TEXT NOT NULL,           -- base58
    outcome             BIGINT NOT NULL,
    amount              BIGINT NOT NULL,         -- micro-units
    claimed             BIGINT NOT NULL,         -- 0/1
    address             TEXT NOT NULL,           -- the position's PDA
    slot                BIGINT NOT NULL,
    PRIMARY KEY (market_id, wallet, outcome)
);

-- The oracle's observations. Possibly licensed data: operators only, never public.
CREATE TABLE flash_ticks (
    market_id           TEXT NOT NULL,           -- flash_markets.id
    idx                 BIGINT NOT NULL,         -- 0-based, in observation order
    price               BIGINT NOT NULL,         -- micro-units
    source              TEXT NOT NULL,           -- the feed's name (`simulated` in dev)
    received_at_us      BIGINT NOT NULL,
    PRIMARY KEY (market_id, idx)
);
