-- Back-channel logout (OpenID Connect Back-Channel Logout 1.0) ends the sessions of an IdP
-- session (`sid`) or of a user (`sub`): both lookups by index, not by scanning every session.

CREATE INDEX sessions_idp_sid ON sessions (idp_sid);
CREATE INDEX sessions_subject ON sessions (subject);
