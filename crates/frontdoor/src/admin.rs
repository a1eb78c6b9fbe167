//! `frontdoor agency …` and `frontdoor user …`: accounts and agencies from the command line.

use crate::StoreArgs;
use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::Subcommand;
use frontdoor_core::{AgencyKind, Role};
use frontdoor_web::passwords::{Passwords, generate_password};
use frontdoor_web::service::{self, NewUser};
use std::io::Read;

#[derive(Subcommand)]
pub enum AgencyCommand {
    /// Register a partner agency.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// The agency's name as users will see it, e.g. "Northshire Police".
        #[arg(long)]
        name: String,
        /// childrens_services, police, health, school, education, housing, probation, licensing, voluntary, other
        #[arg(long, value_parser = parse_kind)]
        kind: AgencyKind,
    },
    /// List agencies.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user. Without --password-stdin a password is generated and printed once.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// Sign-in name (stored in lower case).
        #[arg(long)]
        username: String,
        /// The person's name as colleagues see it in chronologies.
        #[arg(long)]
        display_name: String,
        /// The agency's name (as `agency list` shows it).
        #[arg(long)]
        agency: String,
        /// A role; repeat for several: front_door_advisor, safeguarding_lead, cse_worker, cse_manager,
        /// agency_practitioner, agency_lead, intelligence_submitter, analyst, administrator, auditor
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user; their sessions end at once.
    Disable {
        #[command(flatten)]
        store: StoreArgs,
        /// The user to disable.
        #[arg(long)]
        username: String,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
    },
    /// List users.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn parse_kind(s: &str) -> Result<AgencyKind, String> {
    s.parse()
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

pub async fn agency(cmd: AgencyCommand) -> Result<()> {
    match cmd {
        AgencyCommand::Add { store, name, kind } => {
            let (_, store) = store.open().await?;
            let id = service::register_agency(&store, &name, kind, None, Utc::now()).await?;
            println!("agency added: {name} ({kind}) {id}");
        }
        AgencyCommand::List { store } => {
            let (_, store) = store.open().await?;
            for a in store.agencies().await? {
                println!("{}\t{}\t{}", a.name, a.kind, a.id);
            }
        }
    }
    Ok(())
}

pub async fn user(cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { store, username, display_name, agency, roles, password_stdin } => {
            let (cfg, store) = store.open().await?;
            let agencies = store.agencies().await?;
            let found = agencies
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(agency.trim()) || a.id.to_string() == agency.trim())
                .ok_or_else(|| anyhow!("no agency called '{agency}' (see `frontdoor agency list`)"))?;
            let (password, generated) = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).context("cannot read the password from standard input")?;
                (s.trim_end_matches(['\n', '\r']).to_owned(), false)
            } else {
                (generate_password(), true)
            };
            let passwords = Passwords::new(&cfg).map_err(anyhow::Error::msg)?;
            let new = NewUser { username: username.clone(), display_name, agency_id: found.id, roles };
            service::register_user(&store, &passwords, new, &password, None, Utc::now()).await?;
            println!("user added: {}", username.trim().to_ascii_lowercase());
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserCommand::Disable { store, username, reason } => {
            let (_, store) = store.open().await?;
            service::disable_user(&store, &username, &reason, None, Utc::now()).await?;
            println!("user disabled: {username}");
        }
        UserCommand::List { store } => {
            let (_, store) = store.open().await?;
            let users = store.users().await?;
            if users.is_empty() {
                bail!("no users yet: add one with `frontdoor user add`");
            }
            println!("{:<24} {:<40} {:<32} status", "username", "roles", "agency");
            for u in users {
                let roles: Vec<_> = u.roles.iter().map(|r| r.as_str()).collect();
                println!(
                    "{:<24} {:<40} {:<32} {}",
                    u.username,
                    roles.join(","),
                    u.agency.name,
                    if u.disabled { "disabled" } else { "active" }
                );
            }
        }
    }
    Ok(())
}
