//! Frontdoor's storage: the append-only event log with projections, the access log, hash
//! chains, sessions and the notification outbox, on SQLite (embedded default) or PostgreSQL.
//!
//! Invariants: only this crate knows SQL; no code path updates or deletes a row of `events` or
//! `access_log` (and database triggers refuse it); every write is acknowledged only after its
//! transaction has committed durably.

mod actions;
mod chain;
mod cse;
mod db;
mod enquiries;
mod queries;
pub mod testing;
mod verify;
mod writer;

pub use actions::{ActionRecord, FollowUp, NotificationRecord};
pub use chain::row_hash;
pub use cse::{AuditRecord, CaseEvent, CaseRecord, OverrideRecord, SupportReferral};
pub use enquiries::{ContributionRecord, EnquiryRecord, ReleaseRecord};
pub use queries::*;
pub use verify::{ChainBreak, VerifyReport};

use chrono::{DateTime, TimeZone, Utc};
use db::{Pool, Val};
use frontdoor_core::policy::Action;
use frontdoor_core::{AgencyId, Event, Purpose, UserId};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("could not apply the schema migrations: {0}")]
    Migrate(String),
    #[error("stream {stream} has moved on: expected {expected:?}, it is at version {actual}")]
    Conflict { stream: String, expected: Expected, actual: i64 },
    #[error("{what} already exists")]
    Duplicate { what: String },
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("'{0}' is not a database URL Frontdoor understands (use sqlite://PATH or postgres://...)")]
    BadUrl(String),
    #[error("the store is shutting down")]
    Closed,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// What the writer expects a stream's version to be (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Append whatever the stream holds.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version.
    Version(i64),
}

/// Who did it, when, and why: stored with every event.
#[derive(Debug, Clone)]
pub struct Meta {
    pub actor_user: Option<UserId>,
    pub actor_agency: Option<AgencyId>,
    pub purpose: String,
    pub at: DateTime<Utc>,
}

impl Meta {
    /// A change made by the system itself (setup, demo seeding, the command line).
    pub fn system(purpose: &str, at: DateTime<Utc>) -> Self {
        Meta { actor_user: None, actor_agency: None, purpose: purpose.to_owned(), at }
    }
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: Event,
    pub expected: Expected,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: i64,
    pub stream: String,
    pub stream_version: i64,
}

/// One line of the access log: a read of personal data, or a refused attempt at one.
#[derive(Debug, Clone)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    pub user_id: UserId,
    pub agency_id: AgencyId,
    pub action: Action,
    pub record_type: String,
    pub record_id: String,
    pub purpose: Purpose,
    pub allowed: bool,
    pub reason: String,
}

/// A notification to send later (e-mail). Bodies carry no personal details: a link and a reference.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(m: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(m).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

struct Inner {
    read: Pool,
    write: Pool,
    writer: mpsc::Sender<writer::WriteRequest>,
    backend: Backend,
}

/// A handle on the store; cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Open (creating if needed) the database at `url` and bring its schema up to date.
    /// `sqlite://PATH` or `postgres://...`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::BadUrl(url.to_owned()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: an acknowledged contact survives power loss, not only a process crash.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            let write = SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await?;
            sqlx::migrate!("./migrations/sqlite").run(&write).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
            let read = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
            Ok(Self::with_pools(Pool::Sqlite(read), Pool::Sqlite(write), Backend::Sqlite))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let write = PgPoolOptions::new()
                .max_connections(2)
                .connect(url)
                .await
                .map_err(|e| StoreError::Database(e.to_string()))?;
            sqlx::migrate!("./migrations/postgres")
                .run(&write)
                .await
                .map_err(|e| StoreError::Migrate(e.to_string()))?;
            let read = PgPoolOptions::new().max_connections(16).connect(url).await?;
            Ok(Self::with_pools(Pool::Postgres(read), Pool::Postgres(write), Backend::Postgres))
        } else {
            Err(StoreError::BadUrl(url.to_owned()))
        }
    }

    /// The SQLite database inside a data directory (created if missing).
    pub async fn open_data_dir(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Database(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("frontdoor.db");
        Self::open(&format!("sqlite://{}", path.display())).await
    }

    fn with_pools(read: Pool, write: Pool, backend: Backend) -> Store {
        let writer = writer::spawn(write.clone());
        Store { inner: Arc::new(Inner { read, write, writer, backend }) }
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub(crate) fn read(&self) -> &Pool {
        &self.inner.read
    }

    /// Close the pools (used before a clean exit; a crash loses nothing acknowledged either way).
    pub async fn close(&self) {
        self.inner.read.close().await;
        self.inner.write.close().await;
    }

    async fn submit(&self, op: writer::WriteOp) -> Result<Vec<Committed>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.inner.writer.send(writer::WriteRequest { op, reply }).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Append events atomically (all or none), with any access-log entries and notifications
    /// that belong to the same change. Returns once the transaction is durably committed.
    pub async fn append(
        &self,
        events: Vec<NewEvent>,
        access: Vec<AccessEntry>,
        outbox: Vec<OutboxMessage>,
    ) -> Result<Vec<Committed>, StoreError> {
        self.submit(writer::WriteOp::Append { events, access, outbox, credentials: None }).await
    }

    /// Write one entry to the access log (durably, before the data it describes is shown).
    pub async fn log_access(&self, entry: AccessEntry) -> Result<(), StoreError> {
        self.submit(writer::WriteOp::Append { events: vec![], access: vec![entry], outbox: vec![], credentials: None })
            .await
            .map(|_| ())
    }

    /// Register a user and store their password hash in one transaction: never a user who
    /// cannot sign in, never a hash without its user.
    pub async fn append_user_with_password(
        &self,
        event: NewEvent,
        password_hash: &str,
    ) -> Result<Vec<Committed>, StoreError> {
        let user_id = match &event.event {
            Event::UserRegistered { user_id, .. } => user_id.to_string(),
            other => return Err(StoreError::Corrupt(format!("expected a user registration, got {}", other.kind()))),
        };
        let at = micros(event.meta.at);
        self.submit(writer::WriteOp::Append {
            events: vec![event],
            access: vec![],
            outbox: vec![],
            credentials: Some((user_id, password_hash.to_owned(), at)),
        })
        .await
    }

    pub(crate) async fn write_sql(&self, statements: Vec<(&'static str, Vec<Val>)>) -> Result<(), StoreError> {
        self.submit(writer::WriteOp::Sql(statements)).await.map(|_| ())
    }
}
