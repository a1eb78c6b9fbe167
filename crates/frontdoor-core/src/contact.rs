//! A contact: one concern about a child, from any channel. `ContactDraft` is what a form or the
//! API sends; `NewContact` is what remains once every field has parsed.

use crate::triage::Reporter;
use crate::values::{Channel, DateOfBirth, Narrative, PersonName, Postcode, Sex, SourceCode, ValueError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The child a contact is about, as the reporter described them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChildDraft {
    pub given_name: String,
    pub family_name: String,
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
}

/// Unparsed contact input (API body or form fields).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContactDraft {
    pub channel: String,
    pub source_code: String,
    pub child: ChildDraft,
    pub narrative: String,
    /// When the concern was raised, RFC 3339; defaults to the time it is recorded.
    #[serde(default)]
    pub received_at: Option<String>,
    /// The protocol (call type) the advisor followed; `general_advice` when absent.
    #[serde(default)]
    pub call_type: Option<String>,
    /// Answers to the protocol's questions, keyed by question id (checked against the protocol
    /// by the intake service, which knows the protocols).
    #[serde(default)]
    pub answers: Option<serde_json::Value>,
    /// The reporter asked not to be identified: no name, contact details or address is taken.
    #[serde(default)]
    pub anonymous: bool,
    /// Who raised the concern, when they are willing to say.
    #[serde(default)]
    pub reporter: Option<ReporterDraft>,
}

/// The reporter as the form or API gave them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReporterDraft {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub relationship: String,
    #[serde(default)]
    pub phone: String,
}

