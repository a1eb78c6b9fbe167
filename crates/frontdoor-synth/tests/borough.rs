//! The generated borough, checked through the public API: deterministic, complete, and every
//! value acceptable to `frontdoor-core`'s parsers.

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use frontdoor_core::{AgencyKind, Channel, DateOfBirth, PersonName, Postcode, Role, SourceCode, Username};
use frontdoor_synth::{Borough, Params, generate, labels_csv};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("valid date")
}

/// The default-sized borough for seed 42, generated once for the whole test binary.
fn borough() -> &'static Borough {
    static B: OnceLock<Borough> = OnceLock::new();
    B.get_or_init(|| generate(42, today(), &Params::default()))
}

#[test]
fn same_seed_same_borough_and_different_seeds_differ() {
    let small = Params { children: 400, contacts: 800, years: 2 };
    let a = generate(7, today(), &small);
    let b = generate(7, today(), &small);
    assert_eq!(a, b);
    assert_eq!(labels_csv(&a), labels_csv(&b));
    let c = generate(8, today(), &small);
    assert_ne!(a.children, c.children);
    assert_ne!(a.person_records, c.person_records);
    assert_ne!(a.contacts, c.contacts);
}

#[test]
fn default_sizes_are_as_asked() {
    let b = borough();
    assert_eq!(b.children.len(), 3000);
    assert_eq!(b.contacts.len(), 6000);
    assert!((5..=9).contains(&b.sources.len()));
}

