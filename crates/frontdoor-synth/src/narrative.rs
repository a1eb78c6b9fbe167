//! Front-door narratives built from templates and phrase pools: who raised the concern, what was
//! seen, and sometimes what was *not* (negated mentions such as "denies going missing"), so that
//! indicator screening has to read the sentence, not just find the word.

use crate::rng::{chance, pick, weighted};
use frontdoor_core::Sex;
use rand::Rng;
use rand::seq::SliceRandom;

/// What a contact is mainly about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Theme {
    #[default]
    Neglect,
    DomesticAbuse,
    Missing,
    SchoolAbsence,
    Cse,
    OnlineHarm,
    ParentalSubstance,
    Injury,
}

impl Theme {
    /// The front door's protocol (call type) an advisor would follow for this concern.
    pub(crate) fn call_type(self) -> &'static str {
        match self {
            Theme::Neglect | Theme::ParentalSubstance => "neglect",
            Theme::DomesticAbuse => "domestic_abuse",
            Theme::Missing => "missing_child",
            Theme::SchoolAbsence => "school_absence",
            Theme::Cse => "cse_concern",
            Theme::OnlineHarm => "online_harm",
            Theme::Injury => "physical_abuse",
        }
    }

    pub(crate) const ALL: [Theme; 8] = [
        Theme::Neglect,
        Theme::DomesticAbuse,
        Theme::Missing,
        Theme::SchoolAbsence,
        Theme::Cse,
        Theme::OnlineHarm,
        Theme::ParentalSubstance,
        Theme::Injury,
    ];

    /// Whether a concern of this kind is plausible for a child of `age`.
    pub(crate) fn suits(self, age: u32) -> bool {
        match self {
            Theme::Neglect | Theme::DomesticAbuse | Theme::ParentalSubstance | Theme::Injury => true,
            Theme::Missing => age >= 10,
            Theme::SchoolAbsence => (5..=16).contains(&age),
            Theme::Cse => age >= 11,
            Theme::OnlineHarm => age >= 8,
        }
    }

    /// How often each kind of concern arises for a child of `age` (relative weights).
    pub(crate) fn weight(self, age: u32) -> u32 {
        if !self.suits(age) {
            return 0;
        }
        let teen = age >= 12;
        match self {
            Theme::Neglect => {
                if teen {
                    10
                } else {
                    25
                }
            }
            Theme::DomesticAbuse => 22,
            Theme::Missing => 14,
            Theme::SchoolAbsence => 10,
            Theme::Cse => 12,
            Theme::OnlineHarm => 7,
            Theme::ParentalSubstance => {
                if teen {
                    5
                } else {
                    10
                }
            }
            Theme::Injury => {
                if age < 2 {
                    14
                } else {
                    7
                }
            }
        }
    }

    /// A theme weighted for `age`; neglect if nothing suits.
    pub(crate) fn random(rng: &mut impl Rng, age: u32) -> Theme {
        let table: Vec<(Theme, u32)> = Theme::ALL.iter().map(|t| (*t, t.weight(age))).collect();
        weighted(rng, &table).unwrap_or_default()
    }

    /// Sentences about this concern, each with the youngest age it makes sense for (a baby
    /// does not "give inconsistent explanations").
    fn sentences(self) -> &'static [(u32, &'static str)] {
        match self {
            Theme::Neglect => NEGLECT,
            Theme::DomesticAbuse => DOMESTIC_ABUSE,
            Theme::Missing => MISSING,
            Theme::SchoolAbsence => SCHOOL_ABSENCE,
            Theme::Cse => CSE,
            Theme::OnlineHarm => ONLINE_HARM,
            Theme::ParentalSubstance => PARENTAL_SUBSTANCE,
            Theme::Injury => INJURY,
        }
    }
}

