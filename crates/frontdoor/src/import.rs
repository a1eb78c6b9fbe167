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
