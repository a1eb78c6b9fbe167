//! The only place that knows the two backends apart. SQL text is written once, with `$N`
//! placeholders (both SQLite and PostgreSQL accept them), and bound from a small set of value
//! types (64-bit integers and text) that mean the same on both. This replaces `sqlx::Any`,
//! which mishandles PostgreSQL types, with something narrow enough to be obviously correct.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Database, Encode, Postgres, Row as _, Sqlite, Type};

/// A bound parameter. Nulls carry their type because PostgreSQL insists on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        v.map_or(Val::NullText, Val::Text)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Val::NullText, |s| Val::Text(s.to_owned()))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Val::NullInt, Val::Int)
    }
}

/// `vals![a, b, c]` turns anything with a `From` into an array of `Val`.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { [$($crate::db::Val::from($v)),*] };
}
pub(crate) use vals;

fn build<DB>(sql: &'static str, args: &[Val]) -> sqlx::query::Query<'static, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'e> i64: Encode<'e, DB> + Type<DB>,
    for<'e> String: Encode<'e, DB> + Type<DB>,
    for<'e> Option<i64>: Encode<'e, DB> + Type<DB>,
    for<'e> Option<String>: Encode<'e, DB> + Type<DB>,
{
    let mut q = sqlx::query::<DB>(sql);
    for a in args {
        q = match a {
            Val::Int(i) => q.bind(*i),
            Val::Text(s) => q.bind(s.clone()),
            Val::NullInt => q.bind(None::<i64>),
            Val::NullText => q.bind(None::<String>),
        };
    }
    q
}

/// A result row from either backend, read by column index.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    pub(crate) fn int(&self, i: usize) -> Result<i64, sqlx::Error> {
        match self {
            Row::Sqlite(r) => r.try_get(i),
            Row::Postgres(r) => r.try_get(i),
        }
    }
    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        match self {
            Row::Sqlite(r) => r.try_get(i),
            Row::Postgres(r) => r.try_get(i),
        }
    }
    pub(crate) fn text(&self, i: usize) -> Result<String, sqlx::Error> {
        match self {
            Row::Sqlite(r) => r.try_get(i),
            Row::Postgres(r) => r.try_get(i),
        }
    }
    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, sqlx::Error> {
        match self {
            Row::Sqlite(r) => r.try_get(i),
            Row::Postgres(r) => r.try_get(i),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open write transaction on either backend.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

macro_rules! on_backend {
    ($self:expr, $conn:ident => $body:expr) => {
        match $self {
            Self::Sqlite($conn) => {
                let rows = $body;
                rows.map(|v| v.into_iter().map(Row::Sqlite).collect())
            }
            Self::Postgres($conn) => {
                let rows = $body;
                rows.map(|v| v.into_iter().map(Row::Postgres).collect())
            }
        }
    };
}

impl Pool {
    pub(crate) async fn fetch_all(&self, sql: &'static str, args: &[Val]) -> Result<Vec<Row>, sqlx::Error> {
        on_backend!(self, p => build(sql, args).fetch_all(p).await)
    }
    pub(crate) async fn fetch_optional(&self, sql: &'static str, args: &[Val]) -> Result<Option<Row>, sqlx::Error> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }
    pub(crate) async fn fetch_one(&self, sql: &'static str, args: &[Val]) -> Result<Row, sqlx::Error> {
        self.fetch_optional(sql, args).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Begin the one kind of transaction that writes. SQLite takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction never fails half-way for want of it; PostgreSQL
    /// takes a transaction-scoped advisory lock so that servers sharing one database still
    /// extend each hash chain one writer at a time.
    pub(crate) async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Pool::Sqlite(p) => Ok(Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?)),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7415260001)").execute(&mut *tx).await?;
                Ok(Tx::Postgres(tx))
            }
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub(crate) async fn exec(&mut self, sql: &'static str, args: &[Val]) -> Result<u64, sqlx::Error> {
        match self {
            Tx::Sqlite(t) => build::<Sqlite>(sql, args).execute(&mut **t).await.map(|r| r.rows_affected()),
            Tx::Postgres(t) => build::<Postgres>(sql, args).execute(&mut **t).await.map(|r| r.rows_affected()),
        }
    }
    pub(crate) async fn fetch_all(&mut self, sql: &'static str, args: &[Val]) -> Result<Vec<Row>, sqlx::Error> {
        on_backend!(self, t => build(sql, args).fetch_all(&mut **t).await)
    }
    pub(crate) async fn fetch_optional(&mut self, sql: &'static str, args: &[Val]) -> Result<Option<Row>, sqlx::Error> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.rollback().await,
            Tx::Postgres(t) => t.rollback().await,
        }
    }
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}
