//! Person records: how each source system holds the children. A child is in one to four systems
//! (occasionally twice in one), each copy with that system's habits and errors; record numbers
//! follow each system's format and are handed out in shuffled order, so they leak nothing about
//! who is who.

use crate::borough::{IdFormat, SOURCES, SourceProfile};
use crate::contacts::Plan;
use crate::names::nickname;
use crate::noise::{
    address_variant, dob_swap, dob_typo, double_barrel_variant, phone_format, postcode_format, recase, typo,
};
use crate::people::{Population, age_on};
use crate::places::{Home, Phones, Places};
use crate::rng::chance;
use crate::{ChildSpec, PersonRecord};
use chrono::{Datelike, NaiveDate};
use frontdoor_core::Sex;
use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::BTreeMap;

// Positions in `SOURCES` (a test checks they match the names).
const SOCIAL_CARE: usize = 0;
const EDUCATION: usize = 1;
const HEALTH: usize = 2;
const POLICE: usize = 3;
const HOUSING: usize = 4;
const YOUTH_JUSTICE: usize = 5;
const EARLY_HELP: usize = 6;

/// A record before its number is assigned.
struct Draft {
    source: usize,
    establishment: u16,
    record: PersonRecord,
}

pub(crate) fn generate(
    rng: &mut impl Rng,
    ids_rng: &mut impl Rng,
    places: &mut Places,
    population: &Population,
    plan: &Plan,
    today: NaiveDate,
) -> Vec<PersonRecord> {
    let mut drafts = Vec::new();
    for (i, child) in population.children.iter().enumerate() {
        let weight = plan.weights.get(i).copied().unwrap_or(0);
        let establishment = population.schools.get(i).copied().flatten().unwrap_or(0);
        let on_register = population.household(child).is_some_and(|h| h.on_housing_register);
        let household = population.household(child);
        let current = household.map(|h| h.home.clone()).unwrap_or_else(|| Home {
            street: usize::MAX,
            address: child.address.clone(),
            postcode: child.postcode.clone(),
        });
        let previous = household.and_then(|h| h.previous.as_ref());
        for source in sources_for(rng, child, weight, on_register, today) {
            let Some(profile) = SOURCES.get(source) else { continue };
            // Systems sometimes hold the same child twice: a second referral not matched to
            // the first, a re-registration after a move.
            let copies = if chance(rng, duplicate_rate(source)) { 2 } else { 1 };
            for _ in 0..copies {
                let homes = (&current, previous);
                let record = noisy(rng, child, homes, profile, places, today);
                drafts.push(Draft { source, establishment, record });
            }
        }
    }

    drafts.shuffle(ids_rng);
    let mut counters: Vec<IdCounter> = SOURCES.iter().map(|s| IdCounter::new(ids_rng, s.id_format)).collect();
    // Number formats wrap (a UPN serial has five digits), so a large borough could hand one
    // number out twice; a system never does.
    let mut used: std::collections::HashSet<(usize, String)> = std::collections::HashSet::new();
    for d in &mut drafts {
        if let (Some(counter), Some(profile)) = (counters.get_mut(d.source), SOURCES.get(d.source)) {
            let mut id = counter.next(ids_rng, profile.id_format, d.establishment, today);
            for _ in 0..1_000_000 {
                if !used.contains(&(d.source, id.clone())) {
                    break;
                }
                id = counter.next(ids_rng, profile.id_format, d.establishment, today);
            }
            used.insert((d.source, id.clone()));
            d.record.record_id = id;
        }
    }
    // Grouped by source, each in the order its numbers were issued.
    drafts.sort_by_key(|d| d.source);
    drafts.into_iter().map(|d| d.record).collect()
}

fn duplicate_rate(source: usize) -> f64 {
    match source {
        SOCIAL_CARE | POLICE => 0.02,
        EARLY_HELP => 0.015,
        _ => 0.005,
    }
}

