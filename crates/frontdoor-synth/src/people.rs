//! The true population: households of one to four children sharing a home, siblings a year or
//! more apart, some twins, some half-siblings with another family name.

use crate::ChildSpec;
use crate::borough::{Phase, SCHOOLS};
use crate::names::NamePicker;
use crate::places::{Home, Phones, Places};
use crate::rng::{chance, weighted};
use chrono::{Days, Months, NaiveDate};
use frontdoor_core::Sex;
use rand::Rng;
use rand::seq::SliceRandom;

/// A household: where its children live, and facts only some source systems know.
#[derive(Debug, Clone)]
pub(crate) struct Household {
    pub home: Home,
    /// Where the family lived before, which slower systems still hold.
    pub previous: Option<Home>,
    /// Social tenants and homeless families appear on the housing register.
    pub on_housing_register: bool,
}

pub(crate) struct Population {
    pub children: Vec<ChildSpec>,
    /// Indexed by `ChildSpec::household - 1`.
    pub households: Vec<Household>,
    /// Establishment number of each child's school (same order as `children`); `None` before
    /// nursery age.
    pub schools: Vec<Option<u16>>,
}

impl Population {
    pub(crate) fn household(&self, child: &ChildSpec) -> Option<&Household> {
        self.households.get((child.household as usize).saturating_sub(1))
    }
}

/// The earliest date of birth of a child aged 17 on `today`.
pub(crate) fn earliest_dob(today: NaiveDate) -> NaiveDate {
    today.checked_sub_months(Months::new(18 * 12)).and_then(|d| d.checked_add_days(Days::new(1))).unwrap_or(today)
}

pub(crate) fn age_on(dob: NaiveDate, on: NaiveDate) -> u32 {
    on.years_since(dob).unwrap_or(0)
}

pub(crate) fn generate(rng: &mut impl Rng, places: &mut Places, today: NaiveDate, count: usize) -> Population {
    let names = NamePicker::new();
    let mut phones = Phones::new(rng);
    let earliest = earliest_dob(today);
    let range_days = u64::try_from((today - earliest).num_days()).unwrap_or(0);

    let mut children: Vec<ChildSpec> = Vec::with_capacity(count);
    let mut households = Vec::new();
    let mut schools = Vec::with_capacity(count);

    while children.len() < count {
        let household_id = households.len() as u32 + 1;
        let size = weighted(rng, &[(1usize, 38), (2, 34), (3, 18), (4, 10)]).unwrap_or(1).min(count - children.len());

        // Gaps between siblings' births: zero for twins (at most one pair per household).
        let mut gaps = Vec::with_capacity(size);
        let mut twins_at = None;
        for i in 1..size {
            if twins_at.is_none() && chance(rng, 0.03) {
                twins_at = Some(i);
                gaps.push(0);
            } else {
                gaps.push(rng.random_range(300..=1800u64));
            }
        }
        // Drop the youngest until the family fits into eighteen years.
        while gaps.iter().sum::<u64>() >= range_days && gaps.pop().is_some() {}
        if twins_at.is_some_and(|t| t > gaps.len()) {
            twins_at = None;
        }
        let size = gaps.len() + 1;
        let span: u64 = gaps.iter().sum();
        let eldest = earliest
            .checked_add_days(Days::new(rng.random_range(0..=range_days.saturating_sub(span))))
            .unwrap_or(earliest);

        let culture = names.culture(rng);
        let mut family = names.family(rng, culture).to_owned();
        if culture == 0 && chance(rng, 0.05) {
            let other_culture = if chance(rng, 0.7) { 0 } else { names.culture(rng) };
            let second = names.family(rng, other_culture);
            if second != family {
                family = format!("{family}-{second}");
            }
        }
        let home = places.home(rng);
        let previous = chance(rng, 0.15).then(|| places.other_home(rng, &home));
        let phone = if chance(rng, 0.85) { phones.next() } else { None };
        let primary = pick_school(rng, Phase::Primary);
        let secondary = pick_school(rng, Phase::Secondary);

        let mut dob = eldest;
        let first_child = children.len();
        for i in 0..size {
            if i > 0 {
                let gap = gaps.get(i - 1).copied().unwrap_or(365);
                dob = dob.checked_add_days(Days::new(gap)).unwrap_or(dob).min(today);
            }
            let sex = if chance(rng, 0.51) { Sex::M } else { Sex::F };
            let given = sibling_name(rng, &names, culture, sex, &children[first_child..]);
            let is_twin = twins_at == Some(i) || twins_at == Some(i + 1);
            let child_family = if i > 0 && !is_twin && chance(rng, 0.1) {
                // A half-sibling with the other parent's family name.
                names.family(rng, culture).to_owned()
            } else {
                family.clone()
            };
            let entity_id = children.len() as u32 + 1;
            let twin_of = if twins_at == Some(i) {
                Some(entity_id - 1)
            } else if twins_at == Some(i + 1) {
                Some(entity_id + 1)
            } else {
                None
            };
            let age = age_on(dob, today);
            let school = school_for(rng, age, primary, secondary);
            children.push(ChildSpec {
                entity_id,
                household: household_id,
                given_name: given.to_owned(),
                family_name: child_family,
                date_of_birth: dob,
                sex,
                postcode: home.postcode.clone(),
                address: home.address.clone(),
                phone: phone.clone(),
                twin_of,
            });
            schools.push(school);
        }
        households.push(Household { home, previous, on_housing_register: chance(rng, 0.18) });
    }

    top_up_twins(rng, &mut children, count.div_ceil(40));
    Population { children, households, schools }
}

