//! Frontdoor's HTTP edge: sessions, CSRF, the JSON API with its OpenAPI document, and the
//! server-rendered practitioner pages.
//!
//! Invariants: only this crate knows HTTP status codes; every route is declared in
//! `routes::ROUTES` with its guard, and every record-level handler asks `policy::decide` through
//! `access::authorize`; no personal data goes into logs, URLs or error pages.

mod access;
pub mod actions;
mod actions_http;
mod api;
pub mod audit;
mod audit_http;
mod auth;
pub mod config;
pub mod cse;
mod cse_http;
mod cse_pages;
mod enquiries;
pub mod enquiry;
mod enquiry_pages;
mod error;
pub mod feeds;
pub mod intake;
mod metrics;
pub mod notify;
mod openapi;
mod pages;
pub mod passwords;
pub mod public;
pub mod public_concern;
pub mod records;
pub mod reports;
pub mod routes;
pub mod screening;
mod security;
pub mod service;
pub mod support;

pub use config::{Config, ConfigError};
pub use openapi::openapi_json;

use axum::Router;
use frontdoor_store::Store;
use passwords::Passwords;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub cfg: Arc<Config>,
    pub passwords: Arc<Passwords>,
    pub screening: Arc<screening::Screening>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// The person index for record checks and the review queue (built on first use).
    pub links: records::SharedIndex,
    /// The configured nickname table (`nicknames_file`), read once at start-up.
    pub nicknames: Arc<frontdoor_link::Nicknames>,
    /// The support directory (`support_file`), read once at start-up.
    pub support: Arc<support::Directory>,
    /// The public site's pages (`[public] content_dir`), read once at start-up.
    pub content: Arc<public::Content>,
    /// Raise-a-concern forms in progress and the public rate limit (memory only).
    pub concerns: Arc<public_concern::Concerns>,
}

/// A bound, not yet serving, server. `build` binds the port so tests can use port 0.
pub struct Application {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    state: AppState,
}

impl Application {
    pub async fn build(cfg: Config, store: Store) -> anyhow::Result<Application> {
        let passwords = Passwords::new(&cfg).map_err(anyhow::Error::msg)?;
        let screening = screening::Screening::load(&cfg).map_err(anyhow::Error::msg)?;
        // A bad SMTP setting stops start-up rather than silently holding every e-mail.
        notify::Mailer::from_config(&cfg).map_err(anyhow::Error::msg)?;
        // (Screening refuses a bad nickname table and link thresholds that contradict each other.)
        let nicknames = screening.nicknames.clone();
        let support = cfg.support().map_err(anyhow::Error::msg)?;
        let content = cfg.content().map_err(anyhow::Error::msg)?;
        let concerns = public_concern::Concerns::new(&cfg.public);
        let listener =
            TcpListener::bind(cfg.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
        let addr = listener.local_addr()?;
        let state = AppState {
            store,
            cfg: Arc::new(cfg),
            passwords: Arc::new(passwords),
            screening: Arc::new(screening),
            metrics: metrics::handle(),
            links: Default::default(),
            nicknames,
            support: Arc::new(support),
            content: Arc::new(content),
            concerns: Arc::new(concerns),
        };
        Ok(Application { listener, router: routes::router(state.clone()), addr, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_with_shutdown(std::future::pending()).await
    }

    /// Serve until `signal` completes, then finish in-flight requests.
    pub async fn run_with_shutdown(self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let sweeper = tokio::spawn(sweeper(self.state.clone()));
        let mailer = tokio::spawn(notify::run_dispatcher(self.state.store.clone(), self.state.cfg.clone()));
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(signal)
            .await;
        housekeeping.abort();
        sweeper.abort();
        mailer.abort();
        served
    }
}

/// Every minute: escalate urgent alerts nobody acknowledged, and raise `decision_overdue` on
/// contacts past their decision time (`intake::sweep`; idempotent across servers).
async fn sweeper(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match intake::sweep(&state.store, &state.screening, chrono::Utc::now()).await {
            Ok(r) if r.escalated + r.overdue > 0 => {
                tracing::info!(escalated = r.escalated, overdue = r.overdue, "alert sweep");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "alert sweep failed; will retry"),
        }
    }
}

/// Remove expired sessions and stale sign-in failures every few minutes. Idempotent, so
/// several servers sharing one database may all run it.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        tick.tick().await;
        let now = chrono::Utc::now();
        let window = chrono::Duration::minutes(i64::from(state.cfg.login_window_minutes));
        if let Err(e) = state.store.delete_expired_sessions(now).await {
            tracing::warn!(error = %e, "housekeeping: could not remove expired sessions");
        }
        if let Err(e) = state.store.forget_login_failures_before(now - window).await {
            tracing::warn!(error = %e, "housekeeping: could not remove old sign-in failures");
        }
    }
}
