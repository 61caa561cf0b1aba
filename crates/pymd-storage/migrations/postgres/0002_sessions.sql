-- Server-side web sessions (spec §5). The browser holds only a random 256-bit id; this table keeps
-- SHA-256 of it (`id_hash`), never the id itself. The IdP's tokens are stored encrypted by the app
-- (AES-256-GCM, the session hash as associated data), so this table holds no usable credential.

CREATE TABLE sessions (
    id_hash                 bytea       PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    user_id                 uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject                 text        NOT NULL,
    idp_sid                 text,
    access_token            bytea       NOT NULL,
    refresh_token           bytea,
    id_token                bytea,
    access_token_expires_at timestamptz NOT NULL,
    created_at              timestamptz NOT NULL,
    last_seen_at            timestamptz NOT NULL,
    idle_timeout_secs       bigint      NOT NULL CHECK (idle_timeout_secs > 0),
    expires_at              timestamptz NOT NULL
);

-- Sweeping expired sessions and counting live ones.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_user_id ON sessions (user_id);
