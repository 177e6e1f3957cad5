-- External venues report by their own ids: orders are found by the venue's id, and a trade
-- reported again (as it settles) must never add a second fill for the same order.
CREATE INDEX orders_venue_order_id_idx ON orders (venue, venue_order_id);
CREATE UNIQUE INDEX fills_trade_order_idx ON fills (trade_id, order_id);
