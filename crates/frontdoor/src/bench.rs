//! `frontdoor bench intake`: contacts over HTTP against the real server with durable commits.
//! The client runs in the same process, on the same cores, as the server: the figures are a
//! floor for a machine where they are apart.

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Subcommand;
use frontdoor_core::{AgencyKind, Role};
use frontdoor_web::passwords::{Passwords, generate_password};
use frontdoor_web::service::{self, NewUser};
use frontdoor_web::{Application, Config};
use hdrhistogram::Histogram;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// POST contacts from concurrent clients for a while; report throughput and latency.
    Intake {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Measured seconds (after a 2 s warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Data directory (default: a fresh temporary one, removed afterwards).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// PostgreSQL instead of SQLite (a database of its own, e.g. postgres://.../fd_bench).
        #[arg(long)]
        database_url: Option<String>,
    },
}

pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Intake { clients, seconds, data_dir, database_url } => {
            intake(clients, seconds, data_dir, database_url).await
        }
    }
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn intake(clients: usize, seconds: u64, data_dir: Option<PathBuf>, database_url: Option<String>) -> Result<()> {
    let (dir, _cleanup) = match data_dir {
        Some(d) => (d, None),
        None => {
            let d = std::env::temp_dir().join(format!("frontdoor-bench-{}", uuid::Uuid::new_v4().simple()));
            (d.clone(), Some(TempDir(d)))
        }
    };
    let cfg = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir,
        database_url: database_url.unwrap_or_default(),
        ..Config::default()
    };
    let store = crate::open_store(&cfg).await?;
    if store.event_count().await? > 0 {
        bail!("the benchmark needs an empty database");
    }
    let now = Utc::now();
    let agency =
        service::register_agency(&store, "Bench Children's Services", AgencyKind::ChildrensServices, None, now).await?;
    let password = generate_password();
    let passwords = Passwords::new(&cfg).map_err(anyhow::Error::msg)?;
    let new = NewUser {
        username: "bench.advisor".into(),
        display_name: "Bench".into(),
        agency_id: agency,
        roles: vec![Role::FrontDoorAdvisor],
    };
    service::register_user(&store, &passwords, new, &password, None, now).await?;
    let app = Application::build(cfg, store.clone()).await?;
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());

    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let token: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "bench.advisor", "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = token["token"].as_str().context("no token")?.to_owned();

    let backend = match store.backend() {
        frontdoor_store::Backend::Sqlite => "sqlite",
        frontdoor_store::Backend::Postgres => "postgres",
    };
    // Baseline in the same run: the same clients on `GET /healthz` (HTTP, auth-free, one read,
    // no write), so the intake figure can be read as a share of what this machine's HTTP path
    // gives at all.
    let base_run = drive(&http, &base, &token, clients, seconds, Kind::Health).await?;
    let intake = drive(&http, &base, &token, clients, seconds, Kind::Contact).await?;
    base_run.print("baseline GET /healthz", backend, clients, seconds);
    intake.print("intake POST /api/v1/contacts", backend, clients, seconds);
    println!(
        "ratio: intake throughput is {:.2} of the baseline's",
        intake.throughput(seconds) / base_run.throughput(seconds)
    );
    let report = store.verify_chains().await?;
    println!("audit chains intact: {} ({} events)", report.intact(), report.events);
    if !report.intact() {
        bail!("the chains did not verify after the benchmark");
    }
    Ok(())
}

/// One contact of the benchmark: each child is the subject of three contacts in a row (so the
/// alert rules count real history and raise `repeat_contacts`), across four call types with
/// their protocols' answers.
fn contact(worker: usize, n: u64) -> serde_json::Value {
    use serde_json::json;
    const GIVEN: [&str; 8] = ["Amelia", "Noah", "Aisha", "Oliver", "Zainab", "Leo", "Maya", "Kacper"];
    let concerns = [
        (
            "School reports she has been collected by older men in cars and has new phones she cannot explain.",
            "cse_concern",
            json!({"disclosure": false}),
        ),
        (
            "Police found him missing overnight; returned with alcohol and refused to say where he had been.",
            "missing_child",
            json!({"police_category": "missing", "returned": true}),
        ),
        (
            "Neighbour worried about shouting and the children being left alone late at night.",
            "neglect",
            json!({"needs_not_met": ["supervision"]}),
        ),
        ("Health visitor reports repeated missed appointments and weight loss.", "general_advice", json!({})),
    ];
    let child = n / 3;
    let i = (worker as u64 * 7919 + child) as usize;
    let (narrative, call_type, answers) = &concerns[(i + n as usize) % concerns.len()];
    json!({
        "channel": "phone",
        "source_code": "2A",
        "child": {
            "given_name": GIVEN[i % GIVEN.len()],
            "family_name": format!("Bench{worker}x{child}"),
            "date_of_birth": format!("20{:02}-{:02}-{:02}", 8 + i % 10, 1 + i % 12, 1 + i % 28),
        },
        "narrative": narrative,
        "call_type": call_type,
        "answers": answers,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Health,
    Contact,
}

struct Outcome {
    hist: Histogram<u64>,
    errors: u64,
}

impl Outcome {
    fn throughput(&self, seconds: u64) -> f64 {
        self.hist.len() as f64 / seconds as f64
    }

    fn print(&self, what: &str, backend: &str, clients: usize, seconds: u64) {
        let ms = |q: f64| self.hist.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{what}: backend={backend} clients={clients} measured={seconds}s requests={} throughput={:.0}/s p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms errors={}",
            self.hist.len(),
            self.throughput(seconds),
            ms(0.50),
            ms(0.90),
            ms(0.99),
            self.hist.max() as f64 / 1000.0,
            self.errors
        );
    }
}

/// Run `clients` concurrent loops for a 2 s warm-up plus `seconds`, timing only the latter.
async fn drive(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    clients: usize,
    seconds: u64,
    kind: Kind,
) -> Result<Outcome> {
    let measure_from = Instant::now() + Duration::from_secs(2);
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..clients {
        let (http, base, token, stop) = (http.clone(), base.to_owned(), token.to_owned(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut errors = 0u64;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let t = Instant::now();
                let r = match kind {
                    Kind::Health => http.get(format!("{base}/healthz")).send().await,
                    Kind::Contact => {
                        http.post(format!("{base}/api/v1/contacts"))
                            .bearer_auth(&token)
                            .json(&contact(worker, n))
                            .send()
                            .await
                    }
                };
                let expected = if kind == Kind::Health { 200 } else { 201 };
                let ok = matches!(&r, Ok(resp) if resp.status() == expected);
                if let Ok(resp) = r {
                    let _ = resp.bytes().await;
                }
                if t >= measure_from {
                    if ok {
                        hist.record(t.elapsed().as_micros() as u64).map_err(|e| anyhow::anyhow!("{e}"))?;
                    } else {
                        errors += 1;
                    }
                }
            }
            Ok::<_, anyhow::Error>((hist, errors))
        }));
    }
    tokio::time::sleep(Duration::from_secs(2 + seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        all.add(h).map_err(|e| anyhow::anyhow!("{e}"))?;
        errors += e;
    }
    Ok(Outcome { hist: all, errors })
}
