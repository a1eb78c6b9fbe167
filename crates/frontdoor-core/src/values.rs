//! Domain values that parse, not validate: once you hold one, it is valid.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Why a value was refused. The message is safe to show to the user who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    #[error("must not be empty")]
    Empty,
    #[error("is too long (at most {max} characters)")]
    TooLong { max: usize },
    #[error("contains characters that are not allowed")]
    BadCharacters,
    #[error("must be a date written YYYY-MM-DD")]
    BadDate,
    #[error("must not be in the future")]
    FutureDate,
    #[error("must not be before 1900")]
    TooOld,
    #[error("is not a valid UK postcode")]
    BadPostcode,
    #[error("is not a DfE contact source code (expected one of {expected})")]
    UnknownSourceCode { expected: String },
    #[error("is not a known channel (expected one of {expected})")]
    UnknownChannel { expected: String },
    #[error("must be M, F or U")]
    BadSex,
    #[error("may contain only lower-case letters, digits, '.', '_' and '-', 3 to 64 characters")]
    BadUsername,
}

fn trimmed_bounded(raw: &str, max: usize) -> Result<String, ValueError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    if s.chars().count() > max {
        return Err(ValueError::TooLong { max });
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(ValueError::BadCharacters);
    }
    Ok(s.to_owned())
}

/// A given or family name as the reporter gave it (trimmed, 1–100 characters, no control chars).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub const MAX: usize = 100;
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        trimmed_bounded(raw, Self::MAX).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Lower-case, letters only: the key used for exact identity checks until the
    /// probabilistic matcher (F5) takes over.
    pub fn match_key(&self) -> String {
        self.0.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
    }
}

impl TryFrom<String> for PersonName {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<PersonName> for String {
    fn from(n: PersonName) -> String {
        n.0
    }
}
impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A date of birth: a real calendar date, not in the future, not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, ValueError> {
        let d = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| ValueError::BadDate)?;
        // chrono accepts "2020-1-5"; we insist on the canonical form so stored text is unambiguous.
        if d.format("%Y-%m-%d").to_string() != raw.trim() {
            return Err(ValueError::BadDate);
        }
        Self::from_date(d, today)
    }
    pub fn from_date(d: NaiveDate, today: NaiveDate) -> Result<Self, ValueError> {
        if d > today {
            return Err(ValueError::FutureDate);
        }
        if d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
            return Err(ValueError::TooOld);
        }
        Ok(Self(d))
    }
    pub fn date(&self) -> NaiveDate {
        self.0
    }
    /// Age in whole years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> u32 {
        on.years_since(self.0).unwrap_or(0)
    }
}

impl fmt::Display for DateOfBirth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// A UK postcode, normalised to upper case with one space before the inward code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect();
        // Outward code 2–4 chars (letter first), inward code digit + 2 letters.
        if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
            return Err(ValueError::BadPostcode);
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        let ib = inward.as_bytes();
        let inward_ok = ib[0].is_ascii_digit() && ib[1].is_ascii_alphabetic() && ib[2].is_ascii_alphabetic();
        let ob = outward.as_bytes();
        let outward_ok = ob[0].is_ascii_alphabetic()
            && ob.iter().all(|b| b.is_ascii_alphanumeric())
            && ob.iter().any(|b| b.is_ascii_digit());
        if !inward_ok || !outward_ok {
            return Err(ValueError::BadPostcode);
        }
        Ok(Self(format!("{outward} {inward}")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn outward(&self) -> &str {
        self.0.split(' ').next().unwrap_or(&self.0)
    }
}
impl TryFrom<String> for Postcode {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Postcode> for String {
    fn from(p: Postcode) -> String {
        p.0
    }
}

/// The DfE contact/referral source code (CIN census ReferralSource, 8866).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceCode(&'static str);

impl Serialize for SourceCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for SourceCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SourceCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl SourceCode {
    /// Every code with its label, in census order.
    pub const ALL: [(&'static str, &'static str); 22] = [
        ("1A", "Individual – family member, relative or carer"),
        ("1B", "Individual – acquaintance"),
        ("1C", "Individual – self"),
        ("1D", "Individual – other"),
        ("2A", "Schools"),
        ("2B", "Education services"),
        ("3A", "Health – GP"),
        ("3B", "Health – health visitor"),
        ("3C", "Health – school nurse"),
        ("3D", "Health – other primary health services"),
        ("3E", "Health – A&E"),
        ("3F", "Health – other"),
        ("4", "Housing"),
        ("5A", "LA services – social care"),
        ("5B", "LA services – other internal"),
        ("5C", "LA services – external"),
        ("5D", "LA services – early help"),
        ("6", "Police"),
        ("7", "Other legal agency"),
        ("8", "Other"),
        ("9", "Anonymous"),
        ("10", "Unknown"),
    ];

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_ascii_uppercase();
        Self::ALL.iter().find(|(code, _)| *code == s).map(|(code, _)| Self(code)).ok_or_else(|| {
            ValueError::UnknownSourceCode { expected: Self::ALL.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ") }
        })
    }
    pub fn as_str(&self) -> &'static str {
        self.0
    }
    pub fn label(&self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self.0).map(|(_, l)| *l).unwrap_or("")
    }
}

