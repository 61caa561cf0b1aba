-- The source plan's SPA token API (POST /api/v1/auth/authorize, /callback, /refresh).
-- `spa_transactions`: a sign-in a browser app started, kept until its callback spends it (one
-- use, ten minutes); the `state` is kept as its SHA-256 only.
-- `spa_grant_tokens`: every refresh token a browser app's grant has had, as SHA-256 only, so that
-- a refresh is counted against its user's limit before the IdP is asked, and a reused (already
-- rotated) token still reaches the IdP, which revokes the family.

CREATE TABLE spa_transactions (
    state_hash     bytea       PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    nonce          text        NOT NULL,
    code_challenge text        NOT NULL,
    redirect_uri   text        NOT NULL,
    return_to      text        NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL
);

CREATE INDEX spa_transactions_expires_at ON spa_transactions (expires_at);

CREATE TABLE spa_grant_tokens (
    token_hash bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    grant_id   uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject    text        NOT NULL,
    idp_sid    text,
    created_at timestamptz NOT NULL
);

CREATE INDEX spa_grant_tokens_grant_id ON spa_grant_tokens (grant_id);
CREATE INDEX spa_grant_tokens_subject ON spa_grant_tokens (subject);
