//! `frontdoor demo`: build the fictional borough (first run only) and serve it.

use crate::{StoreArgs, open_store, serve};
use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Args;
use frontdoor_core::policy::default_purpose;
use frontdoor_core::{Action, Actor, AgencyId, ContactDraft, DateOfBirth, Event, PersonName, Postcode, Role};
use frontdoor_store::{Expected, Meta, NewEvent, Store};
use frontdoor_web::passwords::{Passwords, generate_password};
use frontdoor_web::screening::Screening;
use frontdoor_web::service::{self, NewUser};
use futures::StreamExt;
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo's SQLite database and login file live.
    #[arg(long, default_value = "frontdoor-data")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed of the synthetic borough (the same seed builds the same borough).
    #[arg(long, default_value_t = 20161)]
    seed: u64,
    /// Optional TOML configuration (e.g. lighter password hashing for tests).
    #[arg(long)]
    config: Option<PathBuf>,
    /// How many children (for quick tests; default 3000).
    #[arg(long, hide = true)]
    children: Option<usize>,
    /// How many contacts (for quick tests; default 6000).
    #[arg(long, hide = true)]
    contacts: Option<usize>,
}

const SEEDED: &str = "demo_seeded";
const LOGINS: &str = "demo-logins.txt";

pub async fn run(args: DemoArgs) -> Result<()> {
    let store_args =
        StoreArgs { config: args.config.clone(), data_dir: Some(args.data_dir.clone()), database_url: None };
    let mut cfg = store_args.config()?;
    cfg.database_url = String::new();
    cfg.listen = args.listen;
    let store = open_store(&cfg).await?;
    match store.get_setting(SEEDED).await? {
        Some(seed) => {
            eprintln!(
                "Using the demo borough already in {} (seed {seed}); nothing was reseeded.",
                args.data_dir.display()
            );
        }
        None => {
            if store.event_count().await? > 0 {
                bail!(
                    "{} holds data but no finished demo (perhaps an earlier seeding was interrupted); use an empty directory",
                    args.data_dir.display()
                );
            }
            let mut params = frontdoor_synth::Params::default();
            if let Some(n) = args.children {
                params.children = n;
            }
            if let Some(n) = args.contacts {
                params.contacts = n;
            }
            let passwords = Passwords::new(&cfg).map_err(anyhow::Error::msg)?;
            let screening = Screening::load(&cfg).map_err(anyhow::Error::msg)?;
            let link = (cfg.link_settings().map_err(anyhow::Error::msg)?, cfg.nicknames().map_err(anyhow::Error::msg)?);
            seed(&store, &passwords, &screening, link, &args.data_dir, args.seed, &params).await?;
            let (enquiries, cases) = crate::casework::seed(&store, &cfg).await?;
            eprintln!(
                "Case work: {enquiries} multi-agency enquiries answered, {cases} CSE cases moved along the pathway."
            );
            store.set_setting(SEEDED, &args.seed.to_string()).await?;
        }
    }
    let logins = args.data_dir.join(LOGINS);
    println!("Demo logins: {}", logins.display());
    if let Ok(text) = std::fs::read_to_string(&logins) {
        for line in text.lines().filter(|l| {
            let name = l.split('\t').next().unwrap_or("");
            [
                "advisor1",
                "lead1",
                "cse.manager",
                "cse.worker1",
                "police.practitioner",
                "police.lead",
                "health.practitioner",
                "admin",
                "auditor",
            ]
            .contains(&name)
        }) {
            let f: Vec<&str> = line.split('\t').collect();
            if let [user, role, agency, password] = f[..] {
                println!("  {user:<22} {password}   ({role}, {agency})");
            }
        }
    }
    serve(cfg, store).await
}

fn progress(what: &str, done: usize, total: usize) {
    eprint!("\r  {what}: {done}/{total}   ");
    if done == total {
        eprintln!();
    }
}

