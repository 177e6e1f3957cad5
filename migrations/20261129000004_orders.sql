-- Orders, fills and what keeps them safe, rebuilt before their first use (no code wrote the
-- first versions). Positions are not a table: a position is the user's share balance in the
-- ledger (asset `shares:<market>:<outcome>`), so it can never disagree with the money.

DROP TABLE positions;
DROP TABLE fills;
DROP TABLE orders;

CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    client_order_id TEXT NOT NULL,           -- the caller's id, or the order id when none was given
    request_hash    TEXT NOT NULL,           -- digest of the parameters: a replay matches it, a reuse does not
    market_id       TEXT NOT NULL REFERENCES markets (id),
    outcome         BIGINT NOT NULL,
    side            TEXT NOT NULL,           -- buy | sell
    order_type      TEXT NOT NULL,           -- limit | market
    time_in_force   TEXT NOT NULL,           -- gtc | gtd | ioc | fok
    post_only       BIGINT NOT NULL,         -- 0 | 1
    stp             TEXT NOT NULL,           -- cancel_newest | cancel_oldest | cancel_both
    price_micros    BIGINT NOT NULL,         -- limit (worst acceptable for market orders)
    size_micros     BIGINT NOT NULL,
    filled_micros   BIGINT NOT NULL,
    reserved_micros BIGINT NOT NULL,         -- collateral (buys) or shares (sells) still held for it
    fees_micros     BIGINT NOT NULL,
    status          TEXT NOT NULL,           -- pending | open | partially_filled | filled | cancelled | expired | rejected
    reason          TEXT,                    -- why it was rejected or cancelled
    venue           TEXT NOT NULL,
    venue_order_id  TEXT,
    expires_at_us   BIGINT,
    priority        BIGINT NOT NULL,         -- time priority in its book; rebuilt books follow it
    created_at_us   BIGINT NOT NULL,
    updated_at_us   BIGINT NOT NULL,
    CONSTRAINT orders_user_client_order_id_key UNIQUE (user_id, client_order_id)
);
CREATE INDEX orders_market_status_idx ON orders (market_id, status);
CREATE INDEX orders_user_idx ON orders (user_id, id);
CREATE INDEX orders_status_idx ON orders (status, priority);
-- The idempotency check of a batch looks client order ids up across its users at once.
CREATE INDEX orders_client_order_id_idx ON orders (client_order_id);

CREATE TABLE fills (
    id              TEXT PRIMARY KEY,
    trade_id        TEXT NOT NULL,           -- both sides of one match share it
    order_id        TEXT NOT NULL REFERENCES orders (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    market_id       TEXT NOT NULL REFERENCES markets (id),
    outcome         BIGINT NOT NULL,
    side            TEXT NOT NULL,
    price_micros    BIGINT NOT NULL,         -- in the order's own outcome
    size_micros     BIGINT NOT NULL,
    fee_micros      BIGINT NOT NULL,
    liquidity       TEXT NOT NULL,           -- maker | taker
    finality        TEXT NOT NULL,           -- matched | confirmed | failed
    created_at_us   BIGINT NOT NULL
);
CREATE INDEX fills_order_idx ON fills (order_id);
CREATE INDEX fills_user_idx ON fills (user_id, id);
CREATE INDEX fills_market_idx ON fills (market_id, id);

-- One row every ledger writer updates first: PostgreSQL queues writers on its row lock and
-- SQLite takes its write lock, so the chain's next `seq` and the balances read after it are
-- current and concurrent writers wait instead of failing.
CREATE TABLE ledger_lock (
    id              BIGINT PRIMARY KEY,
    writes          BIGINT NOT NULL
);
INSERT INTO ledger_lock (id, writes) VALUES (1, 0);

-- Dead-man's switches: when `deadline_us` passes without a heartbeat, the user's open orders
-- are cancelled.
CREATE TABLE dead_man_switches (
    user_id         TEXT PRIMARY KEY REFERENCES users (id),
    timeout_ms      BIGINT NOT NULL,
    deadline_us     BIGINT NOT NULL,
    updated_at_us   BIGINT NOT NULL
);

-- Which instance matches a paper market: the holder renews `expires_at_us`; another instance
-- takes a lapsed lease over.
CREATE TABLE market_leases (
    market_id       TEXT PRIMARY KEY REFERENCES markets (id),
    owner           TEXT NOT NULL,           -- instance id
    address         TEXT NOT NULL,           -- where the owner accepts forwarded orders
    expires_at_us   BIGINT NOT NULL
);
