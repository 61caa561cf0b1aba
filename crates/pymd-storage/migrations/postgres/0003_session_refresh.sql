-- Access-token refresh of web sessions (spec §5): exactly one refresh per session, across app
-- instances. `refresh_lock_until` is a lease: whoever sets it (with a conditional UPDATE that
-- succeeds only while it is NULL or in the past) exchanges the refresh token; the others wait
-- for the row's tokens to change. A lease left by a crashed instance simply runs out.
-- NULL when nobody holds it.

ALTER TABLE sessions ADD COLUMN refresh_lock_until timestamptz;