/// Which systems hold a child: health and education for nearly everyone of the right age,
/// social care and early help more often for children the front door hears about, police and
/// youth justice for some teenagers, housing for families on the register. Never more than four.
fn sources_for(
    rng: &mut impl Rng,
    child: &ChildSpec,
    contact_weight: u32,
    on_housing_register: bool,
    today: NaiveDate,
) -> Vec<usize> {
    let age = age_on(child.date_of_birth, today);
    let known = contact_weight > 0;
    let heavy = contact_weight >= 8;
    let teen = age >= 10;
    let p = |source: usize| -> f64 {
        match source {
            HEALTH => 0.88,
            EDUCATION => match age {
                0..=1 => 0.0,
                2..=3 => 0.3,
                4 => 0.85,
                _ => 0.93,
            },
            SOCIAL_CARE if heavy => 0.9,
            SOCIAL_CARE if known => 0.45,
            SOCIAL_CARE => 0.08,
            EARLY_HELP if known => 0.25,
            EARLY_HELP => 0.1,
            POLICE if heavy && teen => 0.55,
            POLICE if teen => 0.07,
            POLICE => 0.03,
            HOUSING if on_housing_register => 0.85,
            HOUSING => 0.0,
            YOUTH_JUSTICE if heavy && teen => 0.25,
            YOUTH_JUSTICE if teen => 0.03,
            _ => 0.0,
        }
    };
    let mut chosen: Vec<usize> = (0..SOURCES.len()).filter(|&s| chance(rng, p(s))).collect();
    if chosen.len() > 4 {
        chosen.shuffle(rng);
        chosen.truncate(4);
        chosen.sort_unstable();
    }
    if chosen.is_empty() {
        chosen.push(if age >= 5 && chance(rng, 0.5) { EDUCATION } else { HEALTH });
    }
    chosen
}

/// One system's copy of a child, with that system's typical errors.
fn noisy(
    rng: &mut impl Rng,
    child: &ChildSpec,
    (current, previous): (&Home, Option<&Home>),
    profile: &SourceProfile,
    places: &mut Places,
    today: NaiveDate,
) -> PersonRecord {
    let n = profile.noise;

    let mut given = child.given_name.clone();
    if chance(rng, 0.08 * n)
        && let Some(nick) = nickname(rng, &given)
    {
        given = nick.to_owned();
    }
    if chance(rng, 0.04 * n) {
        given = typo(rng, &given);
    }
    let mut family = child.family_name.clone();
    if family.contains('-') && chance(rng, 0.3 + 0.1 * n) {
        family = double_barrel_variant(rng, &family);
    }
    if chance(rng, 0.04 * n) {
        family = typo(rng, &family);
    }
    let family_upper = chance(rng, profile.family_upper);
    if family_upper {
        family = family.to_uppercase();
    } else {
        family = recase(rng, &family, 0.0, 0.01 * n);
    }
    given = recase(rng, &given, if family_upper { 0.4 } else { 0.01 * n }, 0.02 * n);
    if chance(rng, 0.01 * n) {
        // A stray space from a form field; parsers trim it.
        given = format!("{given} ");
    }
    let (given, family) = if chance(rng, 0.015 * n) { (family, given) } else { (given, family) };

    let mut dob = child.date_of_birth;
    if chance(rng, 0.025 * n) {
        dob = dob_typo(rng, dob, today);
    } else if chance(rng, 0.02 * n) {
        dob = dob_swap(dob, today).unwrap_or(dob);
    }

    let sex = if chance(rng, 0.01 * n) {
        Sex::U
    } else if chance(rng, 0.004 * n) {
        if child.sex == Sex::M { Sex::F } else { Sex::M }
    } else {
        child.sex
    };

    let home = match previous {
        // Systems that have not heard of the move still hold the old address.
        Some(old) if chance(rng, 0.45) => old.clone(),
        // A keying error that put the child at another valid postcode.
        _ if chance(rng, 0.015 * n) => places.other_home(rng, current),
        _ => current.clone(),
    };
    let postcode = if chance(rng, 0.1 * n) { postcode_format(rng, &home.postcode) } else { home.postcode };
    let address = if chance(rng, 0.2 * n) { address_variant(rng, &home.address) } else { home.address };

    let phone = child.phone.as_ref().filter(|_| chance(rng, profile.phone_rate)).map(|p| {
        if chance(rng, 0.04 * n) {
            Phones::any(rng)
        } else if chance(rng, 0.3) {
            phone_format(rng, p)
        } else {
            p.clone()
        }
    });

    PersonRecord {
        source: profile.name.to_owned(),
        record_id: String::new(),
        entity_id: child.entity_id,
        given_name: (!chance(rng, 0.02 * n)).then_some(given),
        family_name: (!chance(rng, 0.015 * n)).then_some(family),
        date_of_birth: (!chance(rng, 0.03 * n)).then_some(dob),
        sex: (!chance(rng, 0.04 * n)).then_some(sex),
        postcode: (!chance(rng, 0.05 * n)).then_some(postcode),
        address: (!chance(rng, 0.07 * n)).then_some(address),
        phone,
    }
}