async fn seed(
    store: &Store,
    passwords: &Passwords,
    screening: &Screening,
    link: (frontdoor_link::Settings, frontdoor_link::Nicknames),
    dir: &Path,
    seed: u64,
    params: &frontdoor_synth::Params,
) -> Result<()> {
    let now = Utc::now();
    let today = now.date_naive();
    eprintln!("Building the demo borough (seed {seed}) in {} ...", dir.display());
    let borough = frontdoor_synth::generate(seed, today, params);

    let mut agency_ids: Vec<AgencyId> = Vec::with_capacity(borough.agencies.len());
    for a in &borough.agencies {
        agency_ids.push(service::register_agency(store, &a.name, a.kind, None, now).await?);
    }

    // Users first, and their logins written at once, so no password is ever lost.
    let mut lines = String::new();
    for (i, u) in borough.users.iter().enumerate() {
        let password = generate_password();
        let new = NewUser {
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            agency_id: agency_ids[u.agency],
            roles: u.roles.clone(),
        };
        service::register_user(store, passwords, new, &password, None, now).await?;
        let role = u.roles.first().map(|r| r.as_str()).unwrap_or("");
        lines.push_str(&format!("{}\t{}\t{}\t{}\n", u.username, role, borough.agencies[u.agency].name, password));
        progress("users", i + 1, borough.users.len());
    }
    write_private(&dir.join(LOGINS), lines.as_bytes())?;
    std::fs::write(dir.join("demo-labels.csv"), frontdoor_synth::labels_csv(&borough))
        .context("cannot write demo-labels.csv")?;

    // The source systems and the agencies that run them, then their person records in batches
    // (each batch one transaction).
    let meta = Meta::system("demo", now);
    let sources = borough
        .sources
        .iter()
        .filter_map(|s| {
            Some(NewEvent {
                event: Event::PersonSourceRegistered {
                    name: s.name.clone(),
                    label: s.label.clone(),
                    agency_id: *agency_ids.get(s.agency)?,
                    fields: frontdoor_link::CANONICAL_HEADER.split(',').skip(1).map(str::to_owned).collect(),
                },
                expected: Expected::Any,
                meta: meta.clone(),
            })
        })
        .collect();
    store.append(sources, vec![], vec![]).await?;
    let total = borough.person_records.len();
    for (n, chunk) in borough.person_records.chunks(500).enumerate() {
        let events = chunk
            .iter()
            .map(|r| NewEvent {
                event: Event::PersonRecordImported {
                    source: r.source.clone(),
                    record_id: r.record_id.clone(),
                    given_name: r.given_name.as_deref().and_then(|s| PersonName::parse(s).ok()),
                    family_name: r.family_name.as_deref().and_then(|s| PersonName::parse(s).ok()),
                    date_of_birth: r.date_of_birth.and_then(|d| DateOfBirth::from_date(d, today).ok()),
                    sex: r.sex,
                    postcode: r.postcode.as_deref().and_then(|s| Postcode::parse(s).ok()),
                    address: r.address.clone(),
                    phone: r.phone.clone(),
                },
                expected: Expected::Any,
                meta: meta.clone(),
            })
            .collect();
        store.append(events, vec![], vec![]).await?;
        progress("source-system records", (n * 500 + chunk.len()).min(total), total);
    }
    // Deduplicate the index as an operator would, so record checks find linked records and the
    // review page has its grey zone.
    crate::link::dedupe(store, &link.0, link.1, false, crate::link::CHUNK, None).await?;

    // Contacts go through the same service as the pages and API. Contacts about one child are
    // recorded in order (so the child is recorded once); different children run concurrently,
    // which the store's group commit turns into few transactions.
    let mut actors: HashMap<usize, Actor> = HashMap::new();
    for (i, u) in borough.users.iter().enumerate() {
        if let Some(rec) = store.user_by_username(&u.username).await? {
            actors.insert(i, service::actor_of(&rec));
        }
    }
    // Partition by the very key the service uses to find a child, so no two tasks can record
    // the same new child at once.
    let mut by_child: HashMap<String, Vec<ContactDraft>> = HashMap::new();
    let mut recorder: HashMap<String, Vec<usize>> = HashMap::new();
    for c in &borough.contacts {
        let mut draft = c.draft();
        // The borough is built for today's date; a contact "later today" is received now.
        if c.received_at > now {
            draft.received_at = Some(now.to_rfc3339());
        }
        let key = match draft.parse(now) {
            Ok(parsed) => parsed.child.match_key(),
            Err(e) => {
                tracing::warn!(error = %e, "demo contact does not parse; skipped");
                continue;
            }
        };
        by_child.entry(key.clone()).or_default().push(draft);
        recorder.entry(key).or_default().push(c.recorded_by);
    }
    // Older contacts were decided at the time (by a safeguarding lead), and their alerts dealt
    // with; the last two days' stay on the worklist for the demo's advisors, and the last
    // week's complex and acute ones too.
    let lead = borough.users.iter().position(|u| u.roles.contains(&Role::SafeguardingLead));
    let decider = lead.and_then(|i| actors.get(&i));
    let decided_before = now - chrono::Duration::days(2);
    let serious_decided_before = now - chrono::Duration::days(7);
    let total: usize = by_child.values().map(Vec::len).sum();
    let mut done = 0usize;
    let mut failures = 0usize;
    let mut work = futures::stream::iter(by_child.into_iter().map(|(key, drafts)| {
        let actors = &actors;
        let by = recorder.remove(&key).unwrap_or_default();
        async move {
            let mut ok = 0usize;
            let mut failed = 0usize;
            for (draft, who) in drafts.iter().zip(by) {
                let Some(actor) = actors.get(&who) else {
                    failed += 1;
                    continue;
                };
                match service::record_contact(
                    store,
                    screening,
                    actor,
                    default_purpose(Action::CreateContact, actor),
                    draft,
                    Utc::now(),
                )
                .await
                {
                    Ok(r) => {
                        ok += 1;
                        let received = draft
                            .received_at
                            .as_deref()
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                            .map(|t| t.with_timezone(&Utc));
                        if let (Some(lead), Some(at)) = (decider, received)
                            && at < decided_before
                            && (r.level_of_need < 3 || at < serious_decided_before)
                            && let Err(e) = decide_historic(store, lead, &r).await
                        {
                            tracing::warn!(error = %e, "demo decision skipped");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "demo contact skipped");
                        failed += 1;
                    }
                }
            }
            (ok, failed)
        }
    }))
    .buffer_unordered(64);
    while let Some((ok, failed)) = work.next().await {
        done += ok + failed;
        failures += failed;
        if done % 250 < ok + failed || done == total {
            progress("contacts", done, total);
        }
    }
    if failures > 0 {
        eprintln!("  {failures} demo contacts were skipped (see the log)");
    }
    eprintln!(
        "Demo borough ready: {} agencies, {} users, {} source records, {} contacts.",
        agency_ids.len(),
        borough.users.len(),
        borough.person_records.len(),
        total - failures
    );
    Ok(())
}

