//! Server configuration: a TOML file (unknown keys refused, errors name file:line), then
//! `FRONTDOOR_*` environment variables, then command-line flags, each overriding the last.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: usize, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the embedded database and demo files live.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL; empty for the embedded SQLite file in `data_dir`.
    pub database_url: String,
    /// Served to users over TLS (directly or via a proxy): cookies become `__Host-` and
    /// `Secure`, and HSTS is sent.
    pub tls: bool,
    /// How long a session lasts from sign-in, in minutes.
    pub session_minutes: u32,
    /// Failed sign-ins for one username, within `login_window_minutes`, before it is locked.
    pub login_max_failures: u32,
    pub login_window_minutes: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The indicator lexicon (TOML); empty for the one shipped with Frontdoor.
    pub lexicon_file: String,
    /// Argon2id cost. Defaults are OWASP's minimum (19 MiB, 2 passes).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// The directory of protocol files (one `CALL_TYPE.toml` each); empty for the shipped set.
    pub protocols_dir: String,
    /// The address users reach Frontdoor at, for links in e-mails (`https://frontdoor.example`).
    pub public_url: String,
    /// SMTP server for e-mail notifications: `smtp://host:port` (plain, for a relay on the
    /// local network) or `smtps://host:port` / `smtp+starttls://host:port`; empty turns e-mail off
    /// (notifications wait in the outbox until it is set).
    pub smtp_url: String,
    /// The From address of notification e-mails.
    pub mail_from: String,
    /// Team mailbox of the safeguarding advisors (threshold reached, urgent alerts).
    pub notify_safeguarding_email: String,
    /// Team mailbox of the front-door managers (escalations, overdue decisions).
    pub notify_managers_email: String,
    /// Alert rules (F4): the third contact about one child within this many days.
    pub repeat_contacts_threshold: u32,
    pub repeat_contacts_window_days: u32,
    /// Repeated missing episodes: this many within this many days escalates.
    pub repeat_missing_threshold: u32,
    pub repeat_missing_window_days: u32,
    /// School absence notifications alert at this many days absent.
    pub school_absence_days: u32,
    /// Sexual-health feeds: a second emergency contraception within this many days, or this many
    /// condom-card uses within the same window, alert.
    pub sexual_health_window_days: u32,
    pub emergency_contraception_repeat: u32,
    pub condom_card_uses: u32,
    /// An urgent alert nobody has acknowledged escalates to the managers after this long.
    pub escalate_after_minutes: u32,
    /// Person index (F5): two records are linked without a person at or above this match
    /// probability, and a record check calls them a sure match. A finished `link dedupe` run's
    /// own thresholds (stored with its model) win over these.
    pub link_auto_link: f64,
    /// At or above this (below `link_auto_link`) a pair waits for a person, and a record check
    /// shows a candidate.
    pub link_review: f64,
    /// The nickname table (TOML, as `config/nicknames.toml`); empty for the shipped one.
    pub nicknames_file: String,
    /// A multi-agency enquiry's agencies answer within this many working days unless the lead
    /// sets another time.
    pub enquiry_due_working_days: u32,
    /// The CSE pathway's deadlines (`[pathway]`: allocate_working_days, assess_working_days,
    /// panel_days, strategy_working_days, review_days_high, ..., holidays = ["2026-12-25"]).
    pub pathway: frontdoor_core::pathway::Timescales,
    /// Caseload weights and maximum (`[caseload]`: max, weight_high, ..., weight_unrated).
    pub caseload: frontdoor_core::pathway::Caseload,
    /// The support directory (TOML, as `config/support.toml`); empty for the shipped one.
    pub support_file: String,
    /// The public site (`[public]`: content_dir, phone, out_of_hours_phone, exit_url,
    /// form_idle_minutes, posts_per_minute).
    pub public: crate::public::PublicSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("frontdoor-data"),
            database_url: String::new(),
            tls: false,
            session_minutes: 8 * 60,
            login_max_failures: 5,
            login_window_minutes: 15,
            max_body_bytes: 256 * 1024,
            lexicon_file: String::new(),
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            protocols_dir: String::new(),
            public_url: "http://127.0.0.1:8080".into(),
            smtp_url: String::new(),
            mail_from: "frontdoor@localhost".into(),
            notify_safeguarding_email: String::new(),
            notify_managers_email: String::new(),
            repeat_contacts_threshold: 3,
            repeat_contacts_window_days: 365,
            repeat_missing_threshold: 3,
            repeat_missing_window_days: 90,
            school_absence_days: 10,
            sexual_health_window_days: 365,
            emergency_contraception_repeat: 2,
            condom_card_uses: 5,
            escalate_after_minutes: 60,
            link_auto_link: frontdoor_link::Settings::default().auto_link,
            link_review: frontdoor_link::Settings::default().review,
            nicknames_file: String::new(),
            enquiry_due_working_days: 3,
            pathway: frontdoor_core::pathway::Timescales::default(),
            caseload: frontdoor_core::pathway::Caseload::default(),
            support_file: String::new(),
            public: crate::public::PublicSettings::default(),
        }
    }
}

