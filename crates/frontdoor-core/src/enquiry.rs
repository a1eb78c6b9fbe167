//! The multi-agency child enquiry (F6, the seed's MACE): the lead social worker asks named
//! agencies what they know about a child; each agency's contributions stay in its own
//! compartment unless released with recorded consent or a safeguarding override.
//!
//! Who may see which contribution is decided in [`crate::policy`]; this module holds the
//! vocabulary and the checks on what a user typed.

use crate::ids::{AgencyId, UserId};
use crate::triage::word_enum;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

word_enum!(
    /// How an enquiry ended.
    EnquiryOutcome {
        NoFurtherAction => "no_further_action" / "No further action",
        EarlyHelp => "early_help" / "Early help",
        /// A section 47 enquiry under child-protection procedures.
        ChildProtection => "child_protection" / "Child protection (section 47)",
        CsePathway => "cse_pathway" / "CSE pathway",
    }
);

word_enum!(
    /// How sure the contributing agency is of what it reports.
    Confidence {
        /// Seen or verified by the agency itself.
        Confirmed => "confirmed" / "Confirmed",
        /// Reported to the agency by someone it considers reliable.
        Reported => "reported" / "Reported",
        /// Suspicion or hearsay, not verified.
        Unverified => "unverified" / "Unverified",
    }
);

word_enum!(
    /// Why a contribution may leave its agency's compartment.
    ReleaseBasis {
        /// The person (or someone able to consent for them) agreed.
        Consent => "consent" / "Consent recorded",
        /// Sharing without consent to protect a child (reason required).
        SafeguardingOverride => "safeguarding_override" / "Safeguarding override",
    }
);

/// Who an enquiry belongs to: the facts the policy decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnquiryParties {
    /// The social worker who opened it: sees everything.
    pub lead: UserId,
    /// Managers named on the enquiry: see everything.
    pub managers: Vec<UserId>,
    /// The agencies asked: each sees the question and its own contributions.
    pub asked: Vec<AgencyId>,
}

/// A suspected perpetrator an enquiry is about (F6: "about a child or a suspected perpetrator"),
/// as the lead names them; not a record of the front door's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonOfConcern {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    /// What is known or suspected, and why the agencies are asked.
    #[serde(default)]
    pub description: String,
}

impl PersonOfConcern {
    /// Checks a person of concern as typed (`None` when the name is empty: no person named).
    pub fn parse(
        name: &str,
        date_of_birth: &str,
        description: &str,
        today: NaiveDate,
    ) -> Result<Option<Self>, Vec<Problem>> {
        let mut problems = Vec::new();
        let name = name.trim();
        if name.is_empty() {
            return Ok(None);
        }
        if name.chars().count() > 200 {
            problems.push(Problem { field: "person_name", message: "must be at most 200 characters".into() });
        }
        let date_of_birth = match date_of_birth.trim() {
            "" => None,
            s => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) if d <= today => Some(d),
                Ok(_) => {
                    problems.push(Problem { field: "person_date_of_birth", message: "cannot be in the future".into() });
                    None
                }
                Err(_) => {
                    problems.push(Problem {
                        field: "person_date_of_birth",
                        message: "must be a date as YYYY-MM-DD".into(),
                    });
                    None
                }
            },
        };
        let description = description.trim();
        if description.chars().count() > 5_000 {
            problems.push(Problem { field: "person_description", message: "must be at most 5,000 characters".into() });
        }
        if problems.is_empty() {
            Ok(Some(PersonOfConcern { name: name.to_owned(), date_of_birth, description: description.to_owned() }))
        } else {
            Err(problems)
        }
    }
}

/// A problem with one field, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: &'static str,
    pub message: String,
}

/// Text a person must give, trimmed, within `max` characters.
pub fn required_text(field: &'static str, text: &str, max: usize, what: &str, problems: &mut Vec<Problem>) -> String {
    let t = text.trim();
    if t.is_empty() {
        problems.push(Problem { field, message: what.to_owned() });
    } else if t.chars().count() > max {
        problems.push(Problem { field, message: format!("must be at most {max} characters") });
    }
    t.to_owned()
}

/// What a contribution says, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionText {
    pub text: String,
    /// When what it reports happened or was known (not after `today`).
    pub known_on: Option<NaiveDate>,
    /// Where the agency's knowledge comes from (its system, a named record, a conversation).
    pub source: String,
    pub confidence: Confidence,
}

impl ContributionText {
    /// Checks a contribution as typed: every problem named. `confidence` defaults to reported,
    /// `source` to the agency's records.
    pub fn parse(
        text: &str,
        known_on: &str,
        source: &str,
        confidence: &str,
        today: NaiveDate,
    ) -> Result<ContributionText, Vec<Problem>> {
        let mut problems = Vec::new();
        let text = required_text("text", text, 10_000, "say what your agency knows", &mut problems);
        let known_on = match known_on.trim() {
            "" => None,
            s => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) if d > today => {
                    problems.push(Problem { field: "known_on", message: "cannot be in the future".into() });
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(Problem { field: "known_on", message: "must be a date as YYYY-MM-DD".into() });
                    None
                }
            },
        };
        let source = match source.trim() {
            "" => "the agency's own records".to_owned(),
            s if s.chars().count() > 200 => {
                problems.push(Problem { field: "source", message: "must be at most 200 characters".into() });
                String::new()
            }
            s => s.to_owned(),
        };
        let confidence = match confidence.trim() {
            "" => Confidence::Reported,
            s => Confidence::parse(s).unwrap_or_else(|| {
                problems.push(Problem {
                    field: "confidence",
                    message: format!("choose one of {}", Confidence::expected()),
                });
                Confidence::Reported
            }),
        };
        if problems.is_empty() { Ok(ContributionText { text, known_on, source, confidence }) } else { Err(problems) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap_or_default()
    }

    #[test]
    fn a_contribution_names_every_bad_field() {
        let e = ContributionText::parse("  ", "2027-01-01", &"x".repeat(201), "sure", today()).unwrap_err();
        let fields: Vec<_> = e.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["text", "known_on", "source", "confidence"]);
        let e = ContributionText::parse("seen with older males", "29/11/2026", "", "", today()).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].message.contains("YYYY-MM-DD"));
    }

    #[test]
    fn a_contribution_defaults_its_source_and_confidence() {
        let c = ContributionText::parse(" seen in a car ", "2026-11-28", "", "", today()).unwrap();
        assert_eq!(c.text, "seen in a car");
        assert_eq!(c.known_on, NaiveDate::from_ymd_opt(2026, 11, 28));
        assert_eq!(c.confidence, Confidence::Reported);
        assert!(!c.source.is_empty());
    }
}
