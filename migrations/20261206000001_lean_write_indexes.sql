-- Every index is written by every order the paper venue's one writer saves, inside the batch
-- transaction whose length bounds the order rate (README, "What bounds the paper order rate").
-- These served no query or more rows than their queries read:
-- * orders_status_idx: no query leads with the status any more (the live scans use the partial
--   indexes of 20261204000007);
-- * orders_client_order_id_idx: the idempotency check looks pairs up on the unique
--   (user_id, client_order_id) key instead;
-- * orders_market_status_idx held every order ever placed, where its queries (a market's live
--   orders in book priority, the markets with live orders) read only live ones;
-- * orders_group_idx held a NULL for every order outside a group, which no query looks up;
-- * ledger_entries_transfer_idx: no query finds entries by their transfer.
DROP INDEX orders_status_idx;
DROP INDEX orders_client_order_id_idx;
DROP INDEX orders_market_status_idx;
DROP INDEX orders_group_idx;
DROP INDEX ledger_entries_transfer_idx;
CREATE INDEX orders_live_market_idx ON orders (market_id, priority) WHERE status IN ('pending', 'open', 'partially_filled');
CREATE INDEX orders_grouped_idx ON orders (order_group_id) WHERE order_group_id IS NOT NULL;