const NEGLECT: &[(u32, &str)] = &[
    (0, "Home conditions are described as very poor, with little food in the house."),
    (0, "{name} is often seen in dirty clothes and is described as always hungry."),
    (0, "{name} has been left alone at home for long periods in the evening."),
    (0, "Several health appointments, including immunisations, have been missed."),
    (0, "There is rubbish and dog mess throughout the property and no working heating."),
    (0, "{name} has untreated tooth decay and head lice that have not been treated."),
    (3, "{name} arrives without a coat in cold weather and takes food from other children."),
    (0, "The family have no beds for the children, who sleep on a mattress on the floor."),
];

const DOMESTIC_ABUSE: &[(u32, &str)] = &[
    (0, "Police were called to an argument between {name}'s mother and her partner."),
    (0, "{name} was present during an incident in which {their} mother was assaulted."),
    (0, "Mother disclosed that her partner controls the family's money and checks her phone."),
    (0, "Neighbours report shouting and banging from the property most weekends."),
    (0, "The DASH risk assessment was scored as high risk and the case is going to MARAC."),
    (4, "{name} told a teacher that dad had hurt mum again."),
    (0, "Father breached a non-molestation order by attending the address last night."),
    (4, "{name} was seen trying to protect a younger sibling during the incident."),
];

const MISSING: &[(u32, &str)] = &[
    (0, "{name} was reported missing overnight and returned the following morning."),
    (0, "This is the {nth} missing episode in the last month."),
    (0, "{name} would not say where {they} had been while missing."),
    (0, "A return home interview was offered but declined."),
    (0, "{name} was found by officers in {place} in the early hours."),
    (0, "Carers report that {name} has been staying out past 2am without saying where."),
    (0, "{name} went missing from school at lunchtime and was found in another town."),
];

const SCHOOL_ABSENCE: &[(u32, &str)] = &[
    (0, "Attendance this term is {pct}%."),
    (0, "{name} has missed {n} school days since half term with no explanation from parents."),
    (0, "School have been unable to contact parents about {name}'s absence."),
    (0, "{name} has been arriving late and falling asleep in lessons."),
    (0, "{name} is on a reduced timetable and has not attended the sessions offered."),
    (0, "The family have stopped answering the door to the attendance officer."),
    (0, "{name} was taken off roll for elective home education and has not been seen since."),
];

const CSE: &[(u32, &str)] = &[
    (0, "{name} is believed to be in a relationship with an older boyfriend thought to be in his twenties."),
    (0, "{name} has been seen getting into a {car} driven by adult males outside school."),
    (0, "{name} has been receiving gifts, including new trainers and a phone, and will not say who bought them."),
    (0, "{name} was found at a hotel on the ring road with an adult male."),
    (0, "There are concerns that {name} is being given alcohol and cannabis at parties at an adult's flat."),
    (0, "{name} has a second phone with unknown contacts saved under nicknames."),
    (0, "Staff saw {name} being picked up in different cars by men not known to the family."),
    (0, "{name} has been going missing and coming back with cash and vapes."),
    (0, "{name} has been spending time with an adult known as '{alias}' in {place}."),
    (0, "{name} has been seen drunk in {place} with older men late at night."),
    (0, "{name} disclosed that {they} had been taken to a house where older men were drinking."),
];

const ONLINE_HARM: &[(u32, &str)] = &[
    (0, "{name} has been sending images to someone met on a gaming platform."),
    (0, "{name} was asked by an online contact to keep their conversations secret."),
    (0, "Explicit images of {name} have been shared around the year group on social media."),
    (0, "{name} has been talking online to an adult who asked to meet up."),
    (0, "{name} is being bullied in a group chat and has talked about self-harm."),
    (0, "An adult online has been sending {name} money for gaming credits."),
];

const PARENTAL_SUBSTANCE: &[(u32, &str)] = &[
    (0, "Mother was found intoxicated while caring for {name}."),
    (0, "Drug paraphernalia was seen in the home within reach of the children."),
    (0, "Father is known to misuse alcohol and was drunk at school pick-up."),
    (0, "Mother's partner is believed to be dealing from the address."),
    (0, "The parents were both under the influence when police attended."),
];

