//! The support directory (F13, practitioner side): which services a CSE risk assessment's needs
//! route to, from which risk level and at which stages of the pathway (a referral below a
//! service's threshold is refused, saying why), and which declined referrals schedule a
//! re-contact (the seed's
//! Rec 8: a young person who declines CAMHS is offered it again later). A TOML file
//! (`support_file`, or `config/support.toml` shipped); a mistake stops the server naming
//! `file:line`.

use frontdoor_core::pathway::{RiskLevel, Stage};
use serde::Deserialize;

/// The shipped directory.
pub const BUILT_IN: &str = include_str!("../../../config/support.toml");

/// The needs an assessment can name, with their labels.
pub const NEEDS: [(&str, &str); 9] = [
    ("camhs", "CAMHS (mental health)"),
    ("isva", "ISVA (independent sexual violence adviser)"),
    ("counselling", "Counselling"),
    ("sexual_health", "Sexual health service"),
    ("parents_support", "Support for parents"),
    ("substance_misuse", "Substance misuse service"),
    ("education_support", "Education support"),
    ("witness_care", "Witness care"),
    ("out_of_hours", "Out-of-hours support"),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    pub need: String,
    pub name: String,
    #[serde(default)]
    pub contact: String,
    /// What it does, in plain words for the public site's support page (empty: not listed there).
    #[serde(default)]
    pub about: String,
    /// Referrals from this risk level up (none: any).
    #[serde(default)]
    pub min_level: Option<RiskLevel>,
    /// The stages of the pathway at which it takes referrals (empty: any open stage).
    #[serde(default)]
    pub stages: Vec<Stage>,
}

impl Service {
    /// Why a case at this level and stage may not be referred here yet; `None` when it may.
    pub fn threshold_unmet(&self, level: Option<RiskLevel>, stage: Stage) -> Option<String> {
        if let Some(min) = self.min_level {
            match level {
                None => return Some(format!("takes referrals from {} risk; no risk level is agreed yet", min.label())),
                Some(l) if l < min => {
                    return Some(format!("takes referrals from {} risk; this case is {}", min.label(), l.label()));
                }
                Some(_) => {}
            }
        }
        if !self.stages.is_empty() && !self.stages.contains(&stage) {
            let at: Vec<&str> = self.stages.iter().map(|s| s.label()).collect();
            return Some(format!("takes referrals only at: {}; this case is: {}", at.join("; "), stage.label()));
        }
        None
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    #[serde(default)]
    pub recontact_needs: Vec<String>,
    #[serde(default = "three")]
    pub recontact_months: u32,
    #[serde(default, rename = "service")]
    pub services: Vec<Service>,
}

fn three() -> u32 {
    3
}

/// A service proposed for a case, and why it is not open to it yet, if it is not.
#[derive(Debug, Clone)]
pub struct Proposal<'d> {
    pub service: &'d Service,
    /// The case's level or stage is below the service's threshold: why.
    pub threshold_unmet: Option<String>,
}

