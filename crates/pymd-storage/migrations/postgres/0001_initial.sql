-- PyMD initial schema (PostgreSQL). timestamptz keeps microseconds, the precision the domain
-- truncates to, so values read back equal values written (and equal SQLite's).

CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    auth0_id       text        NOT NULL UNIQUE,
    email          text,
    name           text,
    picture        text,
    bio            text,
    email_verified boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE documents (
    id         uuid        PRIMARY KEY,
    owner_id   uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      text        NOT NULL,
    content    text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint      NOT NULL DEFAULT 1 CHECK (version >= 1)
);

-- Listing a user's documents newest first is a keyset range scan on this index.
CREATE INDEX documents_owner_created_id ON documents (owner_id, created_at DESC, id DESC);

CREATE TABLE audit_events (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL,
    event      text        NOT NULL,
    outcome    text        NOT NULL,
    subject    text,
    ip         text,
    user_agent text,
    request_id text,
    detail     jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_events_subject_id ON audit_events (subject, id);
CREATE INDEX audit_events_event_id ON audit_events (event, id);

-- The audit trail is append-only: rows can be added, never changed or removed.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;

CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
