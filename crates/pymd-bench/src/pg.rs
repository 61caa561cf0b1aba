//! A fresh PostgreSQL database for one benchmark run, created on an admin URL
//! (`PYMD_BENCH_DATABASE_URL`, by default the machine's `postgres://postgres@127.0.0.1:5432/test`)
//! and dropped afterwards, so runs never see each other's rows.

use sqlx::Connection;

/// The admin URL when `PYMD_BENCH_DATABASE_URL` is not set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database this run created.
pub struct FreshDatabase {
    admin_url: String,
    name: String,
    /// The URL of the new database (the admin URL with its database name replaced).
    pub url: String,
}

/// The admin URL: `PYMD_BENCH_DATABASE_URL` or [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var("PYMD_BENCH_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// `url` with its path (the database name) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let mut u = url::Url::parse(url)?;
    u.set_path(&format!("/{name}"));
    Ok(u.to_string())
}

impl FreshDatabase {
    /// Creates `pymd_bench_<random>` through `admin_url`.
    ///
    /// # Errors
    /// The server is unreachable or refuses `CREATE DATABASE`; the message is the reason the
    /// PostgreSQL rows are skipped.
    pub async fn create(admin_url: &str) -> anyhow::Result<FreshDatabase> {
        let name = format!("pymd_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sqlx::PgConnection::connect(admin_url),
        )
        .await
        .map_err(|_| anyhow::anyhow!("no answer from PostgreSQL within 5 s"))??;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        Ok(FreshDatabase {
            url: with_database(admin_url, &name)?,
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// Drops the database (its server must be stopped first; leftover sessions are ended).
    pub async fn drop_now(self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                .execute(&mut admin)
                .await
            {
                eprintln!("could not drop the bench database {}: {e}", self.name);
            }
            let _ = admin.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_databases_url_keeps_host_user_and_options() {
        let u = with_database(
            "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
            "b1",
        )
        .expect("valid URL");
        assert_eq!(u, "postgres://postgres@127.0.0.1:5432/b1?sslmode=disable");
    }
}
