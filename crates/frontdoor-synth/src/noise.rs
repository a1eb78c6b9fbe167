//! The ways a name, date, postcode, address or phone number gets written down wrong: the noise
//! that makes record linkage necessary. Every function returns a value that still parses.

use crate::rng::{chance, pick};
use chrono::{Datelike, NaiveDate};
use rand::Rng;

/// Keys next to each other on a UK keyboard, for substitution typos.
const NEIGHBOURS: &[(char, &str)] = &[
    ('a', "qsz"),
    ('b', "vn"),
    ('c', "xv"),
    ('d', "sf"),
    ('e', "wr"),
    ('f', "dg"),
    ('g', "fh"),
    ('h', "gj"),
    ('i', "uo"),
    ('j', "hk"),
    ('k', "jl"),
    ('l', "k"),
    ('m', "n"),
    ('n', "bm"),
    ('o', "ip"),
    ('p', "o"),
    ('q', "w"),
    ('r', "et"),
    ('s', "ad"),
    ('t', "ry"),
    ('u', "yi"),
    ('v', "cb"),
    ('w', "qe"),
    ('x', "zc"),
    ('y', "tu"),
    ('z', "x"),
];

/// One keyboard slip: two adjacent letters swapped, a letter dropped, a neighbouring key hit, or a
/// letter doubled. The first letter is left alone (people rarely get it wrong), so names shorter
/// than three letters come back unchanged.
pub(crate) fn typo(rng: &mut impl Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n < 3 {
        return s.to_owned();
    }
    match rng.random_range(0..4) {
        0 => {
            let i = rng.random_range(1..n - 1);
            chars.swap(i, i + 1);
        }
        1 => {
            chars.remove(rng.random_range(1..n));
        }
        2 => {
            let i = rng.random_range(1..n);
            let c = chars[i];
            let lower = c.to_ascii_lowercase();
            if let Some((_, near)) = NEIGHBOURS.iter().find(|(k, _)| *k == lower) {
                let near: Vec<char> = near.chars().collect();
                let r = pick(rng, &near);
                chars[i] = if c.is_ascii_uppercase() { r.to_ascii_uppercase() } else { r };
            } else {
                chars.remove(i);
            }
        }
        _ => {
            let i = rng.random_range(1..n);
            let c = chars[i];
            chars.insert(i, c);
        }
    }
    let out: String = chars.into_iter().collect();
    if out.trim().is_empty() { s.to_owned() } else { out }
}

/// How a system or a person chose to case a name.
pub(crate) fn recase(rng: &mut impl Rng, s: &str, upper: f64, lower: f64) -> String {
    let r = rng.random::<f64>();
    if r < upper {
        s.to_uppercase()
    } else if r < upper + lower {
        s.to_lowercase()
    } else {
        s.to_owned()
    }
}

/// A double-barrelled family name as someone wrote it: with a space instead of the hyphen, run
/// together, or only one half.
pub(crate) fn double_barrel_variant(rng: &mut impl Rng, family: &str) -> String {
    let Some((first, second)) = family.split_once('-') else {
        return family.to_owned();
    };
    match rng.random_range(0..10) {
        0..=5 => format!("{first} {second}"),
        6 => format!("{first}{second}"),
        7 | 8 => first.to_owned(),
        _ => second.to_owned(),
    }
}

/// One digit of the date mistyped, still a real date, not after `today` and not the same date.
pub(crate) fn dob_typo(rng: &mut impl Rng, dob: NaiveDate, today: NaiveDate) -> NaiveDate {
    let text = dob.format("%Y-%m-%d").to_string();
    // Decade and year, both month digits, both day digits: the ones people get wrong.
    const POSITIONS: &[usize] = &[2, 3, 5, 6, 8, 9];
    for _ in 0..20 {
        let pos = pick(rng, POSITIONS);
        let mut bytes = text.clone().into_bytes();
        let Some(b) = bytes.get_mut(pos) else { continue };
        let old = *b;
        let new = b'0' + rng.random_range(0..10u8);
        if new == old {
            continue;
        }
        *b = new;
        let Ok(candidate) = String::from_utf8(bytes) else { continue };
        if let Ok(d) = NaiveDate::parse_from_str(&candidate, "%Y-%m-%d")
            && d <= today
            && d != dob
            && d.year() >= 1990
        {
            return d;
        }
    }
    dob
}

/// Day and month swapped (an American-order slip), when that is still a different valid date.
pub(crate) fn dob_swap(dob: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    if dob.day() > 12 || dob.day() == dob.month() {
        return None;
    }
    NaiveDate::from_ymd_opt(dob.year(), dob.day(), dob.month()).filter(|d| *d <= today)
}

