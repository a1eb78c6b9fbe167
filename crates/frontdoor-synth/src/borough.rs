//! The organisations of the invented Borough of Wrenhollow, the people who log in to Frontdoor,
//! and the authority's source systems. These are fixed: the same for every seed, so a demo login
//! or a test can name them.

use crate::{AgencySpec, SourceSystem, UserSpec};
use frontdoor_core::{AgencyKind, Role};

/// A school: its name, slug, phase and invented DfE establishment number (for UPNs).
pub(crate) struct School {
    pub name: &'static str,
    pub key: &'static str,
    pub phase: Phase,
    pub establishment: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Primary,
    Secondary,
    /// All-through special school: any age from 4.
    Special,
}

pub(crate) const SCHOOLS: &[School] = &[
    School {
        name: "Kestrel Rise Primary School",
        key: "school-kestrel-rise-primary",
        phase: Phase::Primary,
        establishment: 2011,
    },
    School {
        name: "St Merrow's C of E Primary School",
        key: "school-st-merrows-primary",
        phase: Phase::Primary,
        establishment: 3302,
    },
    School {
        name: "Tallowgate Community Primary School",
        key: "school-tallowgate-primary",
        phase: Phase::Primary,
        establishment: 2046,
    },
    School {
        name: "Millbeck Infant and Junior School",
        key: "school-millbeck-infant-junior",
        phase: Phase::Primary,
        establishment: 2073,
    },
    School {
        name: "Heronfield Primary Academy",
        key: "school-heronfield-primary",
        phase: Phase::Primary,
        establishment: 2105,
    },
    School {
        name: "Cinderbank Primary School",
        key: "school-cinderbank-primary",
        phase: Phase::Primary,
        establishment: 2118,
    },
    School {
        name: "St Anselm's Catholic Primary School, Larkhollow",
        key: "school-st-anselms-primary",
        phase: Phase::Primary,
        establishment: 3520,
    },
    School {
        name: "Brackenwold Primary School",
        key: "school-brackenwold-primary",
        phase: Phase::Primary,
        establishment: 2154,
    },
    School {
        name: "Wrenhollow High School",
        key: "school-wrenhollow-high",
        phase: Phase::Secondary,
        establishment: 4003,
    },
    School {
        name: "Sedgecombe Academy",
        key: "school-sedgecombe-academy",
        phase: Phase::Secondary,
        establishment: 4012,
    },
    School {
        name: "Ashenmoor Community College",
        key: "school-ashenmoor-college",
        phase: Phase::Secondary,
        establishment: 4027,
    },
    School {
        name: "Foxhollow Green School",
        key: "school-foxhollow-green",
        phase: Phase::Special,
        establishment: 7001,
    },
];

/// The school whose safeguarding lead has a Frontdoor login.
pub(crate) const PRACTITIONER_SCHOOL: &str = "school-wrenhollow-high";

pub(crate) const HOSPITAL: &str = "Wrenhollow General Hospital";

/// Voluntary organisations, also named in narratives.
pub(crate) const VOLUNTARY: &[(&str, &str)] = &[
    ("vol-lanternway", "Lanternway Young People's Trust"),
    ("vol-heronfield-families", "Heronfield Family Support Network"),
];

fn agency(key: &str, name: &str, kind: AgencyKind) -> AgencySpec {
    AgencySpec { key: key.to_owned(), name: name.to_owned(), kind }
}

/// Children's services first, then police, health, schools, housing, probation, licensing and
/// the voluntary sector.
pub(crate) fn agencies() -> Vec<AgencySpec> {
    let mut a = vec![
        agency("childrens-services", "Wrenhollow Borough Council Children's Services", AgencyKind::ChildrensServices),
        agency("police", "Wrenhollow Constabulary", AgencyKind::Police),
        agency("health-trust", "Wrenhollow Community and Hospitals NHS Trust", AgencyKind::Health),
        agency("gp-federation", "Wrenhollow Primary Care GP Federation", AgencyKind::Health),
    ];
    a.extend(SCHOOLS.iter().map(|s| agency(s.key, s.name, AgencyKind::School)));
    a.extend([
        agency("housing", "Wrenhollow Homes", AgencyKind::Housing),
        agency("probation", "Wrenhollow Probation Delivery Unit", AgencyKind::Probation),
        agency("licensing", "Wrenhollow Borough Council Licensing Service", AgencyKind::Licensing),
    ]);
    a.extend(VOLUNTARY.iter().map(|(k, n)| agency(k, n, AgencyKind::Voluntary)));
    // Further education: told when a young person known to the CSE team transfers to it (F15).
    a.push(agency("college", "Wrenhollow College (further education)", AgencyKind::Education));
    a
}