impl Config {
    /// Read a config file (if given) and apply environment overrides.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut cfg = match file {
            Some(path) => Self::from_file(path)?,
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: file.clone(), source })?;
        Self::from_toml(&file, &text)
    }

    pub fn from_toml(file: &str, text: &str) -> Result<Config, ConfigError> {
        let cfg = toml::from_str::<Config>(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
            // toml's message repeats the source excerpt; keep only the first line of its text.
            let message = e.message().lines().next().unwrap_or("invalid configuration").to_owned();
            ConfigError::Invalid { file: file.to_owned(), line, message }
        })?;
        if let Err(message) = cfg.link_settings() {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("link_review") || l.trim_start().starts_with("link_auto_link"))
                .map_or(1, |i| i + 1);
            return Err(ConfigError::Invalid { file: file.to_owned(), line, message });
        }
        let c = &cfg.caseload;
        let weights = [c.weight_high, c.weight_medium_high, c.weight_medium, c.weight_low, c.weight_unrated];
        if !(c.max > 0.0 && c.max.is_finite()) || weights.iter().any(|w| !(*w > 0.0 && w.is_finite())) {
            let line = text.lines().position(|l| l.trim_start().starts_with("[caseload]")).map_or(1, |i| i + 1);
            let message = "caseload: max and every weight must be positive numbers".to_owned();
            return Err(ConfigError::Invalid { file: file.to_owned(), line, message });
        }
        Ok(cfg)
    }

    /// The public site's pages (`[public] content_dir`), or the shipped ones.
    pub fn content(&self) -> Result<crate::public::Content, String> {
        if self.public.content_dir.is_empty() {
            crate::public::Content::built_in()
        } else {
            crate::public::Content::from_dir(&self.public.content_dir)
        }
    }

    /// The configured support directory (`support_file`), or the shipped one.
    pub fn support(&self) -> Result<crate::support::Directory, String> {
        if self.support_file.is_empty() {
            return crate::support::Directory::parse("config/support.toml", crate::support::BUILT_IN);
        }
        let text = std::fs::read_to_string(&self.support_file)
            .map_err(|e| format!("{}: cannot read: {e}", self.support_file))?;
        crate::support::Directory::parse(&self.support_file, &text)
    }

    /// The matcher's settings with the configured thresholds, or why they cannot be used.
    pub fn link_settings(&self) -> Result<frontdoor_link::Settings, String> {
        let (auto_link, review) = (self.link_auto_link, self.link_review);
        if !(0.0..=1.0).contains(&review) || !(review..=1.0).contains(&auto_link) {
            return Err(format!(
                "link_review {review} and link_auto_link {auto_link}: need 0 ≤ link_review ≤ link_auto_link ≤ 1"
            ));
        }
        Ok(frontdoor_link::Settings { auto_link, review, ..frontdoor_link::Settings::default() })
    }

    /// The configured nickname table (`nicknames_file`), or the shipped one.
    pub fn nicknames(&self) -> Result<frontdoor_link::Nicknames, String> {
        if self.nicknames_file.is_empty() {
            return Ok(frontdoor_link::Nicknames::builtin());
        }
        let text = std::fs::read_to_string(&self.nicknames_file)
            .map_err(|e| format!("{}: cannot read: {e}", self.nicknames_file))?;
        frontdoor_link::Nicknames::parse(&self.nicknames_file, &text).map_err(|e| e.to_string())
    }

    /// `FRONTDOOR_LISTEN`, `FRONTDOOR_DATA_DIR`, `FRONTDOOR_DATABASE_URL`, `FRONTDOOR_TLS`,
    /// `FRONTDOOR_SMTP_URL`, `FRONTDOOR_PUBLIC_URL`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("FRONTDOOR_LISTEN") {
            self.listen = v.parse().map_err(|_| ConfigError::Env {
                var: "FRONTDOOR_LISTEN".into(),
                message: format!("'{v}' is not an address like 127.0.0.1:8080"),
            })?;
        }
        if let Some(v) = get("FRONTDOOR_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("FRONTDOOR_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("FRONTDOOR_SMTP_URL") {
            self.smtp_url = v;
        }
        if let Some(v) = get("FRONTDOOR_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = get("FRONTDOOR_TLS") {
            self.tls = match v.as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(ConfigError::Env {
                        var: "FRONTDOOR_TLS".into(),
                        message: format!("'{v}' is not true or false"),
                    });
                }
            };
        }
        Ok(())
    }

    /// The database to open: the configured URL, or the SQLite file in the data directory.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("frontdoor.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_line() {
        let err = Config::from_toml("fd.toml", "listen = \"127.0.0.1:9000\"\n\nsesion_minutes = 5\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("fd.toml:3: "), "{msg}");
        assert!(msg.contains("sesion_minutes"), "{msg}");
        let err = Config::from_toml("fd.toml", "tls = \"maybe\"\n").unwrap_err().to_string();
        assert!(err.starts_with("fd.toml:1: "), "{err}");
    }

    #[test]
    fn contradictory_link_thresholds_are_refused_naming_the_line() {
        let err = Config::from_toml("fd.toml", "tls = false\nlink_review = 0.97\n").unwrap_err().to_string();
        assert!(err.starts_with("fd.toml:2: link_review 0.97 and link_auto_link 0.95"), "{err}");
        let ok = Config::from_toml("fd.toml", "link_auto_link = 0.99\nlink_review = 0.6\n").unwrap();
        let s = ok.link_settings().unwrap();
        assert_eq!((s.auto_link, s.review), (0.99, 0.6));
        let bad = Config { nicknames_file: "/nonexistent/nicknames.toml".into(), ..Config::default() };
        assert!(bad.nicknames().unwrap_err().contains("/nonexistent/nicknames.toml: cannot read"));
    }

    #[test]
    fn the_readme_configuration_example_parses_and_bad_pathway_settings_name_the_line() {
        let readme = include_str!("../../../README.md");
        let blocks: Vec<&str> = readme.split("```toml\n").skip(1).filter_map(|b| b.split("```").next()).collect();
        assert!(blocks.len() >= 2);
        for b in &blocks {
            Config::from_toml("README.md", b).unwrap();
        }
        let block = blocks.iter().find(|b| b.contains("[pathway]")).unwrap();
        let c = Config::from_toml("README.md", block).unwrap();
        assert_eq!(c.pathway.panel_days, 42);
        assert_eq!(c.pathway.holidays.len(), 2);
        assert_eq!(c.caseload.max, 10.0);
        let err = Config::from_toml("fd.toml", "[pathway]\nholidays = [\"25/12/2026\"]\n").unwrap_err().to_string();
        assert!(err.starts_with("fd.toml:2: "), "{err}");
        let err = Config::from_toml("fd.toml", "tls = false\n[caseload]\nmax = 0\n").unwrap_err().to_string();
        assert!(err.starts_with("fd.toml:2: caseload"), "{err}");
    }

    #[test]
    fn file_then_environment() {
        let mut c = Config::from_toml("fd.toml", "listen = \"127.0.0.1:9000\"\ntls = true\n").unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert!(c.tls);
        c.apply_env(|k| (k == "FRONTDOOR_LISTEN").then(|| "0.0.0.0:7000".to_owned())).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert!(c.apply_env(|k| (k == "FRONTDOOR_TLS").then(|| "perhaps".to_owned())).is_err());
        assert!(c.effective_database_url().starts_with("sqlite://"));
    }
}
