//! Everything intake applies to a contact as it is recorded: the authority's indicator lexicon
//! (built in, or the file the configuration names), its protocols (one file per call type,
//! built in or from `protocols_dir`), the alert thresholds (F4), where notifications go, and the
//! nickname table and thresholds for matching the contact's child to one already recorded (F5).

use crate::config::Config;
use frontdoor_core::IndicatorMention;
use frontdoor_link::Nicknames;
use frontdoor_screen::lexicon::{IndicatorGroup, Lexicon};
use frontdoor_screen::protocol::{Protocol, ProtocolSet};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The lexicon shipped with Frontdoor (`config/lexicon.toml`).
const BUILT_IN: &str = include_str!("../../../config/lexicon.toml");

/// The protocols shipped with Frontdoor (`config/protocols/`).
const BUILT_IN_PROTOCOLS: [(&str, &str); 10] = [
    ("config/protocols/cse_concern.toml", include_str!("../../../config/protocols/cse_concern.toml")),
    ("config/protocols/domestic_abuse.toml", include_str!("../../../config/protocols/domestic_abuse.toml")),
    ("config/protocols/emotional_wellbeing.toml", include_str!("../../../config/protocols/emotional_wellbeing.toml")),
    ("config/protocols/general_advice.toml", include_str!("../../../config/protocols/general_advice.toml")),
    ("config/protocols/missing_child.toml", include_str!("../../../config/protocols/missing_child.toml")),
    ("config/protocols/neglect.toml", include_str!("../../../config/protocols/neglect.toml")),
    ("config/protocols/online_harm.toml", include_str!("../../../config/protocols/online_harm.toml")),
    ("config/protocols/physical_abuse.toml", include_str!("../../../config/protocols/physical_abuse.toml")),
    ("config/protocols/school_absence.toml", include_str!("../../../config/protocols/school_absence.toml")),
    ("config/protocols/sexual_abuse.toml", include_str!("../../../config/protocols/sexual_abuse.toml")),
];

/// The call type used when a contact names none.
pub const DEFAULT_CALL_TYPE: &str = "general_advice";

pub struct Screening {
    lexicon: Lexicon,
    /// SHA-256 prefix of the lexicon text, recorded with every screening.
    version: String,
    protocols: ProtocolSet,
    /// The configuration it was loaded with: alert thresholds (F4) and notification recipients.
    pub cfg: Config,
    /// The nickname table and link thresholds the matcher weighs a contact's child with (F5).
    pub nicknames: Arc<Nicknames>,
    pub link: frontdoor_link::Settings,
}

impl Screening {
    /// The shipped lexicon and protocols, with the default thresholds.
    pub fn built_in() -> Result<Screening, String> {
        Self::assemble(&Config::default(), "config/lexicon.toml (built in)", BUILT_IN)
    }

    /// The configured lexicon and protocols: `lexicon_file` and `protocols_dir`, or the shipped
    /// ones. An error names file:line.
    pub fn load(cfg: &Config) -> Result<Screening, String> {
        if cfg.lexicon_file.is_empty() {
            return Self::assemble(cfg, "config/lexicon.toml (built in)", BUILT_IN);
        }
        let text = std::fs::read_to_string(&cfg.lexicon_file)
            .map_err(|e| format!("{}: cannot read: {e}", cfg.lexicon_file))?;
        Self::assemble(cfg, &cfg.lexicon_file, &text)
    }

    fn assemble(cfg: &Config, name: &str, text: &str) -> Result<Screening, String> {
        let lexicon = Lexicon::from_toml(name, text).map_err(|e| e.to_string())?;
        let version = hex::encode(Sha256::digest(text.as_bytes()))[..12].to_owned();
        let groups: Vec<&str> = IndicatorGroup::ALL.iter().map(|g| g.as_str()).collect();
        let protocols = if cfg.protocols_dir.is_empty() {
            ProtocolSet::from_files(BUILT_IN_PROTOCOLS, &groups)
        } else {
            ProtocolSet::load_dir(&cfg.protocols_dir, &groups)
        }
        .map_err(|e| e.to_string())?;
        if protocols.get(DEFAULT_CALL_TYPE).is_none() {
            return Err(format!(
                "{}: there must be a `{DEFAULT_CALL_TYPE}.toml` protocol, used when a contact names no call type",
                if cfg.protocols_dir.is_empty() { "config/protocols" } else { &cfg.protocols_dir }
            ));
        }
        let nicknames = Arc::new(cfg.nicknames()?);
        let link = cfg.link_settings()?;
        Ok(Screening { lexicon, version, protocols, cfg: cfg.clone(), nicknames, link })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn screen(&self, narrative: &str) -> Vec<IndicatorMention> {
        self.lexicon.screen(narrative)
    }

    pub fn protocols(&self) -> &ProtocolSet {
        &self.protocols
    }

    pub fn protocol(&self, call_type: &str) -> Option<&Protocol> {
        self.protocols.get(call_type)
    }
}