const INJURY: &[(u32, &str)] = &[
    (4, "{name} had a bruise to the cheek and gave inconsistent explanations."),
    (0, "Bruising was noted on {name}'s upper arm during a home visit."),
    (4, "{name} said that {their} step-father hit {them} with a belt."),
    (0, "{name} presented with a burn that does not match the account given by the parent."),
    (3, "{name} flinched when a member of staff raised a hand and has marks on {their} neck."),
];

/// Negated or denied mentions of indicators, with the theme each one negates and the youngest
/// age it makes sense for.
const NEGATED: &[(Theme, u32, &str)] = &[
    (Theme::Cse, 11, "There are no concerns about an older boyfriend."),
    (Theme::Missing, 10, "{name} denies going missing."),
    (Theme::ParentalSubstance, 0, "No concerns about alcohol or drug use were identified."),
    (Theme::DomesticAbuse, 0, "Mother denies any domestic abuse in the home."),
    (Theme::Cse, 10, "There is no evidence that {name} has been picked up in cars by adults."),
    (Theme::Missing, 10, "{name} has never been reported missing."),
    (Theme::SchoolAbsence, 5, "School report no concerns about attendance."),
    (Theme::Cse, 10, "No indication of gifts or money from unknown adults."),
    (Theme::Cse, 10, "{name} denies having a second phone."),
    (Theme::OnlineHarm, 8, "There is no suggestion of online contact with adults."),
    (Theme::DomesticAbuse, 0, "Police have no record of domestic abuse at the address."),
    (Theme::Injury, 0, "No injuries were observed."),
    (Theme::Neglect, 0, "The home was clean and there was food in the cupboards."),
    (Theme::Cse, 11, "{name} denies any contact with older males and says the rumours are untrue."),
    (Theme::ParentalSubstance, 0, "Father denies drinking and no alcohol was seen."),
    (Theme::Missing, 10, "Mother says {name} is always home by 9pm and has not stayed out overnight."),
];

const CLOSERS: &[&str] = &[
    "Parents are aware of the contact and consent to information sharing.",
    "Parents have not been told as this may place {name} at further risk.",
    "Reporter is requesting a call back.",
    "No previous involvement known to the reporter.",
    "Advice given; reporter will follow up with a written referral.",
    "The family are known to early help.",
    "Reporter is happy to attend a strategy discussion if needed.",
    "Mother has been given information about support services.",
];

const PLACES: &[&str] = &[
    "Heronfield retail park",
    "Tallowgate bus station",
    "Millbeck park",
    "a takeaway on Cinderbank Parade",
    "the flats on Sedgecombe Road",
    "the canal towpath at Ashenmoor",
    "the underpass by Wrenhollow station",
    "a car park behind the Larkhollow shops",
];

const CARS: &[&str] = &["silver hatchback", "black saloon", "white van", "blue people carrier", "red estate car"];

const ALIASES: &[&str] = &["Dee", "Jay", "Smokey", "Big Man", "K", "Rico", "Tall Boy", "Uncle"];

const RELATIONS: &[&str] = &[
    "Maternal grandmother",
    "Paternal aunt",
    "Father, who does not live with the family,",
    "Mother",
    "An older sibling",
    "Step-father",
    "Maternal uncle",
];