#[test]
fn agencies_are_the_partnership() {
    let b = borough();
    let count = |k: AgencyKind| b.agencies.iter().filter(|a| a.kind == k).count();
    assert_eq!(b.agencies.first().map(|a| a.kind), Some(AgencyKind::ChildrensServices));
    assert_eq!(count(AgencyKind::ChildrensServices), 1);
    assert_eq!(count(AgencyKind::Police), 1);
    assert_eq!(count(AgencyKind::Health), 2);
    assert!((10..=14).contains(&count(AgencyKind::School)));
    for k in [AgencyKind::Housing, AgencyKind::Probation, AgencyKind::Licensing] {
        assert_eq!(count(k), 1, "{k}");
    }
    assert_eq!(count(AgencyKind::Voluntary), 2);
    let keys: BTreeSet<_> = b.agencies.iter().map(|a| &a.key).collect();
    assert_eq!(keys.len(), b.agencies.len(), "agency keys are unique");
    for s in &b.sources {
        assert!(s.agency < b.agencies.len());
        assert!(s.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", s.name);
    }
}

#[test]
fn every_role_has_a_user_and_usernames_parse() {
    let b = borough();
    for role in Role::ALL {
        assert!(b.users.iter().any(|u| u.roles.contains(&role)), "no user with role {role}");
    }
    let mut seen = BTreeSet::new();
    for u in &b.users {
        let parsed = Username::parse(&u.username).expect("username parses");
        assert_eq!(parsed.as_str(), u.username);
        assert!(seen.insert(&u.username), "duplicate username {}", u.username);
        assert!(u.agency < b.agencies.len());
    }
    let agency_of = |name: &str| {
        let u = b.users.iter().find(|u| u.username == name).expect("user exists");
        b.agencies[u.agency].kind
    };
    assert_eq!(agency_of("advisor1"), AgencyKind::ChildrensServices);
    assert_eq!(agency_of("cse.manager"), AgencyKind::ChildrensServices);
    assert_eq!(agency_of("police.practitioner"), AgencyKind::Police);
    assert_eq!(agency_of("health.practitioner"), AgencyKind::Health);
    assert_eq!(agency_of("school.practitioner"), AgencyKind::School);
    assert_eq!(agency_of("housing.practitioner"), AgencyKind::Housing);
    assert_eq!(agency_of("licensing.officer"), AgencyKind::Licensing);
}

#[test]
fn children_are_valid_and_live_in_households() {
    let b = borough();
    let mut households: BTreeMap<u32, Vec<_>> = BTreeMap::new();
    for (i, c) in b.children.iter().enumerate() {
        assert_eq!(c.entity_id as usize, i + 1);
        assert!(PersonName::parse(&c.given_name).is_ok(), "{}", c.given_name);
        assert!(PersonName::parse(&c.family_name).is_ok(), "{}", c.family_name);
        let p = Postcode::parse(&c.postcode).expect("postcode parses");
        assert_eq!(p.as_str(), c.postcode, "children's postcodes are canonical");
        assert!(DateOfBirth::from_date(c.date_of_birth, today()).is_ok());
        assert!(today().years_since(c.date_of_birth).is_some_and(|a| a <= 17));
        households.entry(c.household).or_default().push(c);
    }
    for (h, members) in &households {
        assert!((1..=4).contains(&members.len()), "household {h}");
        let first = members[0];
        for m in members {
            assert_eq!((&m.postcode, &m.address, &m.phone), (&first.postcode, &first.address, &first.phone));
        }
        let names: BTreeSet<_> = members.iter().map(|m| &m.given_name).collect();
        assert_eq!(names.len(), members.len(), "siblings have different given names");
    }
    let multi = households.values().filter(|m| m.len() > 1).count();
    assert!(multi * 3 > households.len(), "plenty of siblings");
    let same_family =
        households.values().filter(|m| m.len() > 1 && m.iter().all(|c| c.family_name == m[0].family_name)).count();
    assert!(same_family * 10 > multi * 7, "siblings mostly share a family name");
}

#[test]
fn twins_exist_and_differ_in_given_name() {
    let b = borough();
    let twins: Vec<_> = b.children.iter().filter(|c| c.twin_of.is_some()).collect();
    assert!(twins.len() * 50 >= b.children.len(), "at least 2% twins, got {}", twins.len());
    for c in twins {
        let t = &b.children[c.twin_of.expect("twin") as usize - 1];
        assert_eq!(t.twin_of, Some(c.entity_id));
        assert_eq!(
            (t.date_of_birth, &t.family_name, &t.address, &t.postcode, &t.phone),
            (c.date_of_birth, &c.family_name, &c.address, &c.postcode, &c.phone)
        );
        assert_ne!(t.given_name, c.given_name);
    }
}

#[test]
fn person_records_parse_and_are_noisy_duplicates() {
    let b = borough();
    let sources: BTreeSet<_> = b.sources.iter().map(|s| s.name.as_str()).collect();
    let mut ids = BTreeSet::new();
    let mut per_entity: BTreeMap<u32, BTreeSet<&str>> = BTreeMap::new();
    for r in &b.person_records {
        assert!(sources.contains(r.source.as_str()), "{}", r.source);
        assert!(!r.record_id.is_empty());
        assert!(ids.insert((&r.source, &r.record_id)), "duplicate id {} {}", r.source, r.record_id);
        for n in [&r.given_name, &r.family_name].into_iter().flatten() {
            assert!(PersonName::parse(n).is_ok(), "{n:?}");
        }
        if let Some(p) = &r.postcode {
            assert!(Postcode::parse(p).is_ok(), "{p:?}");
        }
        if let Some(d) = r.date_of_birth {
            assert!(DateOfBirth::from_date(d, today()).is_ok());
        }
        assert!((1..=b.children.len() as u32).contains(&r.entity_id));
        per_entity.entry(r.entity_id).or_default().insert(&r.source);
    }
    assert_eq!(per_entity.len(), b.children.len(), "every child is in some source");
    assert!(per_entity.values().all(|s| (1..=4).contains(&s.len())));
    let linked = per_entity.values().filter(|s| s.len() >= 2).count();
    assert!(linked * 2 > b.children.len(), "most children are in two or more systems");

    // Noise: some records disagree with the truth in each of the ways linkage must survive.
    let truth = |r: &frontdoor_synth::PersonRecord| &b.children[r.entity_id as usize - 1];
    let share = |f: &dyn Fn(&frontdoor_synth::PersonRecord) -> bool| {
        b.person_records.iter().filter(|r| f(r)).count() as f64 / b.person_records.len() as f64
    };
    let given_differs = share(&|r| r.given_name.as_deref().is_some_and(|g| g.trim() != truth(r).given_name));
    let dob_differs = share(&|r| r.date_of_birth.is_some_and(|d| d != truth(r).date_of_birth));
    let postcode_differs = share(&|r| {
        r.postcode.as_deref().and_then(|p| Postcode::parse(p).ok()).is_some_and(|p| p.as_str() != truth(r).postcode)
    });
    let missing_dob = share(&|r| r.date_of_birth.is_none());
    for (what, s) in [
        ("given name", given_differs),
        ("date of birth", dob_differs),
        ("postcode", postcode_differs),
        ("missing date of birth", missing_dob),
    ] {
        assert!((0.005..0.4).contains(&s), "{what}: {s}");
    }
    // Record numbers look different per source.
    let prefixes: BTreeSet<String> = b
        .person_records
        .iter()
        .map(|r| r.record_id.chars().take(2).filter(|c| c.is_ascii_alphabetic()).collect())
        .collect();
    assert!(prefixes.len() >= 4, "{prefixes:?}");
}

#[test]
fn labels_have_a_header_and_a_line_per_record() {
    let b = borough();
    let csv = labels_csv(b);
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(lines[0], "source,record_id,entity_id");
    assert_eq!(lines.len(), b.person_records.len() + 1);
    let first = &b.person_records[0];
    assert_eq!(lines[1], format!("{},{},{}", first.source, first.record_id, first.entity_id));
}

#[test]
fn every_contact_parses_as_a_contact_draft() {
    let b = borough();
    let now = Utc.from_utc_datetime(&today().and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("valid time")));
    let start = today() - chrono::Months::new(24);
    for c in &b.contacts {
        let draft = c.draft();
        let parsed = draft.parse(now).unwrap_or_else(|e| panic!("{e}: {draft:?}"));
        assert_eq!(parsed.received_at, c.received_at);
        assert!(c.received_at.date_naive() >= start);
        let child = &b.children[c.entity_id as usize - 1];
        assert!(c.received_at.date_naive() >= child.date_of_birth, "no contact before birth");
        let user = &b.users[c.recorded_by];
        assert!(
            user.roles.iter().any(|r| matches!(r, Role::FrontDoorAdvisor | Role::AgencyPractitioner)),
            "{}",
            user.username
        );
        let kind = b.agencies[user.agency].kind;
        let code = SourceCode::parse(c.source_code).expect("source code parses").as_str();
        match kind {
            AgencyKind::Police => assert_eq!(code, "6"),
            AgencyKind::School => assert_eq!(code, "2A"),
            AgencyKind::Housing => assert_eq!(code, "4"),
            AgencyKind::Health => assert!(code.starts_with('3')),
            _ => {}
        }
        assert_eq!(c.channel == Channel::AnonymousLine, code == "9");
        let sentences = c.narrative.matches(['.', '!', '?']).count();
        assert!((1..=7).contains(&sentences), "{}", c.narrative);
    }
    let sorted = b.contacts.windows(2).all(|w| w[0].received_at <= w[1].received_at);
    assert!(sorted, "contacts are oldest first");
}

