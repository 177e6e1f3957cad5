-- Market-maker protection: a group of a user's orders that the venue cancels, and freezes, when
-- their fills within a rolling interval go past a limit. The limits never change after
-- creation; the state (frozen, the window's start, trips, deletion) is written by the paper
-- venue's sequencer in the transaction of the batch that changed it.
CREATE TABLE order_groups (
    id                          TEXT PRIMARY KEY,
    user_id                     TEXT NOT NULL REFERENCES users (id),
    created_by                  TEXT NOT NULL,   -- user:<id> | api_key:<id>
    interval_ms                 BIGINT NOT NULL,
    max_filled_size_micros      BIGINT NOT NULL,
    max_filled_notional_micros  BIGINT NOT NULL,
    max_delta_micros            BIGINT,          -- NULL: no delta limit
    freeze_ms                   BIGINT NOT NULL, -- 0: frozen until a reset
    frozen_until_us             BIGINT,          -- NULL or past: active
    window_start_us             BIGINT NOT NULL, -- fills before this count for nothing
    trips                       BIGINT NOT NULL,
    deleted_at_us               BIGINT,
    created_at_us               BIGINT NOT NULL,
    updated_at_us               BIGINT NOT NULL
);
CREATE INDEX order_groups_user_idx ON order_groups (user_id, id);

ALTER TABLE orders ADD COLUMN order_group_id TEXT REFERENCES order_groups (id);
CREATE INDEX orders_group_idx ON orders (order_group_id);
