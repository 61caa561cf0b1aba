-- Server-side web sessions (spec §5). The browser holds only a random 256-bit id; this table keeps
-- SHA-256 of it (`id_hash`), never the id itself. The IdP's tokens are stored encrypted by the app
-- (AES-256-GCM, the session hash as associated data), so this table holds no usable credential.
-- Timestamps are INTEGER microseconds since the Unix epoch, as in 0001.

CREATE TABLE sessions (
    id_hash                 BLOB    PRIMARY KEY NOT NULL CHECK (length(id_hash) = 32),
    user_id                 BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject                 TEXT    NOT NULL,
    idp_sid                 TEXT,
    access_token            BLOB    NOT NULL,
    refresh_token           BLOB,
    id_token                BLOB,
    access_token_expires_at INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    last_seen_at            INTEGER NOT NULL,
    idle_timeout_secs       INTEGER NOT NULL CHECK (idle_timeout_secs > 0),
    expires_at              INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Sweeping expired sessions and counting live ones.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_user_id ON sessions (user_id);
