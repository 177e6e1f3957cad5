-- Actions one operator may not take alone: a large credit, any credit to oneself, a promotion
-- to operator or admin. The proposer's request waits here for the other approvals; it is
-- applied in the transaction that closes it (only while still open), or it expires.
CREATE TABLE approval_requests (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,           -- credit | set_role
    payload         TEXT NOT NULL,           -- the action, JSON
    proposed_by     TEXT NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL,           -- open | applied | expired
    created_at_us   BIGINT NOT NULL,
    expires_at_us   BIGINT NOT NULL,
    applied_at_us   BIGINT
);
CREATE INDEX approval_requests_status_idx ON approval_requests (status, id);

CREATE TABLE approval_votes (
    request_id      TEXT NOT NULL REFERENCES approval_requests (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    approved_at_us  BIGINT NOT NULL,
    PRIMARY KEY (request_id, user_id)
);