/// The decision a front door would plausibly have made on an old demo contact, with its
/// alerts dealt with.
async fn decide_historic(store: &Store, lead: &Actor, r: &service::RecordedContact) -> Result<()> {
    let now = Utc::now();
    let (outcome, reasons) = match r.level_of_need {
        4 if r.call_type == "cse_concern" || r.alerts.iter().any(|a| a == "known_association") => {
            ("cse_pathway", "CSE indicators and level 4: referred to the CSE team.")
        }
        4 => ("referral_to_csc", "Acute need: referred to children's social care."),
        3 => ("multi_agency_enquiry", "Complex need: information sought from partner agencies."),
        2 => ("early_help", "Family agreed to early help."),
        _ => ("information_and_advice", "Advice given to the caller."),
    };
    frontdoor_web::intake::decide_contact(store, lead, r.contact_id, outcome, reasons, now).await?;
    for alert in store.alerts_for_contact(r.contact_id).await? {
        if !alert.state.is_closed() {
            let action = frontdoor_web::intake::AlertAction::Action("dealt with at the time".into());
            frontdoor_web::intake::update_alert(store, lead, &alert, action, now).await?;
        }
    }
    Ok(())
}

/// Create a file readable by its owner only (mode 0600 from the moment it exists).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // An existing file keeps its old mode on open: set it explicitly.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
