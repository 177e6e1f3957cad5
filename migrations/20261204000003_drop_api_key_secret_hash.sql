-- The SHA-256 of each API key's secret was written and never read: the encrypted secret
-- (AES-GCM, authenticated) is what signatures are checked with, and a wrong master key
-- already fails to decrypt it. A hash of a secret is one more thing to leak; it goes.
ALTER TABLE api_keys DROP COLUMN secret_hash;
