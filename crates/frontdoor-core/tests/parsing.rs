//! Property tests: the parsers never panic on any input, and what they accept round-trips.

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::contact::ChildDraft;
use frontdoor_core::{ContactDraft, DateOfBirth, Narrative, PersonName, Postcode, SourceCode};
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

proptest! {
    #[test]
    fn value_parsers_never_panic(s in ".{0,64}") {
        let _ = PersonName::parse(&s);
        let _ = DateOfBirth::parse(&s, today());
        let _ = Postcode::parse(&s);
        let _ = SourceCode::parse(&s);
        let _ = Narrative::parse(&s);
    }

    #[test]
    fn accepted_dates_round_trip_and_stay_in_range(y in 1850i32..2100, m in 1u32..=12, d in 1u32..=31) {
        let text = format!("{y:04}-{m:02}-{d:02}");
        if let Ok(dob) = DateOfBirth::parse(&text, today()) {
            prop_assert_eq!(dob.to_string(), text);
            prop_assert!(dob.date() <= today());
            prop_assert!(dob.date() >= NaiveDate::from_ymd_opt(1900, 1, 1).unwrap());
        }
    }

    #[test]
    fn accepted_postcodes_are_canonical(
        // The six UK outward-code shapes: A9, A99, AA9, AA99, A9A, AA9A.
        s in "([A-Za-z][0-9]{1,2}|[A-Za-z]{2}[0-9]{1,2}|[A-Za-z]{1,2}[0-9][A-Za-z]) ?[0-9][A-Za-z]{2}"
    ) {
        let p = Postcode::parse(&s).unwrap();
        prop_assert_eq!(Postcode::parse(p.as_str()).unwrap(), p.clone());
        prop_assert!(p.as_str().contains(' '));
        prop_assert_eq!(p.as_str(), p.as_str().to_uppercase());
    }

    #[test]
    fn contact_drafts_never_panic_and_errors_name_fields(
        channel in ".{0,12}", source in ".{0,4}", given in ".{0,20}", family in ".{0,20}",
        dob in proptest::option::of(".{0,12}"), narrative in ".{0,40}", received in proptest::option::of(".{0,25}"),
    ) {
        let draft = ContactDraft {
            channel, source_code: source,
            child: ChildDraft { given_name: given, family_name: family, date_of_birth: dob, sex: None, postcode: None },
            narrative, received_at: received, ..Default::default()
        };
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").unwrap().with_timezone(&Utc);
        match draft.parse(now) {
            Ok(c) => prop_assert!(c.received_at <= now),
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                for f in &e.0 {
                    prop_assert!(!f.field.is_empty() && !f.message.is_empty());
                }
            }
        }
    }
}
