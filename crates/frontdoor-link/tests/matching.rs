#![allow(clippy::unwrap_used)]
//! Matching quality on a fixed synthetic borough: floors that fail when matching regresses,
//! and the twin rule.

use chrono::NaiveDate;
use frontdoor_link::{Index, Nicknames, Person, Settings, dedupe, pairwise};
use std::collections::HashMap;

fn borough(children: usize) -> frontdoor_synth::Borough {
    let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    frontdoor_synth::generate(42, today, &frontdoor_synth::Params { children, contacts: 0, years: 1 })
}

fn people(b: &frontdoor_synth::Borough) -> Vec<Person> {
    b.person_records
        .iter()
        .map(|r| Person {
            source: r.source.clone(),
            record_id: r.record_id.clone(),
            given_name: r.given_name.clone(),
            family_name: r.family_name.clone(),
            date_of_birth: r.date_of_birth,
            sex: r.sex.map(|s| s.as_str().to_owned()),
            postcode: r.postcode.clone(),
            address: r.address.clone(),
            phone: r.phone.clone(),
        })
        .collect()
}

#[test]
fn a_labelled_borough_is_deduplicated_above_the_floors_and_no_twins_merge() {
    let b = borough(4_000);
    let people = people(&b);
    let settings = Settings::default();
    let index = Index::build(&people, Nicknames::builtin(), &settings);
    let d = dedupe(&index, &settings);
    let truth: Vec<Option<u64>> = b.person_records.iter().map(|r| Some(u64::from(r.entity_id))).collect();
    let s = pairwise(&d.clusters, &truth);
    eprintln!(
        "records {} pairs {} model {:?}\nprecision {:.4} recall {:.4} f1 {:.4}",
        people.len(),
        d.pairs.len(),
        d.model.describe(),
        s.precision(),
        s.recall(),
        s.f1()
    );
    assert!(s.precision() >= 0.97, "precision {:.4}", s.precision());
    assert!(s.recall() >= 0.90, "recall {:.4}", s.recall());

    // No record of one twin is in a cluster with a record of the other.
    let cluster_of: HashMap<u32, Vec<u32>> =
        b.person_records.iter().zip(&d.clusters).fold(HashMap::new(), |mut m, (r, c)| {
            m.entry(r.entity_id).or_default().push(*c);
            m
        });
    let twins: Vec<(u32, u32)> =
        b.children.iter().filter_map(|c| c.twin_of.map(|t| (c.entity_id, t))).filter(|(a, t)| a < t).collect();
    assert!(!twins.is_empty(), "the borough has twins");
    for (a, t) in twins {
        let (ca, ct) =
            (cluster_of.get(&a).cloned().unwrap_or_default(), cluster_of.get(&t).cloned().unwrap_or_default());
        if ca.iter().any(|c| ct.contains(c)) {
            for (i, r) in b.person_records.iter().enumerate() {
                if r.entity_id == a || r.entity_id == t {
                    eprintln!(
                        "{} {:?} {:?} {:?} {:?} cluster {}",
                        r.entity_id, r.given_name, r.family_name, r.date_of_birth, r.address, d.clusters[i]
                    );
                }
            }
            for p in &d.pairs {
                let (ea, eb) = (b.person_records[p.a as usize].entity_id, b.person_records[p.b as usize].entity_id);
                if (ea == a || ea == t) && (eb == a || eb == t) {
                    eprintln!("pair {} {} p={:.3} {:?}", p.a, p.b, p.probability, p.guard);
                }
            }
        }
        assert!(!ca.iter().any(|c| ct.contains(c)), "twins {a} and {t} merged");
    }
}

#[test]
#[ignore = "diagnostic: prints missed and false pairs"]
fn diagnose() {
    let b = borough(4_000);
    let people = people(&b);
    let settings = Settings::default();
    let mut index = Index::build(&people, Nicknames::builtin(), &settings);
    let d = dedupe(&index, &settings);
    let scored: HashMap<(u32, u32), f64> = d.pairs.iter().map(|p| ((p.a, p.b), p.probability)).collect();
    let mut by_entity: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, r) in b.person_records.iter().enumerate() {
        by_entity.entry(r.entity_id).or_default().push(i as u32);
    }
    let mut shown = 0;
    for members in by_entity.values() {
        for x in 0..members.len() {
            for y in x + 1..members.len() {
                let (i, j) = (members[x], members[y]);
                if d.clusters[i as usize] != d.clusters[j as usize] && shown < 25 {
                    shown += 1;
                    let e = index.explain(&d.model, i, j).unwrap();
                    let lv: Vec<String> = e
                        .evidence
                        .iter()
                        .map(|v| format!("{}={:?}/{:?} {:+.1}", v.level, v.left, v.right, v.weight))
                        .collect();
                    eprintln!("MISS p={:.3} scored={:?} {:?} {:?}", e.probability, scored.get(&(i, j)), lv, e.notes);
                }
            }
        }
    }
    let _ = &mut index;
    for t in [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999] {
        let s2 = Settings { auto_link: t, ..settings.clone() };
        let c = frontdoor_link::cluster_pairs(index.len(), &d.pairs, &s2);
        let truth: Vec<Option<u64>> = b.person_records.iter().map(|r| Some(u64::from(r.entity_id))).collect();
        let s = pairwise(&c, &truth);
        eprintln!("t={t} precision {:.4} recall {:.4} f1 {:.4}", s.precision(), s.recall(), s.f1());
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn field(chars: &'static str) -> impl Strategy<Value = Option<String>> {
        proptest::option::of(proptest::string::string_regex(chars).unwrap())
    }

    prop_compose! {
        fn arb_person()(
            given in field("[A-Za-zé' -]{0,9}"),
            family in field("[A-Za-z'-]{0,10}"),
            days in proptest::option::of(0i64..9000),
            sex in proptest::option::of(prop_oneof![Just("M"), Just("F"), Just("U")]),
            postcode in field("(WK[1-9] [1-9][A-Z]{2})|[A-Z0-9 ]{0,8}"),
            address in field("[0-9]{0,2} [A-Za-z ]{0,12}"),
            phone in field("[0-9 +]{0,13}"),
        ) -> Person {
            Person {
                source: String::new(),
                record_id: String::new(),
                given_name: given,
                family_name: family,
                date_of_birth: days.map(|d| NaiveDate::from_ymd_opt(2008, 1, 1).unwrap() + chrono::Days::new(d as u64)),
                sex: sex.map(str::to_owned),
                postcode,
                address,
                phone,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// A pair scores the same whichever record comes first, and never NaN or infinite.
        #[test]
        fn scores_are_symmetric_and_finite(a in arb_person(), b in arb_person()) {
            let mut a = a;
            let mut b = b;
            a.source = "x".into();
            a.record_id = "1".into();
            b.source = "y".into();
            b.record_id = "2".into();
            let settings = Settings { random_pairs: 10, ..Settings::default() };
            let index = Index::build(&[a, b], Nicknames::builtin(), &settings);
            let model = index.train(&settings);
            let ab = index.explain(&model, 0, 1).unwrap();
            let ba = index.explain(&model, 1, 0).unwrap();
            prop_assert!(ab.weight.is_finite() && ab.probability.is_finite());
            prop_assert!((0.0..=1.0).contains(&ab.probability));
            prop_assert!((ab.weight - ba.weight).abs() < 1e-9, "{} vs {}", ab.weight, ba.weight);
            for e in &ab.evidence {
                prop_assert!(e.weight.is_finite());
            }
        }
    }
}
