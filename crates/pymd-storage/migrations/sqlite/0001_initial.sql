-- PyMD initial schema (SQLite). Timestamps are INTEGER microseconds since the Unix epoch (UTC),
-- the precision the domain keeps and PostgreSQL's timestamptz stores, so both back ends return
-- identical values. UUIDs are 16-byte BLOBs: byte order equals UUID order, as in PostgreSQL.

CREATE TABLE users (
    id             BLOB    PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    auth0_id       TEXT    NOT NULL UNIQUE,
    email          TEXT,
    name           TEXT,
    picture        TEXT,
    bio            TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE documents (
    id         BLOB    PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    owner_id   BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT    NOT NULL,
    content    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
) STRICT;

-- Listing a user's documents newest first is a keyset range scan on this index.
CREATE INDEX documents_owner_created_id ON documents (owner_id, created_at DESC, id DESC);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    subject    TEXT,
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    detail     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;

CREATE INDEX audit_events_subject_id ON audit_events (subject, id);
CREATE INDEX audit_events_event_id ON audit_events (event, id);

-- The audit trail is append-only: rows can be added, never changed or removed.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
