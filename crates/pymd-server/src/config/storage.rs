//! The storage area: the database (`DATABASE_URL`, default a SQLite file in the data directory)
//! and the Redis that shares rate limits between instances (`REDIS_URL`, optional).

use secrecy::{ExposeSecret, SecretString};

use super::reader::Reader;

/// The storage area, as read. Both URLs may carry passwords: they are secrets.
pub(super) struct Storage {
    pub database_url: Option<SecretString>,
    pub redis_url: Option<SecretString>,
}

pub(super) fn read(r: &mut Reader<'_>) -> Storage {
    let database_url = r.secret("DATABASE_URL");
    if let Some(u) = &database_url {
        let u = u.expose_secret();
        if !(u.starts_with("sqlite:")
            || u.starts_with("postgres://")
            || u.starts_with("postgresql://"))
        {
            r.problem("DATABASE_URL", "must start with sqlite: or postgres://");
        }
    }
    let redis_url = r.secret("REDIS_URL");
    if let Some(u) = &redis_url {
        let u = u.expose_secret();
        if !(u.starts_with("redis://") || u.starts_with("rediss://")) {
            r.problem("REDIS_URL", "must start with redis:// or rediss://");
        }
    }
    Storage {
        database_url,
        redis_url,
    }
}
