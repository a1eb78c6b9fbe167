//! Indicator screening at intake: the authority's lexicon (built in, or the file the
//! configuration names), applied to every contact's narrative as it is recorded.

use crate::config::Config;
use frontdoor_core::IndicatorMention;
use frontdoor_screen::lexicon::Lexicon;
use sha2::{Digest, Sha256};

/// The lexicon shipped with Frontdoor (`config/lexicon.toml`).
const BUILT_IN: &str = include_str!("../../../config/lexicon.toml");

pub struct Screening {
    lexicon: Lexicon,
    /// SHA-256 prefix of the lexicon text, recorded with every screening.
    version: String,
}

impl Screening {
    /// The shipped lexicon.
    pub fn built_in() -> Result<Screening, String> {
        Self::from_text("config/lexicon.toml (built in)", BUILT_IN)
    }

    /// The configured lexicon: `lexicon_file`, or the shipped one. An error names file:line.
    pub fn load(cfg: &Config) -> Result<Screening, String> {
        if cfg.lexicon_file.is_empty() {
            return Self::built_in();
        }
        let text = std::fs::read_to_string(&cfg.lexicon_file)
            .map_err(|e| format!("{}: cannot read: {e}", cfg.lexicon_file))?;
        Self::from_text(&cfg.lexicon_file, &text)
    }

    fn from_text(name: &str, text: &str) -> Result<Screening, String> {
        let lexicon = Lexicon::from_toml(name, text).map_err(|e| e.to_string())?;
        let version = hex::encode(Sha256::digest(text.as_bytes()))[..12].to_owned();
        Ok(Screening { lexicon, version })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn screen(&self, narrative: &str) -> Vec<IndicatorMention> {
        self.lexicon.screen(narrative)
    }
}