impl Directory {
    /// Parses a directory; every problem names `file:line`.
    pub fn parse(file: &str, text: &str) -> Result<Directory, String> {
        let line_of = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
        let d: Directory = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(s.start));
            format!("{file}:{line}: {}", e.message().lines().next().unwrap_or("invalid support directory"))
        })?;
        let find = |needle: &str| text.find(needle).map_or(1, line_of);
        let mut seen = std::collections::HashSet::new();
        for s in &d.services {
            if !NEEDS.iter().any(|(n, _)| *n == s.need) {
                let names: Vec<_> = NEEDS.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "{file}:{}: service '{}': need '{}' is not one of {}",
                    find(&format!("need = \"{}\"", s.need)),
                    s.id,
                    s.need,
                    names.join(", ")
                ));
            }
            if !seen.insert(s.id.as_str()) {
                return Err(format!(
                    "{file}:{}: service id '{}' appears twice",
                    find(&format!("id = \"{}\"", s.id)),
                    s.id
                ));
            }
        }
        if let Some(n) = d.recontact_needs.iter().find(|n| !NEEDS.iter().any(|(x, _)| x == n)) {
            return Err(format!("{file}:{}: recontact_needs: '{n}' is not a need", find("recontact_needs")));
        }
        if d.recontact_months == 0 || d.recontact_months > 24 {
            return Err(format!("{file}:{}: recontact_months must be 1 to 24", find("recontact_months")));
        }
        Ok(d)
    }

    pub fn built_in() -> Directory {
        // The shipped file is checked by a test; an empty directory if it were ever broken.
        Directory::parse("config/support.toml", BUILT_IN).unwrap_or(Directory {
            recontact_needs: Vec::new(),
            recontact_months: 3,
            services: Vec::new(),
        })
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// The services an assessment's needs route to, and whether a case at this risk level and
    /// stage meets each one's threshold.
    pub fn proposals(&self, needs: &[String], level: Option<RiskLevel>, stage: Stage) -> Vec<Proposal<'_>> {
        self.services
            .iter()
            .filter(|s| needs.contains(&s.need))
            .map(|s| Proposal { service: s, threshold_unmet: s.threshold_unmet(level, stage) })
            .collect()
    }

    /// Does declining this service schedule a re-contact?
    pub fn recontacts(&self, service: &Service) -> bool {
        self.recontact_needs.contains(&service.need)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_directory_parses_and_routes_needs_by_level() {
        let d = Directory::parse("config/support.toml", BUILT_IN).unwrap();
        assert!(d.services.len() >= 8);
        let needs = vec!["camhs".to_owned(), "isva".to_owned()];
        let low = d.proposals(&needs, Some(RiskLevel::Low), Stage::Panel);
        assert_eq!(low.len(), 2);
        let isva = low.iter().find(|p| p.service.id == "isva").unwrap();
        assert_eq!(isva.threshold_unmet.as_deref(), Some("takes referrals from Medium risk; this case is Low"));
        assert!(low.iter().any(|p| p.service.id == "camhs" && p.threshold_unmet.is_none()));
        assert!(d.proposals(&needs, Some(RiskLevel::High), Stage::Plan).iter().all(|p| p.threshold_unmet.is_none()));
        // Witness care: from medium-high, and only once the panel has met.
        let witness = d.service("witness_care").unwrap();
        assert!(witness.threshold_unmet(None, Stage::Allocated).unwrap().contains("no risk level is agreed yet"));
        assert!(witness.threshold_unmet(Some(RiskLevel::High), Stage::Assessed).unwrap().contains("only at"));
        assert_eq!(witness.threshold_unmet(Some(RiskLevel::High), Stage::Plan), None);
        assert_eq!(witness.threshold_unmet(Some(RiskLevel::MediumHigh), Stage::Panel), None);
        assert!(d.recontacts(d.service("camhs").unwrap()) && !d.recontacts(d.service("isva").unwrap()));
    }

    #[test]
    fn mistakes_name_the_file_and_line() {
        let e = Directory::parse("s.toml", "[[service]]\nid = \"x\"\nneed = \"therapy\"\nname = \"X\"\n").unwrap_err();
        assert!(e.starts_with("s.toml:3: service 'x': need 'therapy'"), "{e}");
        let e = Directory::parse(
            "s.toml",
            "recontact_months = 3\n[[service]]\nid = \"x\"\nneed = \"camhs\"\nname = \"X\"\nmin_level = \"severe\"\n",
        )
        .unwrap_err();
        assert!(e.starts_with("s.toml:6: "), "{e}");
        let e = Directory::parse(
            "s.toml",
            "[[service]]\nid = \"x\"\nneed = \"camhs\"\nname = \"X\"\nstages = [\"panle\"]\n",
        )
        .unwrap_err();
        assert!(e.starts_with("s.toml:5: "), "{e}");
        let e = Directory::parse("s.toml", "recontact_months = 0\n").unwrap_err();
        assert!(e.starts_with("s.toml:1: recontact_months"), "{e}");
    }
}