#[test]
fn contacts_are_skewed_spread_and_mostly_in_office_hours() {
    let b = borough();
    let mut per_child: BTreeMap<u32, usize> = BTreeMap::new();
    for c in &b.contacts {
        *per_child.entry(c.entity_id).or_default() += 1;
    }
    let zero_to_two = b.children.iter().filter(|c| per_child.get(&c.entity_id).copied().unwrap_or(0) <= 2).count();
    assert!(zero_to_two * 10 > b.children.len() * 7, "most children have 0-2 contacts");
    assert!(per_child.values().any(|n| *n >= 20), "some children have many contacts");

    let office = b
        .contacts
        .iter()
        .filter(|c| {
            let t = c.received_at.time();
            t >= NaiveTime::from_hms_opt(8, 30, 0).expect("time")
                && t < NaiveTime::from_hms_opt(17, 30, 0).expect("time")
        })
        .count();
    assert!(office * 10 > b.contacts.len() * 7, "mostly office hours");
    let first_year =
        b.contacts.iter().filter(|c| c.received_at.date_naive() < today() - chrono::Months::new(12)).count();
    assert!(first_year * 3 > b.contacts.len(), "spread across both years: {first_year}");

    let channels: BTreeSet<_> = b.contacts.iter().map(|c| c.channel.as_str()).collect();
    assert!(channels.len() >= 6, "{channels:?}");
    let practitioners =
        b.contacts.iter().filter(|c| b.users[c.recorded_by].roles.contains(&Role::AgencyPractitioner)).count();
    assert!(practitioners * 10 < b.contacts.len() * 4 && practitioners * 20 > b.contacts.len());

    // Reporters describe children imperfectly.
    let without_dob = b.contacts.iter().filter(|c| c.child.date_of_birth.is_none()).count();
    assert!(without_dob * 20 > b.contacts.len());
    let named_otherwise =
        b.contacts.iter().filter(|c| c.child.given_name != b.children[c.entity_id as usize - 1].given_name).count();
    assert!(named_otherwise * 20 > b.contacts.len());
}

#[test]
fn narratives_cover_indicators_and_negations() {
    let b = borough();
    let all: String = b.contacts.iter().map(|c| c.narrative.to_lowercase()).collect::<Vec<_>>().join("\n");
    for phrase in [
        "older boyfriend",
        "missing",
        "hotel",
        "cars",
        "alcohol",
        "second phone",
        "gifts",
        "attendance",
        "domestic abuse",
        "online",
        "no concerns about an older boyfriend",
        "denies going missing",
    ] {
        assert!(all.contains(phrase), "no narrative mentions {phrase:?}");
    }
}

#[test]
fn small_and_empty_boroughs_work() {
    let empty = generate(1, today(), &Params { children: 0, contacts: 10, years: 1 });
    assert!(empty.children.is_empty() && empty.person_records.is_empty() && empty.contacts.is_empty());
    let tiny = generate(1, today(), &Params { children: 1, contacts: 3, years: 0 });
    assert_eq!(tiny.children.len(), 1);
    assert_eq!(tiny.contacts.len(), 3);
    assert!(tiny.contacts.iter().all(|c| c.received_at.date_naive() == today()));
}

#[test]
fn generating_the_defaults_is_fast() {
    let started = std::time::Instant::now();
    let b = generate(99, today(), &Params::default());
    let took = started.elapsed();
    assert_eq!(b.children.len(), 3000);
    // Debug builds are an order of magnitude slower than release; release takes well under 1s.
    assert!(took.as_secs_f64() < 5.0, "took {took:?}");
}
