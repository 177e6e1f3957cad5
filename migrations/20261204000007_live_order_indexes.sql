-- Live orders are a few among many: without these, listing a user's open orders, cancel-all and
-- the venue-wide live scans walk every order ever placed, and slow down as the table grows (the
-- soak showed `GET /v1/orders?open=true` going from under 1 ms to 14 ms over 54,000 orders on
-- SQLite). Partial indexes hold only the live rows; both databases use them for queries whose
-- WHERE repeats the same `status IN (...)` list (`LIVE_STATUSES` in platform/src/storage/orders.rs).
CREATE INDEX orders_live_user_idx ON orders (user_id, id) WHERE status IN ('pending', 'open', 'partially_filled');
CREATE INDEX orders_live_venue_idx ON orders (venue, priority) WHERE status IN ('pending', 'open', 'partially_filled');
