//! Contacts: concerns about the children reaching the front door over the last few years. A few
//! children are the subject of many contacts, most of none or one or two; each contact has a
//! recorder, channel and DfE source code that agree with each other, and describes the child the
//! way a caller would, not the way the records do.

use crate::borough::SCHOOLS;
use crate::names::nickname;
use crate::narrative::{Subject, Theme, narrative};
use crate::noise::{dob_swap, dob_typo, double_barrel_variant, postcode_format, recase, typo};
use crate::people::{Population, age_on};
use crate::places::{Home, Places};
use crate::rng::{Zipf, chance, pick, weighted};
use crate::{ChildSpec, ContactSpec, Params, UserSpec};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, Utc, Weekday};
use frontdoor_core::contact::ChildDraft;
use frontdoor_core::{Channel, Sex};
use rand::Rng;

/// How much of the front door's attention each child draws, decided before records are made so
/// that children with many contacts are also the ones children's social care holds.
pub(crate) struct Plan {
    /// Relative chance of each child (same order as the children) being a contact's subject.
    pub weights: Vec<u32>,
    /// The kind of concern that keeps coming back for each child.
    pub profiles: Vec<Theme>,
}

impl Plan {
    pub(crate) fn new(rng: &mut impl Rng, children: &[ChildSpec], today: NaiveDate) -> Self {
        let mut weights = Vec::with_capacity(children.len());
        let mut profiles = Vec::with_capacity(children.len());
        for child in children {
            let age = age_on(child.date_of_birth, today);
            // Heavy tail: teenagers are more often the subject of repeated contacts
            // (missing episodes, exploitation).
            let buckets: [(u32, u32); 5] = if age >= 12 {
                [(20, 3), (8, 5), (3, 10), (1, 22), (0, 60)]
            } else {
                [(12, 1), (6, 3), (3, 10), (1, 26), (0, 60)]
            };
            let weight = weighted(rng, &buckets).unwrap_or(0);
            let profile = if weight >= 8 && age >= 12 && chance(rng, 0.6) {
                if chance(rng, 0.55) { Theme::Cse } else { Theme::Missing }
            } else {
                Theme::random(rng, age)
            };
            weights.push(weight);
            profiles.push(profile);
        }
        Self { weights, profiles }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorder {
    Advisor,
    Police,
    Health,
    School,
    Housing,
}

/// The users who record contacts, by index into the users list.
struct Recorders {
    advisors: Vec<usize>,
    police: Option<usize>,
    health: Option<usize>,
    school: Option<usize>,
    housing: Option<usize>,
}

impl Recorders {
    fn new(users: &[UserSpec]) -> Self {
        let find = |name: &str| users.iter().position(|u| u.username == name);
        Self {
            advisors: users
                .iter()
                .enumerate()
                .filter(|(_, u)| u.roles.contains(&frontdoor_core::Role::FrontDoorAdvisor))
                .map(|(i, _)| i)
                .collect(),
            police: find("police.practitioner"),
            health: find("health.practitioner"),
            school: find("school.practitioner"),
            housing: find("housing.practitioner"),
        }
    }

    fn user(&self, rng: &mut impl Rng, r: Recorder) -> Option<usize> {
        let advisor = self.advisors.get(rng.random_range(0..self.advisors.len().max(1))).copied();
        match r {
            Recorder::Advisor => advisor,
            Recorder::Police => self.police.or(advisor),
            Recorder::Health => self.health.or(advisor),
            Recorder::School => self.school.or(advisor),
            Recorder::Housing => self.housing.or(advisor),
        }
    }
}

pub(crate) fn generate(
    rng: &mut impl Rng,
    plan: &Plan,
    population: &Population,
    places: &mut Places,
    users: &[UserSpec],
    today: NaiveDate,
    params: &Params,
) -> Vec<ContactSpec> {
    let children = &population.children;
    if children.is_empty() {
        return Vec::new();
    }
    let recorders = Recorders::new(users);
    let mut picker = Zipf::from_weights(plan.weights.iter().map(|w| f64::from(*w)));
    if plan.weights.iter().all(|w| *w == 0) {
        picker = Zipf::from_weights(children.iter().map(|_| 1.0));
    }
    let start = today.checked_sub_months(Months::new(params.years.saturating_mul(12))).unwrap_or(today);

    let mut contacts = Vec::with_capacity(params.contacts);
    for _ in 0..params.contacts {
        let i = picker.sample(rng);
        let Some(child) = children.get(i) else { continue };
        let office_hours = chance(rng, 0.85);
        let date = contact_date(rng, start.max(child.date_of_birth), today, office_hours);
        let age = age_on(child.date_of_birth, date);
        let profile = plan.profiles.get(i).copied().unwrap_or_default();
        let theme = if chance(rng, 0.65) && profile.suits(age) { profile } else { Theme::random(rng, age) };
        let recorder = recorder_for(rng, theme, age);
        let (channel, source_code) = route(rng, recorder, theme, age);
        let Some(recorded_by) = recorders.user(rng, recorder) else { continue };

        let anonymous = channel == Channel::AnonymousLine;
        let (draft, spoken_name) = reported(rng, child, places, anonymous, date);
        let school = population
            .schools
            .get(i)
            .copied()
            .flatten()
            .and_then(|e| SCHOOLS.iter().find(|s| s.establishment == e))
            .map(|s| s.name);
        let subject = Subject { name: &spoken_name, sex: child.sex, school, age };
        let text = narrative(rng, source_code, theme, &subject);
        let received_at = time_on(rng, date, office_hours && channel != Channel::Feed);

        contacts.push(ContactSpec {
            entity_id: child.entity_id,
            recorded_by,
            channel,
            source_code,
            child: draft,
            narrative: text,
            received_at,
            call_type: theme.call_type(),
            anonymous,
        });
    }
    contacts.sort_by_key(|c| (c.received_at, c.entity_id));
    contacts
}

/// A day between `from` and `to`; a weekday when the contact came in office hours (if the range
/// has one).
fn contact_date(rng: &mut impl Rng, from: NaiveDate, to: NaiveDate, weekday: bool) -> NaiveDate {
    let span = u64::try_from((to - from).num_days()).unwrap_or(0);
    let mut date = from;
    for _ in 0..8 {
        date = from.checked_add_days(Days::new(rng.random_range(0..=span))).unwrap_or(from);
        if !weekday || !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            break;
        }
    }
    date
}

/// A time on `date`: office hours (08:30–17:30, busiest mid-morning) or any time of day.
fn time_on(rng: &mut impl Rng, date: NaiveDate, office_hours: bool) -> DateTime<Utc> {
    let seconds = if office_hours {
        let hour = weighted(
            rng,
            &[(8u32, 4), (9, 12), (10, 14), (11, 13), (12, 9), (13, 10), (14, 12), (15, 12), (16, 9), (17, 3)],
        )
        .unwrap_or(10);
        let minute = match hour {
            8 => rng.random_range(30..60),
            17 => rng.random_range(0..30),
            _ => rng.random_range(0..60),
        };
        hour * 3600 + minute * 60 + rng.random_range(0..60)
    } else {
        rng.random_range(0..86_400)
    };
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or(NaiveTime::MIN);
    date.and_time(time).and_utc()
}

/// Who records a contact: mostly an advisor taking it at the front door, sometimes a
/// practitioner entering it themselves, more often for the concerns their agency sees first.
fn recorder_for(rng: &mut impl Rng, theme: Theme, age: u32) -> Recorder {
    let police = match theme {
        Theme::DomesticAbuse => 14,
        Theme::Missing => 18,
        Theme::Cse => 10,
        Theme::Injury => 6,
        _ => 4,
    };
    let health = match theme {
        Theme::Injury => 10,
        Theme::Neglect | Theme::ParentalSubstance => 6,
        _ => 3,
    };
    let school = match theme {
        _ if !(4..=17).contains(&age) => 0,
        Theme::SchoolAbsence => 14,
        Theme::OnlineHarm => 8,
        Theme::Cse => 6,
        _ => 4,
    };
    let housing = match theme {
        Theme::Neglect => 4,
        Theme::DomesticAbuse => 3,
        _ => 1,
    };
    weighted(
        rng,
        &[
            (Recorder::Advisor, 76),
            (Recorder::Police, police),
            (Recorder::Health, health),
            (Recorder::School, school),
            (Recorder::Housing, housing),
        ],
    )
    .unwrap_or(Recorder::Advisor)
}

/// The channel and DfE source code, consistent with the recorder: a police practitioner's
/// contact is source 6, a school's 2A, an anonymous call 9.
fn route(rng: &mut impl Rng, recorder: Recorder, theme: Theme, age: u32) -> (Channel, &'static str) {
    use Channel::*;
    let channel = |rng: &mut _, table: &[(Channel, u32)]| weighted(rng, table).unwrap_or(Phone);
    match recorder {
        Recorder::Police => (channel(rng, &[(ProfessionalReferral, 60), (OnlineForm, 25), (Feed, 15)]), "6"),
        Recorder::School => (channel(rng, &[(ProfessionalReferral, 60), (OnlineForm, 40)]), "2A"),
        Recorder::Housing => (channel(rng, &[(ProfessionalReferral, 50), (OnlineForm, 30), (Email, 20)]), "4"),
        Recorder::Health => {
            let c = channel(rng, &[(ProfessionalReferral, 70), (OnlineForm, 30)]);
            let young = age < 5;
            let code = weighted(
                rng,
                &[
                    ("3B", if young { 30 } else { 0 }),
                    ("3C", if young { 0 } else { 25 }),
                    ("3D", 12),
                    ("3E", 33),
                    ("3F", 28),
                ],
            )
            .unwrap_or("3F");
            (c, code)
        }
        Recorder::Advisor => {
            let c = channel(
                rng,
                &[
                    (Phone, 52),
                    (Email, 18),
                    (ProfessionalReferral, 10),
                    (InPerson, 4),
                    (OnlineForm, 8),
                    (AnonymousLine, 8),
                ],
            );
            let self_referral = if age >= 10 { 25 } else { 0 };
            let table: Vec<(&'static str, u32)> = match c {
                AnonymousLine => vec![("9", 1)],
                InPerson => {
                    vec![("1A", 50), ("1B", 15), ("1C", self_referral), ("1D", 5), ("8", 5)]
                }
                OnlineForm => vec![("1A", 40), ("1B", 25), ("1D", 10), ("8", 10), ("2B", 5), ("10", 3)],
                Email => {
                    let mut t = professional(theme, age);
                    t.push(("1A", 4));
                    t
                }
                Phone => {
                    let mut t = professional(theme, age);
                    t.extend([("1A", 14), ("1B", 6), ("1C", self_referral / 10), ("1D", 3), ("10", 1)]);
                    t
                }
                _ => professional(theme, age),
            };
            (c, weighted(rng, &table).unwrap_or("10"))
        }
    }
}

/// Professional sources as the front door hears from them, weighted for the concern and age.
fn professional(theme: Theme, age: u32) -> Vec<(&'static str, u32)> {
    let school_age = age >= 4;
    let education = if theme == Theme::SchoolAbsence { 4 } else { 1 };
    let police = match theme {
        Theme::Missing => 3,
        Theme::DomesticAbuse => 2,
        _ => 1,
    };
    vec![
        ("6", 20 * police),
        ("2A", if school_age { 18 * education } else { 0 }),
        ("2B", if school_age { 4 * education } else { 0 }),
        ("3A", 5),
        ("3B", if age < 5 { 3 } else { 0 }),
        ("3C", if school_age { 3 } else { 0 }),
        ("3D", 2),
        ("3E", 4),
        ("3F", 3),
        ("4", 3),
        ("5A", 3),
        ("5B", 3),
        ("5C", 2),
        ("5D", 2),
        ("7", 3),
        ("8", 5),
    ]
}

/// The child as the reporter described them, and the given name they used (for the narrative).
/// Anonymous callers know less; everyone sometimes uses a nickname, misspells, or gets the date
/// of birth or postcode wrong.
fn reported(
    rng: &mut impl Rng,
    child: &ChildSpec,
    places: &mut Places,
    anonymous: bool,
    on: NaiveDate,
) -> (ChildDraft, String) {
    let mut spoken = child.given_name.clone();
    if chance(rng, 0.15)
        && let Some(nick) = nickname(rng, &spoken)
    {
        spoken = nick.to_owned();
    }
    let mut given = spoken.clone();
    if chance(rng, 0.06) {
        given = typo(rng, &given);
    }
    given = recase(rng, &given, 0.03, 0.04);

    let mut family = child.family_name.clone();
    if family.contains('-') && chance(rng, 0.5) {
        family = double_barrel_variant(rng, &family);
    }
    if chance(rng, 0.05) {
        family = typo(rng, &family);
    }
    family = recase(rng, &family, 0.04, 0.04);
    if anonymous && chance(rng, 0.03) {
        family = "Unknown".to_owned();
    }
    let (given, family) = if chance(rng, 0.01) { (family, given) } else { (given, family) };

    let date_of_birth = chance(rng, if anonymous { 0.35 } else { 0.75 }).then(|| {
        let mut dob = child.date_of_birth;
        if chance(rng, 0.04) {
            dob = dob_typo(rng, dob, on);
        } else if chance(rng, 0.02) {
            dob = dob_swap(dob, on).unwrap_or(dob);
        }
        dob.format("%Y-%m-%d").to_string()
    });

    let sex = chance(rng, 0.65).then(|| {
        let (short, long) = match child.sex {
            Sex::M => ("M", "Male"),
            Sex::F => ("F", "female"),
            Sex::U => ("U", "unknown"),
        };
        pick(rng, &[short, short, short, long]).to_owned()
    });

    let postcode = chance(rng, if anonymous { 0.4 } else { 0.6 }).then(|| {
        let mut p = child.postcode.clone();
        if chance(rng, 0.03) {
            // An old or misheard postcode.
            let current = Home { street: places.street_of(&p), address: child.address.clone(), postcode: p.clone() };
            p = places.other_home(rng, &current).postcode;
        }
        if chance(rng, 0.3) { postcode_format(rng, &p) } else { p }
    });

    let draft = ChildDraft { given_name: given, family_name: family, date_of_birth, sex, postcode };
    (draft, spoken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stage, stream};

    #[test]
    fn practitioners_use_their_own_source_codes() {
        let mut rng = stream(2, Stage::Contacts);
        for _ in 0..500 {
            let theme = Theme::random(&mut rng, 14);
            assert_eq!(route(&mut rng, Recorder::Police, theme, 14).1, "6");
            assert_eq!(route(&mut rng, Recorder::School, theme, 14).1, "2A");
            assert_eq!(route(&mut rng, Recorder::Housing, theme, 14).1, "4");
            assert!(route(&mut rng, Recorder::Health, theme, 14).1.starts_with('3'));
            let (channel, code) = route(&mut rng, Recorder::Advisor, theme, 3);
            assert_eq!(channel == Channel::AnonymousLine, code == "9");
            assert_ne!(code, "1C", "a three-year-old does not self-refer");
        }
    }

    #[test]
    fn office_hours_are_office_hours() {
        let mut rng = stream(4, Stage::Contacts);
        let day = NaiveDate::from_ymd_opt(2026, 3, 4).expect("valid date");
        for _ in 0..1000 {
            let t = time_on(&mut rng, day, true).time();
            let open = NaiveTime::from_hms_opt(8, 30, 0).expect("valid time");
            let close = NaiveTime::from_hms_opt(17, 30, 0).expect("valid time");
            assert!(t >= open && t < close, "{t}");
        }
    }
}
