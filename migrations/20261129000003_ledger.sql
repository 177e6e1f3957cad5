-- The ledger, rebuilt before its first use (no code wrote the first version): double-entry
-- and hash-chained like the audit log, so a changed, removed or unbalanced row is detectable
-- (`kairos-api ledger verify`), plus a balance per account kept in the same transaction as its
-- entries so reads never sum the whole ledger.

DROP TABLE ledger_entries;

CREATE TABLE ledger_entries (
    seq             BIGINT PRIMARY KEY,      -- gapless order of the chain
    id              TEXT NOT NULL UNIQUE,
    transfer_id     TEXT NOT NULL,           -- the entries of one transfer sum to zero per asset
    account         TEXT NOT NULL,           -- user:<id>:available, user:<id>:reserved, system:deposits, ...
    asset           TEXT NOT NULL,           -- USDC (collateral, micro-units)
    amount_micros   BIGINT NOT NULL,         -- signed: credit positive, debit negative
    kind            TEXT NOT NULL,           -- credit, faucet, reserve, release, trade, fee, settle ...
    reference       TEXT,                    -- what caused it (order id, operator action, request id)
    created_at_us   BIGINT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account, seq);
CREATE INDEX ledger_entries_transfer_idx ON ledger_entries (transfer_id);

CREATE TABLE account_balances (
    account         TEXT NOT NULL,
    asset           TEXT NOT NULL,
    balance_micros  BIGINT NOT NULL,
    updated_at_us   BIGINT NOT NULL,
    PRIMARY KEY (account, asset)
);
