-- Access: wallet sign-in challenges, refresh-token families, API key secrets encrypted at rest,
-- and the M-of-N kill-switch proposals. Portable SQL, as in the first migration.

CREATE TABLE auth_challenges (
    nonce           TEXT PRIMARY KEY,
    wallet          TEXT NOT NULL,
    message         TEXT NOT NULL,           -- the exact text the wallet signs
    created_at_us   BIGINT NOT NULL,
    expires_at_us   BIGINT NOT NULL,
    used_at_us      BIGINT                   -- set once: a nonce signs in at most once
);

CREATE TABLE refresh_tokens (
    id              TEXT PRIMARY KEY,
    family_id       TEXT NOT NULL,           -- every rotation of one login shares it
    user_id         TEXT NOT NULL REFERENCES users (id),
    token_hash      TEXT NOT NULL UNIQUE,    -- SHA-256 of the token; the token itself is never stored
    created_at_us   BIGINT NOT NULL,
    expires_at_us   BIGINT NOT NULL,
    rotated_at_us   BIGINT,
    revoked_at_us   BIGINT
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- base64(nonce || AES-256-GCM ciphertext) of the key's secret under KAIROS_MASTER_KEY: the
-- server needs the secret to check HMAC signatures, so a hash alone cannot serve.
ALTER TABLE api_keys ADD COLUMN secret_ciphertext TEXT;

CREATE TABLE kill_switch_proposals (
    id              TEXT PRIMARY KEY,
    state           TEXT NOT NULL,           -- enabled | cancel_only | disabled
    proposed_by     TEXT NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL,           -- open | applied | expired
    created_at_us   BIGINT NOT NULL,
    expires_at_us   BIGINT NOT NULL,
    applied_at_us   BIGINT
);
CREATE INDEX kill_switch_proposals_status_idx ON kill_switch_proposals (status, id);

CREATE TABLE kill_switch_approvals (
    proposal_id     TEXT NOT NULL REFERENCES kill_switch_proposals (id),
    operator_id     TEXT NOT NULL REFERENCES users (id),
    approved_at_us  BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, operator_id)
);