/// Issues record numbers for one source: increasing, with gaps where records were deleted or
/// merged, never repeating.
struct IdCounter {
    next: u64,
    max_gap: u64,
    per_year: BTreeMap<i32, u64>,
}

impl IdCounter {
    fn new(rng: &mut impl Rng, format: IdFormat) -> Self {
        let (next, max_gap) = match format {
            IdFormat::SocialCare => (rng.random_range(100..5_000), 6),
            IdFormat::Upn => (rng.random_range(100..2_000), 3),
            IdFormat::NhsTest => (rng.random_range(100_000..200_000), 3),
            IdFormat::PoliceNominal => (rng.random_range(300_000_000..350_000_000), 40),
            IdFormat::Housing => (rng.random_range(4_000..9_000), 5),
            IdFormat::YouthJustice => (1, 3),
            IdFormat::EarlyHelp => (rng.random_range(100..3_000), 4),
        };
        Self { next, max_gap, per_year: BTreeMap::new() }
    }

    fn take(&mut self, rng: &mut impl Rng) -> u64 {
        let n = self.next;
        self.next += rng.random_range(1..=self.max_gap);
        n
    }

    fn next(&mut self, rng: &mut impl Rng, format: IdFormat, establishment: u16, today: NaiveDate) -> String {
        match format {
            IdFormat::SocialCare => format!("SC{:06}", self.take(rng)),
            IdFormat::Upn => {
                // Serials are unique across schools, so two pupils never share a number.
                let digits = format!("987{establishment:04}{:05}", self.take(rng) % 100_000);
                format!("UPN-{}{digits}", upn_check_letter(&digits))
            }
            IdFormat::NhsTest => loop {
                let body = format!("999{:06}", self.take(rng) % 1_000_000);
                if let Some(check) = nhs_check_digit(&body) {
                    break format!("{body}{check}");
                }
            },
            IdFormat::PoliceNominal => self.take(rng).to_string(),
            IdFormat::Housing => format!("HN{:07}", self.take(rng)),
            IdFormat::YouthJustice => {
                let year = today.year() - rng.random_range(0..5);
                let counter = self.per_year.entry(year).or_insert(1);
                let serial = *counter;
                *counter += rng.random_range(1..=self.max_gap);
                format!("YJ{:02}-{serial:04}", year.rem_euclid(100))
            }
            IdFormat::EarlyHelp => format!("EH-{:06}", self.take(rng)),
        }
    }
}

/// The DfE check letter of a unique pupil number: the twelve digits weighted 2 to 13, modulo 23.
fn upn_check_letter(digits: &str) -> char {
    const LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";
    let sum: u32 = digits.chars().filter_map(|c| c.to_digit(10)).zip(2u32..).map(|(d, w)| d * w).sum();
    char::from(LETTERS[(sum % 23) as usize])
}

/// The modulus-11 check digit of a nine-digit NHS number body; `None` when the body has no
/// valid check digit (remainder 10), as some numbers do.
fn nhs_check_digit(body: &str) -> Option<u32> {
    let sum: u32 = body.chars().filter_map(|c| c.to_digit(10)).zip((2..=10u32).rev()).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        d => Some(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_positions_match_names() {
        let at = |i: usize| SOURCES.get(i).map(|s| s.name);
        assert_eq!(at(SOCIAL_CARE), Some("social_care"));
        assert_eq!(at(EDUCATION), Some("education"));
        assert_eq!(at(HEALTH), Some("health_child"));
        assert_eq!(at(POLICE), Some("police_niche"));
        assert_eq!(at(HOUSING), Some("housing"));
        assert_eq!(at(YOUTH_JUSTICE), Some("youth_justice"));
        assert_eq!(at(EARLY_HELP), Some("early_help"));
    }

    #[test]
    fn check_digits() {
        // 943 476 591 9 is the NHS's own documentation example of a valid number.
        assert_eq!(nhs_check_digit("943476591"), Some(9));
        assert!(upn_check_letter("987200100123").is_ascii_uppercase());
    }
}
