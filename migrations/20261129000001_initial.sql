-- Kairos schema, version 1. ONE migration set for SQLite and PostgreSQL:
-- portable types only (TEXT, BIGINT, BOOLEAN), ids made in the app (UUIDv7 text),
-- money as BIGINT micro-units, times as BIGINT UTC epoch microseconds (`*_us`), flags as
-- BIGINT 0/1 (sqlx's Any driver cannot read SQLite's BOOLEAN).

CREATE TABLE markets (
    id              TEXT PRIMARY KEY,
    venue           TEXT NOT NULL,           -- paper | polymarket
    external_id     TEXT,                    -- the venue's id (Polymarket condition id)
    slug            TEXT NOT NULL,
    question        TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,           -- open | suspended | closed | resolved
    tick_size_micros BIGINT NOT NULL,
    min_size_micros BIGINT NOT NULL,
    end_time_us     BIGINT,
    resolved_outcome BIGINT,
    is_sample       BIGINT NOT NULL DEFAULT 0 CHECK (is_sample IN (0, 1)),
    created_at_us   BIGINT NOT NULL,
    updated_at_us   BIGINT NOT NULL,
    CONSTRAINT markets_venue_external_id_key UNIQUE (venue, external_id)
);
CREATE INDEX markets_status_idx ON markets (status, id);
CREATE INDEX markets_venue_idx ON markets (venue, id);

CREATE TABLE outcomes (
    market_id       TEXT NOT NULL REFERENCES markets (id),
    idx             BIGINT NOT NULL,         -- 0-based position in the market's outcome list
    label           TEXT NOT NULL,
    external_id     TEXT,                    -- the venue's token id
    PRIMARY KEY (market_id, idx)
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    wallet          TEXT NOT NULL UNIQUE,    -- base58 Solana address; no other PII is stored
    role            TEXT NOT NULL,           -- user | market_maker | keeper | operator | admin
    status          TEXT NOT NULL,           -- active | suspended
    created_at_us   BIGINT NOT NULL,
    updated_at_us   BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    label           TEXT NOT NULL,
    secret_hash     TEXT NOT NULL,           -- never the secret itself
    scopes          TEXT NOT NULL,           -- comma-separated: read,trade
    ip_allowlist    TEXT,                    -- comma-separated CIDRs; NULL = any
    created_at_us   BIGINT NOT NULL,
    revoked_at_us   BIGINT
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    client_order_id TEXT NOT NULL,
    market_id       TEXT NOT NULL REFERENCES markets (id),
    outcome         BIGINT NOT NULL,
    side            TEXT NOT NULL,           -- buy | sell
    order_type      TEXT NOT NULL,           -- limit | market
    time_in_force   TEXT NOT NULL,           -- gtc | gtd | ioc | fok
    price_micros    BIGINT NOT NULL,
    size_micros     BIGINT NOT NULL,
    filled_micros   BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,           -- pending | open | partially_filled | filled | cancelled | expired | rejected
    venue           TEXT NOT NULL,
    venue_order_id  TEXT,
    expires_at_us   BIGINT,
    created_at_us   BIGINT NOT NULL,
    updated_at_us   BIGINT NOT NULL,
    CONSTRAINT orders_user_client_order_id_key UNIQUE (user_id, client_order_id)
);
CREATE INDEX orders_market_status_idx ON orders (market_id, status);
CREATE INDEX orders_user_idx ON orders (user_id, id);

CREATE TABLE fills (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES orders (id),
    market_id       TEXT NOT NULL REFERENCES markets (id),
    outcome         BIGINT NOT NULL,
    side            TEXT NOT NULL,
    price_micros    BIGINT NOT NULL,
    size_micros     BIGINT NOT NULL,
    fee_micros      BIGINT NOT NULL,
    liquidity       TEXT NOT NULL,           -- maker | taker
    finality        TEXT NOT NULL,           -- matched | confirmed | failed
    created_at_us   BIGINT NOT NULL
);
CREATE INDEX fills_order_idx ON fills (order_id);

CREATE TABLE positions (
    user_id         TEXT NOT NULL REFERENCES users (id),
    market_id       TEXT NOT NULL REFERENCES markets (id),
    outcome         BIGINT NOT NULL,
    settled_micros  BIGINT NOT NULL DEFAULT 0,
    pending_micros  BIGINT NOT NULL DEFAULT 0,
    updated_at_us   BIGINT NOT NULL,
    PRIMARY KEY (user_id, market_id, outcome)
);

-- Append-only, double-entry: the entries of one transfer (`transfer_id`) sum to zero.
CREATE TABLE ledger_entries (
    id              TEXT PRIMARY KEY,
    transfer_id     TEXT NOT NULL,
    account         TEXT NOT NULL,           -- e.g. user:<id>:available, user:<id>:reserved, venue:paper
    asset           TEXT NOT NULL,
    amount_micros   BIGINT NOT NULL,         -- signed
    kind            TEXT NOT NULL,
    reference       TEXT,
    created_at_us   BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account, id);
CREATE INDEX ledger_entries_transfer_idx ON ledger_entries (transfer_id);

-- Append-only; each row carries the hash of the previous one so a changed or removed row is detectable.
CREATE TABLE audit_log (
    seq             BIGINT PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT,
    request_id      TEXT,
    before_json     TEXT,
    after_json      TEXT,
    created_at_us   BIGINT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);

-- Runtime settings shared by every instance: the `trade_enabled` kill switch and feature flags.
CREATE TABLE settings (
    key             TEXT PRIMARY KEY,
    value           TEXT NOT NULL,
    updated_at_us   BIGINT NOT NULL
);