/// Openers: who got in touch, by DfE source code, each with the youngest age it suits.
fn openers(source_code: &str) -> &'static [(u32, &'static str)] {
    match source_code {
        "1A" => &[
            (0, "{relation} contacted the front door worried about {name}."),
            (0, "{relation} raised concerns about {name}."),
        ],
        "1B" => &[
            (0, "A neighbour contacted us about {name}."),
            (0, "A family friend got in touch about {name}."),
            (0, "A childminder raised concerns about {name}."),
        ],
        "1C" => &[
            (10, "{name} self-referred and asked to speak to a social worker."),
            (10, "{name} asked for help and said {they} did not want to go home."),
        ],
        "1D" => &[
            (0, "A member of the public reported concerns about {name}."),
            (8, "A shop worker reported seeing {name} with adults late at night."),
        ],
        "2A" => &[
            (0, "The designated safeguarding lead at {school} called about {name}."),
            (0, "{school} sent a safeguarding referral about {name}."),
            (4, "{name}'s class teacher at {school} raised concerns."),
        ],
        "2B" => &[
            (0, "The attendance and welfare service raised concerns about {name}."),
            (0, "The SEND team shared concerns about {name}."),
        ],
        "3A" => &[
            (0, "{name}'s GP contacted the front door."),
            (0, "A GP at the Sedgecombe Lane surgery raised concerns about {name}."),
        ],
        "3B" => &[(0, "The health visitor reported concerns following a home visit to {name}.")],
        "3C" => &[(5, "The school nurse shared concerns after a drop-in session with {name}.")],
        "3D" => &[
            (12, "The community sexual health service contacted us about {name}."),
            (0, "A community paediatric nurse raised concerns about {name}."),
        ],
        "3E" => &[
            (0, "{name} attended the emergency department at {hospital}."),
            (0, "The paediatric liaison nurse at {hospital} referred {name} after an A&E attendance."),
        ],
        "3F" => {
            &[(4, "{name}'s CAMHS worker raised concerns."), (0, "A midwife shared concerns about {name}'s household.")]
        }
        "4" => &[
            (0, "Wrenhollow Homes reported concerns after a tenancy visit to {name}'s address."),
            (0, "The homelessness team raised concerns about {name}'s family."),
        ],
        "5A" => &[(0, "Adult social care shared concerns following an assessment of {name}'s mother.")],
        "5B" => &[
            (10, "The youth justice service raised concerns about {name}."),
            (0, "The council's family support officer raised concerns about {name}."),
        ],
        "5C" => &[(
            0,
            "A social worker from a neighbouring authority got in touch; the family recently moved into the area.",
        )],
        "5D" => &[(0, "The early help family worker is asking for {name}'s case to be stepped up.")],
        "6" => &[
            (0, "Police attended the home address following a 999 call."),
            (0, "A police protection notice was received about {name}."),
            (8, "Officers found {name} in {place} late at night."),
        ],
        "7" => &[
            (0, "The probation officer for {name}'s father shared information."),
            (0, "A CAFCASS officer raised concerns about {name} during private law proceedings."),
        ],
        "8" => &[
            (0, "A worker from {org} contacted us about {name}."),
            (0, "The children's centre raised concerns about {name}."),
        ],
        "9" => &[
            (0, "An anonymous caller reported concerns about {name}."),
            (0, "An anonymous caller, who would not give a name, said that {name} is not safe at home."),
        ],
        _ => &[(0, "Concerns were received about {name}; the source was not recorded.")],
    }
}

/// What a narrative is about, as the reporter named the child.
pub(crate) struct Subject<'a> {
    pub name: &'a str,
    pub sex: Sex,
    pub school: Option<&'a str>,
    /// Age when the concern was raised.
    pub age: u32,
}

/// A narrative of one to six sentences: usually an opener naming the reporter, up to three
/// sentences on the concern, sometimes a negated mention of another indicator, sometimes a note
/// on consent or follow-up.
pub(crate) fn narrative(rng: &mut impl Rng, source_code: &str, theme: Theme, subject: &Subject<'_>) -> String {
    let mut sentences: Vec<&str> = Vec::with_capacity(6);
    let suitable = |&&(min_age, _): &&(u32, &str)| subject.age >= min_age;
    if chance(rng, 0.9) {
        let fitting: Vec<&str> = openers(source_code).iter().filter(suitable).map(|(_, s)| *s).collect();
        sentences.push(if fitting.is_empty() { "Concerns were received about {name}." } else { pick(rng, &fitting) });
    }
    let count = weighted(rng, &[(0usize, 8), (1, 40), (2, 37), (3, 15)]).unwrap_or(1);
    let mut pool: Vec<&str> = theme.sentences().iter().filter(suitable).map(|(_, s)| *s).collect();
    pool.shuffle(rng);
    sentences.extend(pool.into_iter().take(count));
    if chance(rng, 0.35) {
        let negations: Vec<&str> = NEGATED
            .iter()
            .filter(|(t, min_age, _)| *t != theme && subject.age >= *min_age)
            .map(|(_, _, s)| *s)
            .collect();
        if !negations.is_empty() {
            sentences.push(pick(rng, &negations));
        }
    }
    if chance(rng, 0.45) {
        sentences.push(pick(rng, CLOSERS));
    }
    if sentences.is_empty() {
        sentences.push(pick(rng, CLOSERS));
    }
    let text = sentences.join(" ");
    fill(rng, &text, subject)
}

