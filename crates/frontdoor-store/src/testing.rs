//! Fresh stores for tests: a temporary SQLite file always, and a throw-away PostgreSQL database
//! when `FRONTDOOR_TEST_DATABASE_URL` names a server (CI always sets it; there the PostgreSQL
//! half of every storage test is mandatory).

use crate::Store;
use std::path::PathBuf;

/// A store plus what keeps its database alive; dropping it removes a SQLite temp dir.
///
/// It implements `Drop` itself (rather than holding a guard field) so that an `async move`
/// block using only `ts.store` still captures the whole value: with a guard field, disjoint
/// capture dropped the guard, and the database file with it, while the test was running.
pub struct TestStore {
    pub store: Store,
    pub url: String,
    pub label: &'static str,
    dir: Option<PathBuf>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub async fn sqlite() -> TestStore {
    let dir: PathBuf = std::env::temp_dir().join(format!("frontdoor-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}", dir.join("frontdoor.db").display());
    let store = Store::open(&url).await.expect("open sqlite");
    TestStore { store, url, label: "sqlite", dir: Some(dir) }
}

/// The PostgreSQL server URL for tests, or `None` (with a loud message) when there is none.
/// Panics in CI (`CI` set) when it is missing: there these tests must not be skipped.
pub fn postgres_server_url() -> Option<String> {
    match std::env::var("FRONTDOOR_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
                panic!("FRONTDOOR_TEST_DATABASE_URL is not set: the PostgreSQL tests are mandatory in CI");
            }
            eprintln!(
                "\n*** SKIPPING the PostgreSQL half of this test: set FRONTDOOR_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) ***\n"
            );
            None
        }
    }
}

/// A new, empty PostgreSQL database on the test server, or `None` when there is no server.
pub async fn postgres() -> Option<TestStore> {
    let server = postgres_server_url()?;
    let name = format!("fd_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&server)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let url = match server.rfind('/') {
        Some(i) if server[..i].contains("://") && server[..i].len() > server.find("://").unwrap_or(0) + 3 => {
            format!("{}/{name}", &server[..i])
        }
        _ => format!("{}/{name}", server.trim_end_matches('/')),
    };
    let store = Store::open(&url).await.expect("open test PostgreSQL database");
    Some(TestStore { store, url, label: "postgres", dir: None })
}

/// Both backends that are available here: SQLite always, PostgreSQL when configured.
pub async fn all() -> Vec<TestStore> {
    let mut v = vec![sqlite().await];
    v.extend(postgres().await);
    v
}

impl TestStore {
    /// Everything the database holds, as text, for tests that check what is (not) stored: the
    /// SQLite files' bytes (database and write-ahead log), or every row of every PostgreSQL
    /// table rendered as text.
    pub async fn stored_text(&self) -> String {
        use sqlx::Row as _;
        if let Some(dir) = &self.dir {
            let mut out = String::new();
            for entry in std::fs::read_dir(dir).expect("test dir") {
                let bytes = std::fs::read(entry.expect("entry").path()).unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            return out;
        }
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&self.url).await.expect("connect");
        let tables: Vec<String> =
            sqlx::query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
                .fetch_all(&pool)
                .await
                .expect("tables")
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
        let mut out = String::new();
        for t in tables {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT x::text FROM \"{t}\" x")))
                .fetch_all(&pool)
                .await
                .expect("rows");
            for r in rows {
                out.push_str(&r.get::<String, _>(0));
                out.push('\n');
            }
        }
        pool.close().await;
        out
    }
}