/// Users: (username, display name, agency key, role).
const USERS: &[(&str, &str, &str, Role)] = &[
    ("advisor1", "Rachel Ainsworth", "childrens-services", Role::FrontDoorAdvisor),
    ("advisor2", "Tariq Mahmood", "childrens-services", Role::FrontDoorAdvisor),
    ("advisor3", "Gemma Threlfall", "childrens-services", Role::FrontDoorAdvisor),
    ("advisor4", "Kwabena Owusu", "childrens-services", Role::FrontDoorAdvisor),
    ("advisor5", "Joanna Wróbel", "childrens-services", Role::FrontDoorAdvisor),
    ("advisor6", "Sean Gallagher", "childrens-services", Role::FrontDoorAdvisor),
    ("lead1", "Helen Openshaw", "childrens-services", Role::SafeguardingLead),
    ("lead2", "Priya Mistry", "childrens-services", Role::SafeguardingLead),
    ("lead3", "Mark Fairclough", "childrens-services", Role::SafeguardingLead),
    ("cse.worker1", "Leanne Sowerby", "childrens-services", Role::CseWorker),
    ("cse.worker2", "Adaeze Nwosu", "childrens-services", Role::CseWorker),
    ("cse.manager", "Claire Hargreaves", "childrens-services", Role::CseManager),
    ("analyst", "Imran Bhatti", "childrens-services", Role::Analyst),
    ("admin", "Paul Whitworth", "childrens-services", Role::Administrator),
    ("auditor", "Susan Pickering", "childrens-services", Role::Auditor),
    ("police.practitioner", "DC Lee Greenhalgh", "police", Role::AgencyPractitioner),
    ("police.lead", "DS Joanne Kershaw (safeguarding lead)", "police", Role::AgencyLead),
    ("health.practitioner", "Nadia Hassan (safeguarding nurse)", "health-trust", Role::AgencyPractitioner),
    ("school.practitioner", "Ms Amanda Fletcher (DSL)", PRACTITIONER_SCHOOL, Role::AgencyPractitioner),
    ("housing.practitioner", "Gareth Lloyd", "housing", Role::AgencyPractitioner),
    ("licensing.officer", "Yvonne Ashworth", "licensing", Role::IntelligenceSubmitter),
];

pub(crate) fn users(agencies: &[AgencySpec]) -> Vec<UserSpec> {
    USERS
        .iter()
        .map(|(username, display, key, role)| UserSpec {
            username: (*username).to_owned(),
            display_name: (*display).to_owned(),
            agency: agencies.iter().position(|a| a.key == *key).unwrap_or(0),
            roles: vec![*role],
        })
        .collect()
}

/// How a source system numbers its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdFormat {
    /// `SC000123`
    SocialCare,
    /// `UPN-` and a unique pupil number: check letter, LA code, establishment, serial.
    Upn,
    /// A ten-digit number in the NHS test range (starts 999) with a valid modulus-11 check digit.
    NhsTest,
    /// A nine-digit police nominal number.
    PoliceNominal,
    /// `HN0004512`
    Housing,
    /// `YJ24-0045`: year of first contact and serial.
    YouthJustice,
    /// `EH-004512`
    EarlyHelp,
}

/// How a source system records people, and how carefully.
pub(crate) struct SourceProfile {
    pub name: &'static str,
    pub label: &'static str,
    pub agency_key: &'static str,
    pub id_format: IdFormat,
    /// Multiplies every per-field error rate.
    pub noise: f64,
    /// Share of records whose family name the system holds in capitals.
    pub family_upper: f64,
    /// Share of records holding the household's phone number.
    pub phone_rate: f64,
}

pub(crate) const SOURCES: &[SourceProfile] = &[
    SourceProfile {
        name: "social_care",
        label: "Children's social care case management",
        agency_key: "childrens-services",
        id_format: IdFormat::SocialCare,
        noise: 1.0,
        family_upper: 0.05,
        phone_rate: 0.7,
    },
    SourceProfile {
        name: "education",
        label: "Education management system (school census)",
        agency_key: "childrens-services",
        id_format: IdFormat::Upn,
        noise: 0.5,
        family_upper: 0.02,
        phone_rate: 0.8,
    },
    SourceProfile {
        name: "health_child",
        label: "Child health record (community NHS trust)",
        agency_key: "health-trust",
        id_format: IdFormat::NhsTest,
        noise: 0.7,
        family_upper: 0.45,
        phone_rate: 0.6,
    },
    SourceProfile {
        name: "police_niche",
        label: "Police records management system",
        agency_key: "police",
        id_format: IdFormat::PoliceNominal,
        noise: 1.6,
        family_upper: 0.8,
        phone_rate: 0.35,
    },
    SourceProfile {
        name: "housing",
        label: "Housing tenancy and homelessness register",
        agency_key: "housing",
        id_format: IdFormat::Housing,
        noise: 1.3,
        family_upper: 0.1,
        phone_rate: 0.9,
    },
    SourceProfile {
        name: "youth_justice",
        label: "Youth justice case management",
        agency_key: "childrens-services",
        id_format: IdFormat::YouthJustice,
        noise: 1.1,
        family_upper: 0.1,
        phone_rate: 0.6,
    },
    SourceProfile {
        name: "early_help",
        label: "Early help case management",
        agency_key: "childrens-services",
        id_format: IdFormat::EarlyHelp,
        noise: 1.2,
        family_upper: 0.05,
        phone_rate: 0.75,
    },
];

pub(crate) fn sources(agencies: &[AgencySpec]) -> Vec<SourceSystem> {
    SOURCES
        .iter()
        .map(|s| SourceSystem {
            name: s.name.to_owned(),
            label: s.label.to_owned(),
            agency: agencies.iter().position(|a| a.key == s.agency_key).unwrap_or(0),
        })
        .collect()
}