/// Replace the placeholders; the random ones are drawn once, so a narrative mentions one place.
fn fill(rng: &mut impl Rng, text: &str, subject: &Subject<'_>) -> String {
    let (they, their, them) = match subject.sex {
        Sex::M => ("he", "his", "him"),
        Sex::F => ("she", "her", "her"),
        Sex::U => ("they", "their", "them"),
    };
    let nth = pick(rng, &["second", "third", "fourth", "fifth"]);
    let orgs: Vec<&str> = crate::borough::VOLUNTARY.iter().map(|(_, n)| *n).collect();
    text.replace("{name}", subject.name)
        .replace("{they}", they)
        .replace("{their}", their)
        .replace("{them}", them)
        .replace("{place}", pick(rng, PLACES))
        .replace("{car}", pick(rng, CARS))
        .replace("{alias}", pick(rng, ALIASES))
        .replace("{school}", subject.school.unwrap_or("the school"))
        .replace("{hospital}", crate::borough::HOSPITAL)
        .replace("{org}", pick(rng, &orgs))
        .replace("{relation}", pick(rng, RELATIONS))
        .replace("{nth}", nth)
        .replace("{n}", &rng.random_range(4..=25u32).to_string())
        .replace("{pct}", &rng.random_range(38..=82u32).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stage, stream};

    #[test]
    fn narratives_are_one_to_six_filled_sentences() {
        let mut rng = stream(5, Stage::Contacts);
        let subject = Subject { name: "Kasia", sex: Sex::F, school: None, age: 14 };
        for code in frontdoor_core::SourceCode::ALL.map(|(c, _)| c) {
            for theme in Theme::ALL {
                let n = narrative(&mut rng, code, theme, &subject);
                assert!(!n.contains('{') && !n.contains('}'), "{n}");
                let sentences = n.matches(['.', '?', '!']).count();
                assert!((1..=7).contains(&sentences), "{sentences}: {n}");
                assert!(frontdoor_core::Narrative::parse(&n).is_ok());
            }
        }
    }

    #[test]
    fn babies_do_not_speak_or_deny() {
        let mut rng = stream(8, Stage::Contacts);
        let subject = Subject { name: "Ava", sex: Sex::F, school: None, age: 1 };
        for code in frontdoor_core::SourceCode::ALL.map(|(c, _)| c) {
            for theme in Theme::ALL.into_iter().filter(|t| t.suits(1)) {
                for _ in 0..20 {
                    let n = narrative(&mut rng, code, theme, &subject);
                    for phrase in
                        ["Ava denies", "Ava said", "Ava told", "explanations", "self-referred", "late at night"]
                    {
                        assert!(!n.contains(phrase), "{n}");
                    }
                }
            }
        }
    }

    #[test]
    fn some_narratives_negate_an_indicator() {
        let mut rng = stream(6, Stage::Contacts);
        let subject = Subject { name: "Liam", sex: Sex::M, school: Some("Sedgecombe Academy"), age: 13 };
        let texts: Vec<String> = (0..300).map(|_| narrative(&mut rng, "2A", Theme::Missing, &subject)).collect();
        assert!(texts.iter().any(|t| t.contains("no concerns about an older boyfriend")));
        assert!(texts.iter().all(|t| !t.contains("denies going missing")));
    }
}