impl ReporterDraft {
    fn is_empty(&self) -> bool {
        self.name.trim().is_empty() && self.relationship.trim().is_empty() && self.phone.trim().is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildSubject {
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub date_of_birth: Option<DateOfBirth>,
    pub sex: Option<Sex>,
    pub postcode: Option<Postcode>,
}

impl ChildSubject {
    /// The exact-identity key (normalised names + date of birth) used to find the child's
    /// existing record until the probabilistic matcher (F5) replaces it.
    pub fn match_key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.given_name.match_key(),
            self.family_name.match_key(),
            self.date_of_birth.map(|d| d.to_string()).unwrap_or_default()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub channel: Channel,
    pub source_code: SourceCode,
    pub child: ChildSubject,
    pub narrative: Narrative,
    pub received_at: DateTime<Utc>,
    /// Anonymous contacts never carry a reporter.
    pub anonymous: bool,
    pub reporter: Option<Reporter>,
}

/// One field that did not parse, named by its path in the input (`child.date_of_birth`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{} field(s) are not valid: {}", .0.len(), .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ContactError(pub Vec<FieldError>);

impl ContactDraft {
    /// Parse every field, collecting all errors so the user can fix them in one go.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<NewContact, ContactError> {
        let today: NaiveDate = now.date_naive();
        let mut errors = Vec::new();
        let mut check = |field: &str, r: Result<(), ValueError>| {
            if let Err(e) = r {
                errors.push(FieldError { field: field.to_owned(), message: e.to_string() });
            }
        };
        let channel = Channel::parse(&self.channel);
        check("channel", channel.as_ref().map(|_| ()).map_err(Clone::clone));
        let source_code = SourceCode::parse(&self.source_code);
        check("source_code", source_code.as_ref().map(|_| ()).map_err(Clone::clone));
        let given = PersonName::parse(&self.child.given_name);
        check("child.given_name", given.as_ref().map(|_| ()).map_err(Clone::clone));
        let family = PersonName::parse(&self.child.family_name);
        check("child.family_name", family.as_ref().map(|_| ()).map_err(Clone::clone));
        let dob = non_empty(&self.child.date_of_birth).map(|s| DateOfBirth::parse(s, today)).transpose();
        check("child.date_of_birth", dob.as_ref().map(|_| ()).map_err(Clone::clone));
        let sex = non_empty(&self.child.sex).map(Sex::parse).transpose();
        check("child.sex", sex.as_ref().map(|_| ()).map_err(Clone::clone));
        let postcode = non_empty(&self.child.postcode).map(Postcode::parse).transpose();
        check("child.postcode", postcode.as_ref().map(|_| ()).map_err(Clone::clone));
        let narrative = Narrative::parse(&self.narrative);
        check("narrative", narrative.as_ref().map(|_| ()).map_err(Clone::clone));
        let received_at = match non_empty(&self.received_at) {
            None => Ok(now),
            Some(s) => match DateTime::parse_from_rfc3339(s) {
                Err(_) => Err(ValueError::BadDate),
                Ok(t) if t.with_timezone(&Utc) > now => Err(ValueError::FutureDate),
                Ok(t) if t.date_naive() < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) => {
                    Err(ValueError::TooOld)
                }
                Ok(t) => Ok(t.with_timezone(&Utc)),
            },
        };
        if let Err(e) = &received_at {
            let message = match e {
                ValueError::BadDate => "must be a date and time in RFC 3339 form, e.g. 2026-03-01T14:30:00Z".to_owned(),
                other => other.to_string(),
            };
            errors.push(FieldError { field: "received_at".into(), message });
        }
        // Anonymity is the reporter's choice, and the anonymous line and source code imply it.
        let anonymous = self.anonymous
            || matches!(channel, Ok(Channel::AnonymousLine))
            || source_code.as_ref().is_ok_and(|c| c.as_str() == "9");
        let reporter = match &self.reporter {
            Some(r) if !r.is_empty() && anonymous => {
                errors.push(FieldError {
                    field: "reporter".into(),
                    message: "an anonymous contact does not take the reporter's name or contact details; leave them \
                              out or untick anonymous"
                        .into(),
                });
                None
            }
            Some(r) if !r.is_empty() => {
                let clean = |s: &str, field: &str, max: usize, errors: &mut Vec<FieldError>| {
                    let s = s.trim();
                    if s.chars().count() > max || s.chars().any(char::is_control) {
                        errors.push(FieldError {
                            field: format!("reporter.{field}"),
                            message: format!("must be at most {max} characters on one line"),
                        });
                    }
                    s.to_owned()
                };
                let name = clean(&r.name, "name", 200, &mut errors);
                if name.is_empty() {
                    errors.push(FieldError {
                        field: "reporter.name".into(),
                        message: "give the reporter's name, or mark the contact anonymous".into(),
                    });
                }
                let relationship = clean(&r.relationship, "relationship", 100, &mut errors);
                let phone = clean(&r.phone, "phone", 40, &mut errors);
                Some(Reporter { name, relationship, phone })
            }
            _ => None,
        };
        match (channel, source_code, given, family, dob, sex, postcode, narrative, received_at) {
            (
                Ok(channel),
                Ok(source_code),
                Ok(given_name),
                Ok(family_name),
                Ok(date_of_birth),
                Ok(sex),
                Ok(postcode),
                Ok(narrative),
                Ok(received_at),
            ) if errors.is_empty() => Ok(NewContact {
                channel,
                source_code,
                child: ChildSubject { given_name, family_name, date_of_birth, sex, postcode },
                narrative,
                received_at,
                anonymous,
                reporter,
            }),
            _ => Err(ContactError(errors)),
        }
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A contact reference people can read out on the phone: `FD-` and 12 Crockford base32
/// characters in groups of four (60 random bits, so collisions stay negligible at national scale).
pub fn reference_from_random(bits: u64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = String::from("FD-");
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let shift = 55 - 5 * i;
        out.push(ALPHABET[((bits >> shift) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn draft() -> ContactDraft {
        ContactDraft {
            channel: "phone".into(),
            source_code: "2A".into(),
            child: ChildDraft {
                given_name: "Amy".into(),
                family_name: "Test".into(),
                date_of_birth: Some("2012-05-01".into()),
                ..Default::default()
            },
            narrative: "School worried about older boyfriend".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_draft_parses() {
        let c = draft().parse(now()).unwrap();
        assert_eq!(c.source_code.as_str(), "2A");
        assert_eq!(c.received_at, now());
        assert_eq!(c.child.match_key(), "amy|test|2012-05-01");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut d = draft();
        d.channel = "fax".into();
        d.source_code = "99".into();
        d.child.given_name = "".into();
        d.child.date_of_birth = Some("2030-01-01".into());
        d.child.postcode = Some("nope".into());
        d.narrative = " ".into();
        d.received_at = Some("yesterday".into());
        let err = d.parse(now()).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "channel",
                "source_code",
                "child.given_name",
                "child.date_of_birth",
                "child.postcode",
                "narrative",
                "received_at"
            ]
        );
    }

    #[test]
    fn anonymous_contacts_take_no_reporter() {
        let mut d = draft();
        d.anonymous = true;
        d.reporter = Some(ReporterDraft { name: "Jo Bloggs".into(), ..Default::default() });
        assert_eq!(d.parse(now()).unwrap_err().0[0].field, "reporter");
        d.reporter = Some(ReporterDraft::default());
        let c = d.parse(now()).unwrap();
        assert!(c.anonymous && c.reporter.is_none());
        // The anonymous line implies anonymity, whatever the tick box says.
        let mut d = draft();
        d.channel = "anonymous_line".into();
        d.reporter = Some(ReporterDraft { name: "Jo".into(), phone: "07700 900123".into(), ..Default::default() });
        assert_eq!(d.parse(now()).unwrap_err().0[0].field, "reporter");
        let mut d = draft();
        d.reporter =
            Some(ReporterDraft { name: " Jo Bloggs ".into(), relationship: "aunt".into(), ..Default::default() });
        let c = d.parse(now()).unwrap();
        assert_eq!(c.reporter.unwrap().name, "Jo Bloggs");
        assert!(!c.anonymous);
    }

    #[test]
    fn received_in_the_future_is_refused() {
        let mut d = draft();
        d.received_at = Some("2026-11-29T00:00:00Z".into());
        assert_eq!(d.parse(now()).unwrap_err().0[0].field, "received_at");
    }

    #[test]
    fn references_are_grouped_base32() {
        let r = reference_from_random(u64::MAX);
        assert_eq!(r, "FD-ZZZZ-ZZZZ-ZZZZ");
        assert_eq!(reference_from_random(0), "FD-0000-0000-0000");
        assert_ne!(reference_from_random(1), reference_from_random(2));
    }
}