/// A postcode as someone typed it: lower case, without the space, or both.
pub(crate) fn postcode_format(rng: &mut impl Rng, postcode: &str) -> String {
    match rng.random_range(0..4) {
        0 => postcode.to_lowercase(),
        1 => postcode.replace(' ', ""),
        2 => postcode.replace(' ', "").to_lowercase(),
        _ => format!(" {postcode} "),
    }
}

const ABBREVIATIONS: &[(&str, &str)] = &[
    (" Road", " Rd"),
    (" Street", " St"),
    (" Avenue", " Ave"),
    (" Close", " Cl"),
    (" Lane", " Ln"),
    (" Drive", " Dr"),
    (" Crescent", " Cres"),
    (" Gardens", " Gdns"),
    (" Terrace", " Ter"),
    (" Place", " Pl"),
];

/// An address as another system holds it: abbreviated, without the district, upper-cased, or
/// with the flat written the short way.
pub(crate) fn address_variant(rng: &mut impl Rng, address: &str) -> String {
    let mut a = address.to_owned();
    if chance(rng, 0.5) {
        for (long, short) in ABBREVIATIONS {
            a = a.replace(long, short);
        }
    }
    if chance(rng, 0.3)
        && let Some((line, _district)) = a.rsplit_once(", ")
    {
        a = line.to_owned();
    }
    if let Some(rest) = a.strip_prefix("Flat ")
        && chance(rng, 0.4)
        && let Some((flat, house)) = rest.split_once(", ")
    {
        a = format!("{flat}/{house}");
    }
    if chance(rng, 0.25) {
        a = a.to_uppercase();
    }
    a
}

/// A phone number as another system holds it: without spaces, in international form, or with the
/// area code bracketed.
pub(crate) fn phone_format(rng: &mut impl Rng, phone: &str) -> String {
    let compact = phone.replace(' ', "");
    match rng.random_range(0..4) {
        0 => compact,
        1 => match compact.strip_prefix('0') {
            Some(rest) => format!("+44 {rest}"),
            None => compact,
        },
        2 => match phone.split_once(' ') {
            Some((code, rest)) => format!("({code}) {rest}"),
            None => phone.to_owned(),
        },
        _ => phone.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stage, stream};
    use frontdoor_core::{DateOfBirth, PersonName, Postcode};
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
    }

    proptest! {
        #[test]
        fn typos_keep_names_parseable(seed: u64, name in "[A-Z][a-z'\\-]{0,14}") {
            let mut rng = stream(seed, Stage::Records);
            let t = typo(&mut rng, &name);
            prop_assert!(PersonName::parse(&t).is_ok());
            prop_assert!(t.chars().count().abs_diff(name.chars().count()) <= 1);
        }

        #[test]
        fn dob_noise_stays_a_valid_past_date(seed: u64, days in 0u32..6570) {
            let mut rng = stream(seed, Stage::Records);
            let dob = today() - chrono::Days::new(u64::from(days));
            let t = dob_typo(&mut rng, dob, today());
            prop_assert!(DateOfBirth::from_date(t, today()).is_ok());
            if let Some(s) = dob_swap(dob, today()) {
                prop_assert!(DateOfBirth::from_date(s, today()).is_ok());
                prop_assert_ne!(s, dob);
            }
        }

        #[test]
        fn postcode_formats_parse_back(seed: u64, d in 1u8..12, s in 1u8..10) {
            let mut rng = stream(seed, Stage::Records);
            let canonical = format!("WK{d} {s}AB");
            let f = postcode_format(&mut rng, &canonical);
            prop_assert_eq!(Postcode::parse(&f).map(|p| p.as_str().to_owned()), Ok(canonical));
        }
    }

    #[test]
    fn double_barrelled_names_lose_their_hyphen_sometimes() {
        let mut rng = stream(9, Stage::Records);
        let variants: std::collections::BTreeSet<_> =
            (0..200).map(|_| double_barrel_variant(&mut rng, "Ashworth-Patel")).collect();
        assert!(variants.contains("Ashworth Patel"));
        assert!(variants.contains("Ashworth"));
        assert_eq!(double_barrel_variant(&mut rng, "Smith"), "Smith");
    }

    #[test]
    fn day_month_swap_only_when_ambiguous() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        assert_eq!(dob_swap(d(2015, 3, 7), today()), Some(d(2015, 7, 3)));
        assert_eq!(dob_swap(d(2015, 3, 17), today()), None);
        assert_eq!(dob_swap(d(2015, 4, 4), today()), None);
    }
}
