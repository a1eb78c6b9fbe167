//! The front door's triage vocabulary: decisions on contacts, alert states, the flags a child's
//! record can carry, the signals machine feeds bring, and the "one working day" timescale.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal / $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
            /// The accepted spellings, comma-separated, for error messages.
            pub fn expected() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use word_enum;

word_enum!(
    /// What the front door decided to do with a contact.
    DecisionOutcome {
        NoFurtherAction => "no_further_action" / "No further action",
        InformationAndAdvice => "information_and_advice" / "Information and advice",
        EarlyHelp => "early_help" / "Early help",
        ReferralToCsc => "referral_to_csc" / "Referral to children's social care",
        CsePathway => "cse_pathway" / "Route to the CSE pathway",
        MultiAgencyEnquiry => "multi_agency_enquiry" / "Open a multi-agency enquiry",
    }
);

word_enum!(
    /// Where an alert is in its life: open → acknowledged → actioned | dismissed.
    AlertState {
        Open => "open" / "Open",
        Acknowledged => "acknowledged" / "Acknowledged",
        Actioned => "actioned" / "Actioned",
        Dismissed => "dismissed" / "Dismissed",
    }
);

impl AlertState {
    /// Actioned and dismissed alerts are finished; nothing changes them again.
    pub fn is_closed(self) -> bool {
        matches!(self, AlertState::Actioned | AlertState::Dismissed)
    }
}

word_enum!(
    /// Facts about a child that other systems (or children's services) hold, set and cleared on
    /// the child's record.
    ChildFlag {
        /// Subject of a child-protection plan (shown to health users, as CP-IS does).
        ChildProtectionPlan => "child_protection_plan" / "Child-protection plan",
        LookedAfter => "looked_after" / "Looked after",
        /// An open children's social care case: new contacts are not counted as referrals (Rec 24).
        OpenCase => "open_case" / "Open case",
        /// An open case on the CSE pathway.
        OpenCseCase => "open_cse_case" / "Open CSE case",
        /// Known to associate with an adult flagged for CSE concern.
        FlaggedAssociation => "flagged_association" / "Known association with a flagged adult",
    }
);

word_enum!(
    /// A sexual-health service a feed reports.
    SexualHealthService {
        EmergencyContraception => "emergency_contraception" / "Emergency contraception",
        CondomCard => "condom_card" / "Condom card use",
    }
);

/// What a contact brings besides its narrative, when it came from a feed or a call type that
/// the alert rules count (missing episodes, school absence, sexual-health notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum Signal {
    MissingEpisode,
    SchoolAbsence { days_absent: u32 },
    SexualHealth { service: SexualHealthService },
}

impl Signal {
    /// The `signal` column of the assessments projection.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::MissingEpisode => "missing_episode",
            Signal::SchoolAbsence { .. } => "school_absence",
            Signal::SexualHealth { service } => service.as_str(),
        }
    }
}

/// The reporter of a contact, when they gave their identity (never for anonymous contacts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reporter {
    pub name: String,
    #[serde(default)]
    pub relationship: String,
    #[serde(default)]
    pub phone: String,
}

/// The same time on the next working day (Monday to Friday): the front door decides on a
/// contact within one working day. A contact received at the weekend is due at the start of
/// Tuesday's equivalent, i.e. Monday counts as the first day (Saturday 10:00 → Tuesday 00:00).
/// Bank holidays listed in `holidays` are skipped like weekends.
pub fn one_working_day_after(t: DateTime<Utc>, holidays: &[NaiveDate]) -> DateTime<Utc> {
    let working = |d: NaiveDate| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d);
    let start = if working(t.date_naive()) {
        t
    } else {
        // Received on a non-working day: the clock starts at the next working day's midnight.
        let mut d = t.date_naive() + Duration::days(1);
        while !working(d) {
            d += Duration::days(1);
        }
        d.and_hms_opt(0, 0, 0).map(|n| n.and_utc()).unwrap_or(t)
    };
    let mut due = start + Duration::days(1);
    while !working(due.date_naive()) {
        due += Duration::days(1);
    }
    due
}

/// `n` working days after `t` (see [`one_working_day_after`]; zero days is `t` itself).
pub fn working_days_after(t: DateTime<Utc>, n: u32, holidays: &[NaiveDate]) -> DateTime<Utc> {
    (0..n).fold(t, |due, _| one_working_day_after(due, holidays))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_days() {
        // Wednesday + 3 → Monday; Friday 23:59 + 3 → Wednesday 23:59; Sunday + 1 → Tuesday 00:00.
        assert_eq!(working_days_after(t("2026-11-25T09:00:00Z"), 3, &[]), t("2026-11-30T09:00:00Z"));
        assert_eq!(working_days_after(t("2026-11-27T23:59:00Z"), 3, &[]), t("2026-12-02T23:59:00Z"));
        assert_eq!(working_days_after(t("2026-11-29T12:00:00Z"), 1, &[]), t("2026-12-01T00:00:00Z"));
        assert_eq!(working_days_after(t("2026-11-29T12:00:00Z"), 0, &[]), t("2026-11-29T12:00:00Z"));
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn one_working_day() {
        // Monday → Tuesday, same time.
        assert_eq!(one_working_day_after(t("2026-11-23T10:00:00Z"), &[]), t("2026-11-24T10:00:00Z"));
        // Friday → Monday.
        assert_eq!(one_working_day_after(t("2026-11-27T16:30:00Z"), &[]), t("2026-11-30T16:30:00Z"));
        // Saturday → the clock starts Monday 00:00, due Tuesday 00:00.
        assert_eq!(one_working_day_after(t("2026-11-28T10:00:00Z"), &[]), t("2026-12-01T00:00:00Z"));
        // A bank holiday Monday is skipped.
        let hol = [NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()];
        assert_eq!(one_working_day_after(t("2026-11-27T16:30:00Z"), &hol), t("2026-12-01T16:30:00Z"));
    }

    #[test]
    fn words_round_trip() {
        for o in DecisionOutcome::ALL {
            assert_eq!(DecisionOutcome::parse(o.as_str()), Some(*o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        assert!(DecisionOutcome::parse("maybe").is_none());
        assert!(DecisionOutcome::expected().contains("cse_pathway"));
        assert!(AlertState::Dismissed.is_closed() && !AlertState::Acknowledged.is_closed());
        let s = Signal::SexualHealth { service: SexualHealthService::CondomCard };
        assert_eq!(serde_json::to_value(s).unwrap()["signal"], "sexual_health");
    }
}
