-- Which settlement a venue's market uses. Polymarket's Protocol V2 markets (Gamma `version:
-- "v2"`) trade position ids through ExchangeV3 (order version 3); its CTF markets (`"v1"`)
-- trade token ids through the V2 exchanges. NULL where the venue has no such choice (paper)
-- and for markets imported before this column existed (the order path then tells a V2
-- position id by its shape).
ALTER TABLE markets ADD COLUMN venue_protocol TEXT;