/// A given name not already used by an older sibling.
fn sibling_name(
    rng: &mut impl Rng,
    names: &NamePicker,
    culture: usize,
    sex: Sex,
    siblings: &[ChildSpec],
) -> &'static str {
    let girl = sex == Sex::F;
    let mut name = "";
    for _ in 0..20 {
        // Second-generation families often choose names from the majority culture, and the
        // other way round, less often.
        let from = if culture == 0 {
            if chance(rng, 0.04) { names.culture(rng) } else { 0 }
        } else if chance(rng, 0.15) {
            0
        } else {
            culture
        };
        name = names.given(rng, from, girl);
        if siblings.iter().all(|s| s.given_name != name) {
            break;
        }
    }
    name
}

fn pick_school(rng: &mut impl Rng, phase: Phase) -> u16 {
    let of_phase: Vec<u16> = SCHOOLS.iter().filter(|s| s.phase == phase).map(|s| s.establishment).collect();
    of_phase.get(rng.random_range(0..of_phase.len().max(1))).copied().unwrap_or(1000)
}

fn school_for(rng: &mut impl Rng, age: u32, primary: u16, secondary: u16) -> Option<u16> {
    if age >= 4 && chance(rng, 0.02) {
        return Some(pick_school(rng, Phase::Special));
    }
    match age {
        0..=1 => None,
        2..=10 => Some(primary),
        _ => Some(secondary),
    }
}

/// Make sure at least `target` children are twins: turn the two eldest of some multi-child
/// households into twins (same date of birth, same family name) until there are enough.
fn top_up_twins(rng: &mut impl Rng, children: &mut [ChildSpec], target: usize) {
    let twins = children.iter().filter(|c| c.twin_of.is_some()).count();
    if twins >= target {
        return;
    }
    // Households whose first two children exist and have no twins yet.
    let mut candidates: Vec<usize> = (0..children.len().saturating_sub(1))
        .filter(|&i| {
            let (a, b) = (&children[i], &children[i + 1]);
            a.household == b.household
                && (i == 0 || children[i - 1].household != a.household)
                && children.iter().skip(i).take_while(|c| c.household == a.household).all(|c| c.twin_of.is_none())
        })
        .collect();
    candidates.shuffle(rng);
    let mut made = twins;
    for i in candidates {
        if made >= target {
            break;
        }
        let (eldest_dob, family, a_id) = {
            let a = &children[i];
            (a.date_of_birth, a.family_name.clone(), a.entity_id)
        };
        let b = &mut children[i + 1];
        b.date_of_birth = eldest_dob;
        b.family_name = family;
        b.twin_of = Some(a_id);
        let b_id = b.entity_id;
        children[i].twin_of = Some(b_id);
        made += 2;
    }
}

/// The share of children who are twins; used in tests and kept here beside the rule it checks.
#[cfg(test)]
pub(crate) fn twin_share(children: &[ChildSpec]) -> f64 {
    children.iter().filter(|c| c.twin_of.is_some()).count() as f64 / children.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stage, stream};

    #[test]
    fn households_twins_and_ages() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).expect("valid date");
        let mut rng = stream(11, Stage::People);
        let mut places = Places::generate(&mut rng, 600);
        let pop = generate(&mut rng, &mut places, today, 1000);
        assert_eq!(pop.children.len(), 1000);
        assert_eq!(pop.schools.len(), 1000);
        assert!(twin_share(&pop.children) >= 0.025);
        for c in &pop.children {
            assert!(age_on(c.date_of_birth, today) <= 17);
            assert!(c.date_of_birth <= today);
            if let Some(t) = c.twin_of {
                let twin = &pop.children[t as usize - 1];
                assert_eq!(twin.twin_of, Some(c.entity_id));
                assert_eq!(twin.date_of_birth, c.date_of_birth);
                assert_eq!(twin.household, c.household);
                assert_ne!(twin.given_name, c.given_name);
            }
            let h = pop.household(c).expect("household exists");
            assert_eq!(h.home.postcode, c.postcode);
        }
        assert!(pop.households.len() < 700);
    }
}
