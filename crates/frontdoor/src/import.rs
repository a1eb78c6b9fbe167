//! `frontdoor import`: bring other systems' data in through the same services as the API.

use crate::StoreArgs;
use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::Subcommand;
use frontdoor_core::Action;
use frontdoor_core::policy::{Resource, decide, default_purpose};
use frontdoor_web::feeds::FeedKind;
use frontdoor_web::intake::{self, FeedImportError};
use frontdoor_web::screening::Screening;
use frontdoor_web::service;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import a source system's person records into the person index. The canonical CSV header is
    /// `record_id,given_name,family_name,date_of_birth,sex,postcode,address,phone` (any field but
    /// record_id may be empty; dates YYYY-MM-DD); `--mapping FILE` describes other layouts.
    /// All-or-nothing: one bad row refuses the file. Re-importing is idempotent: only new or
    /// changed records are recorded.
    People {
        #[command(flatten)]
        store: StoreArgs,
        /// The source system's name (e.g. `police_niche`, `health_rio`).
        #[arg(long)]
        source: String,
        /// A TOML file mapping the export's columns to the person fields.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// The CSV file.
        file: PathBuf,
    },
    /// Import a machine feed file (docs/feeds.md): every row becomes a contact with the feed's
    /// source code, screened and checked for alerts. All-or-nothing: one bad row refuses the file,
    /// naming every problem by line and column.
    Feed {
        #[command(flatten)]
        store: StoreArgs,
        /// police_missing, school_absence, helpline or sexual_health
        #[arg(long)]
        kind: String,
        /// The user the contacts are recorded as; their agency owns them (e.g. the police's
        /// feed account). They must be allowed to import feeds.
        #[arg(long = "as")]
        user: String,
        /// The CSV file.
        file: PathBuf,
    },
}

pub async fn run(cmd: ImportCommand) -> Result<()> {
    match cmd {
        ImportCommand::People { store, source, mapping, file } => people(store, &source, mapping, &file).await,
        ImportCommand::Feed { store, kind, user, file } => {
            let kind = FeedKind::parse(&kind).ok_or_else(|| {
                anyhow!(
                    "--kind {kind}: not a feed (expected one of {})",
                    FeedKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                )
            })?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let (cfg, store) = store.open().await?;
            let screening = Screening::load(&cfg).map_err(anyhow::Error::msg)?;
            let record = store
                .user_by_username(&user.trim().to_ascii_lowercase())
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(|| anyhow!("--as {user}: no such active user (see `frontdoor user list`)"))?;
            let actor = service::actor_of(&record);
            let purpose = default_purpose(Action::ImportFeed, &actor);
            let d = decide(&actor, Action::ImportFeed, &Resource::Service, purpose);
            if !d.allowed {
                bail!("--as {user}: may not import feeds ({})", d.reason);
            }
            match intake::import_feed(&store, &screening, &actor, purpose, kind, &text, Utc::now()).await {
                Ok(written) => {
                    let alerts: usize = written.iter().map(|(_, r)| r.alerts.len()).sum();
                    println!(
                        "{}: {} contacts recorded from {} ({alerts} alerts raised)",
                        file.display(),
                        written.len(),
                        kind.label()
                    );
                    for (line, r) in written {
                        println!("line {line}: {} level {} {}", r.reference, r.level_of_need, r.alerts.join(" "));
                    }
                    Ok(())
                }
                Err(FeedImportError::Rejected(rejections)) => {
                    for r in &rejections {
                        match r.column.as_str() {
                            "" => eprintln!("{}:{}: {}", file.display(), r.line, r.message),
                            column => eprintln!("{}:{}: {column}: {}", file.display(), r.line, r.message),
                        }
                    }
                    bail!("{}: refused, nothing imported ({} problems)", file.display(), rejections.len())
                }
                Err(FeedImportError::Interrupted { written, error }) => {
                    let last = written.last().map(|(line, _)| *line).unwrap_or(1);
                    bail!(
                        "{}: stopped after {} rows (up to line {last}) because {error}; those are recorded — send the rest again",
                        file.display(),
                        written.len()
                    )
                }
            }
        }
    }
}

/// `frontdoor import people`: parse the whole file, then record only the new and changed records,
/// all in one commit.
async fn people(store: StoreArgs, source: &str, mapping: Option<PathBuf>, file: &std::path::Path) -> Result<()> {
    use frontdoor_core::{Event, Purpose};
    use frontdoor_link::{Mapping, parse_people};
    use frontdoor_store::{Expected, Meta, NewEvent};
    use std::collections::HashMap;

    let source = source.trim();
    if source.is_empty()
        || source.len() > 64
        || !source.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        bail!("--source {source:?}: use 1 to 64 letters, digits, '_', '-' or '.'");
    }
    let mapping = match &mapping {
        None => Mapping::canonical(),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Mapping::from_toml(&path.display().to_string(), &text)?
        }
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let now = Utc::now();
    let rows = match parse_people(&text, &mapping, now.date_naive()) {
        Ok(rows) => rows,
        Err(errors) => {
            for e in &errors {
                match e.column.as_str() {
                    "" => eprintln!("{}:{}: {}", file.display(), e.line, e.message),
                    column => eprintln!("{}:{}: {column}: {}", file.display(), e.line, e.message),
                }
            }
            bail!("{}: refused, nothing imported ({} problems)", file.display(), errors.len());
        }
    };
    let (_, store) = store.open().await?;
    let stored: HashMap<String, [Option<String>; 7]> =
        store.person_records_of(source).await?.into_iter().map(|p| (p.record_id, p.fields)).collect();
    let meta = Meta::system(Purpose::Administration.as_str(), now);
    let (mut new, mut changed, mut unchanged) = (0usize, 0usize, 0usize);
    let mut events = Vec::new();
    for r in rows {
        let fields = [
            r.given_name.as_ref().map(|n| n.as_str().to_owned()),
            r.family_name.as_ref().map(|n| n.as_str().to_owned()),
            r.date_of_birth.map(|d| d.to_string()),
            r.sex.map(|s| s.as_str().to_owned()),
            r.postcode.as_ref().map(|p| p.as_str().to_owned()),
            r.address.clone(),
            r.phone.clone(),
        ];
        match stored.get(&r.record_id) {
            Some(before) if *before == fields => {
                unchanged += 1;
                continue;
            }
            Some(_) => changed += 1,
            None => new += 1,
        }
        events.push(NewEvent {
            event: Event::PersonRecordImported {
                source: source.to_owned(),
                record_id: r.record_id,
                given_name: r.given_name,
                family_name: r.family_name,
                date_of_birth: r.date_of_birth,
                sex: r.sex,
                postcode: r.postcode,
                address: r.address,
                phone: r.phone,
            },
            expected: Expected::Any,
            meta: meta.clone(),
        });
    }
    let total = stored.len();
    if !events.is_empty() {
        store.append(events, vec![], vec![]).await?;
    }
    println!(
        "{}: source {source}: {new} new, {changed} changed, {unchanged} unchanged ({} records in the source now)",
        file.display(),
        total + new
    );
    Ok(())
}