/// How a contact reached the front door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Email,
    InPerson,
    ProfessionalReferral,
    OnlineForm,
    AnonymousLine,
    Feed,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Phone,
        Channel::Email,
        Channel::InPerson,
        Channel::ProfessionalReferral,
        Channel::OnlineForm,
        Channel::AnonymousLine,
        Channel::Feed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::InPerson => "in_person",
            Channel::ProfessionalReferral => "professional_referral",
            Channel::OnlineForm => "online_form",
            Channel::AnonymousLine => "anonymous_line",
            Channel::Feed => "feed",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Channel::Phone => "Phone call",
            Channel::Email => "E-mail",
            Channel::InPerson => "In person",
            Channel::ProfessionalReferral => "Professional referral",
            Channel::OnlineForm => "Online form",
            Channel::AnonymousLine => "Anonymous line",
            Channel::Feed => "Machine feed",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| ValueError::UnknownChannel {
            expected: Self::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// Sex as the census codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    M,
    F,
    U,
}

impl Sex {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "M" | "MALE" => Ok(Sex::M),
            "F" | "FEMALE" => Ok(Sex::F),
            "U" | "UNKNOWN" | "" => Ok(Sex::U),
            _ => Err(ValueError::BadSex),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
            Sex::U => "U",
        }
    }
}

/// The free-text account of a concern: 1–20,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Narrative(String);

impl Narrative {
    pub const MAX: usize = 20_000;
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ValueError::Empty);
        }
        if s.chars().count() > Self::MAX {
            return Err(ValueError::TooLong { max: Self::MAX });
        }
        // Newlines and tabs are part of a narrative; other control characters are not.
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
            return Err(ValueError::BadCharacters);
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Narrative {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Narrative> for String {
    fn from(n: Narrative) -> String {
        n.0
    }
}

/// A login name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_ascii_lowercase();
        let ok = (3..=64).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if ok { Ok(Self(s)) } else { Err(ValueError::BadUsername) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Username {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}
impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    #[test]
    fn dates_of_birth() {
        let cases = [
            ("2015-03-04", Ok("2015-03-04")),
            ("2026-11-28", Ok("2026-11-28")),
            ("2026-11-29", Err(ValueError::FutureDate)),
            ("1899-12-31", Err(ValueError::TooOld)),
            ("1900-01-01", Ok("1900-01-01")),
            ("2015-02-30", Err(ValueError::BadDate)),
            ("04/03/2015", Err(ValueError::BadDate)),
            ("2015-3-4", Err(ValueError::BadDate)),
            ("", Err(ValueError::BadDate)),
        ];
        for (input, expected) in cases {
            let got = DateOfBirth::parse(input, today()).map(|d| d.to_string());
            assert_eq!(got, expected.map(str::to_owned), "input {input:?}");
        }
    }

    #[test]
    fn postcodes() {
        let cases = [
            ("tf3 4aa", Some("TF3 4AA")),
            ("TF34AA", Some("TF3 4AA")),
            ("SW1A 1AA", Some("SW1A 1AA")),
            ("M1 1AE", Some("M1 1AE")),
            ("12345", None),
            ("TF3 4A", None),
            ("", None),
            ("ABCDEFG", None),
        ];
        for (input, expected) in cases {
            assert_eq!(Postcode::parse(input).ok().map(|p| p.0), expected.map(str::to_owned), "{input}");
        }
        assert_eq!(Postcode::parse("tf3 4aa").unwrap().outward(), "TF3");
    }

    #[test]
    fn source_codes() {
        assert_eq!(SourceCode::parse("2a").unwrap().as_str(), "2A");
        assert_eq!(SourceCode::parse("6").unwrap().label(), "Police");
        assert!(SourceCode::parse("11").is_err());
        assert!(SourceCode::parse("").is_err());
    }

    #[test]
    fn names_and_narratives() {
        assert_eq!(PersonName::parse("  Amy ").unwrap().as_str(), "Amy");
        assert_eq!(PersonName::parse("O'Neil-Smith").unwrap().match_key(), "oneilsmith");
        assert_eq!(PersonName::parse(" "), Err(ValueError::Empty));
        assert_eq!(PersonName::parse(&"x".repeat(101)), Err(ValueError::TooLong { max: 100 }));
        assert_eq!(PersonName::parse("a\u{0}b"), Err(ValueError::BadCharacters));
        assert!(Narrative::parse("line one\nline two").is_ok());
        assert_eq!(Narrative::parse(""), Err(ValueError::Empty));
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("A.Advisor").unwrap().as_str(), "a.advisor");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("bad name").is_err());
    }
}
