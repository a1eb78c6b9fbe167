//! A synthetic borough for demos, tests and record-linkage evaluation: agencies, users, children
//! held in several source systems with realistic duplicates and typos, and contacts about them.
//!
//! Everything is invented (the Borough of Wrenhollow, postcode area `WK`, drama-range phone
//! numbers) and generated deterministically from a seed: the same seed, parameters and `today`
//! always give the same [`Borough`]. This crate never does I/O and never reads the clock.

mod borough;
mod contacts;
mod names;
mod narrative;
mod noise;
mod people;
mod places;
mod records;
mod rng;

use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::contact::ChildDraft;
use frontdoor_core::{AgencyKind, Channel, Role, Sex};
use std::fmt::Write as _;

/// How big a borough to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// True children (entities).
    pub children: usize,
    /// Contacts about them, spread over the last `years` years.
    pub contacts: usize,
    pub years: u32,
}

impl Default for Params {
    fn default() -> Self {
        Self { children: 3000, contacts: 6000, years: 2 }
    }
}

/// Everything generated for one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Borough {
    /// Children's services first (exactly one), then police, health, schools, housing,
    /// probation, licensing and voluntary organisations.
    pub agencies: Vec<AgencySpec>,
    /// At least one user for every [`Role`].
    pub users: Vec<UserSpec>,
    /// The authority's source systems that hold person records.
    pub sources: Vec<SourceSystem>,
    /// The true people: children aged 0–17 on `today`, in households.
    pub children: Vec<ChildSpec>,
    /// How the source systems hold those children: 1–4 systems per child, with noise.
    pub person_records: Vec<PersonRecord>,
    /// Contacts, oldest first.
    pub contacts: Vec<ContactSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencySpec {
    /// A stable slug, the same for every seed.
    pub key: String,
    pub name: String,
    pub kind: AgencyKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub username: String,
    pub display_name: String,
    /// Index into [`Borough::agencies`].
    pub agency: usize,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSystem {
    /// Lower-case id, as in [`PersonRecord::source`].
    pub name: String,
    pub label: String,
    /// Index into [`Borough::agencies`] of the agency that owns the system.
    pub agency: usize,
}

/// A true child: the entity every person record and contact is, in fact, about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSpec {
    /// 1-based, unique.
    pub entity_id: u32,
    /// 1-based; siblings share it.
    pub household: u32,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    /// Canonical form, e.g. `WK3 5HB`.
    pub postcode: String,
    pub address: String,
    pub phone: Option<String>,
    /// The entity id of this child's twin; set on both twins.
    pub twin_of: Option<u32>,
}

/// A child as one source system holds them. Everything but the identifiers may be missing or
/// wrong; present values parse with `frontdoor-core`'s parsers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub source: String,
    /// Unique within its source; the format differs per source.
    pub record_id: String,
    /// Ground truth: the child this record is about.
    pub entity_id: u32,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub postcode: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// A contact as it reached the front door.
#[derive(Debug, Clone)]
pub struct ContactSpec {
    /// Ground truth: the child the contact is about.
    pub entity_id: u32,
    /// Index into [`Borough::users`]: a front-door advisor, or an agency practitioner.
    pub recorded_by: usize,
    pub channel: Channel,
    /// A DfE contact source code consistent with the channel and the recorder.
    pub source_code: &'static str,
    /// The child as the reporter described them: sometimes misspelt, a nickname, or incomplete.
    pub child: ChildDraft,
    pub narrative: String,
    pub received_at: DateTime<Utc>,
    /// The protocol an advisor would follow (`missing_child`, `cse_concern`, ...).
    pub call_type: &'static str,
    /// Through the anonymous line: no reporter identity.
    pub anonymous: bool,
}

impl ContactSpec {
    /// Answers to the required questions of the contact's protocol, as an advisor would give
    /// them, varied by child (no randomness, so the borough stays the same for a seed).
    pub fn answers(&self) -> serde_json::Value {
        use serde_json::json;
        let e = self.entity_id as usize;
        match self.call_type {
            "cse_concern" => json!({"disclosure": e.is_multiple_of(5)}),
            "domestic_abuse" => json!({"child_present": e.is_multiple_of(2)}),
            "missing_child" => json!({"police_category": "missing", "returned": !e.is_multiple_of(3)}),
            "neglect" => {
                let needs = [vec!["food"], vec!["hygiene", "supervision"], vec!["warmth"]];
                json!({ "needs_not_met": needs[e % 3] })
            }
            "online_harm" => {
                let harm = ["grooming", "sharing_nudes", "bullying"];
                json!({ "harm_type": [harm[e % 3]] })
            }
            "physical_abuse" => json!({"injury_seen": e.is_multiple_of(2)}),
            "school_absence" => json!({"days_unauthorised": 3 + (e * 7) % 15}),
            _ => json!({}),
        }
    }

    /// The contact as a form or the API would send it, received when the spec says.
    pub fn draft(&self) -> frontdoor_core::ContactDraft {
        frontdoor_core::ContactDraft {
            channel: self.channel.as_str().to_owned(),
            source_code: self.source_code.to_owned(),
            child: self.child.clone(),
            narrative: self.narrative.clone(),
            received_at: Some(self.received_at.to_rfc3339()),
            call_type: Some(self.call_type.to_owned()),
            answers: Some(self.answers()),
            anonymous: self.anonymous,
            reporter: None,
        }
    }
}

impl PartialEq for ContactSpec {
    fn eq(&self, other: &Self) -> bool {
        // `ChildDraft` does not implement `PartialEq`; destructuring it whole means a new field
        // there fails to compile here instead of being silently ignored.
        let ChildDraft { given_name, family_name, date_of_birth, sex, postcode } = &self.child;
        let o = &other.child;
        self.entity_id == other.entity_id
            && self.recorded_by == other.recorded_by
            && self.channel == other.channel
            && self.call_type == other.call_type
            && self.anonymous == other.anonymous
            && self.source_code == other.source_code
            && *given_name == o.given_name
            && *family_name == o.family_name
            && *date_of_birth == o.date_of_birth
            && *sex == o.sex
            && *postcode == o.postcode
            && self.narrative == other.narrative
            && self.received_at == other.received_at
    }
}

/// Generate the borough for `seed`, as it stands on `today`.
pub fn generate(seed: u64, today: NaiveDate, params: &Params) -> Borough {
    let agencies = borough::agencies();
    let users = borough::users(&agencies);
    let sources = borough::sources(&agencies);

    let mut places_rng = rng::stream(seed, rng::Stage::Places);
    let mut people_rng = rng::stream(seed, rng::Stage::People);
    let mut places = places::Places::generate(&mut places_rng, params.children / 2 + 1);
    let population = people::generate(&mut people_rng, &mut places, today, params.children);

    let mut contacts_rng = rng::stream(seed, rng::Stage::Contacts);
    let plan = contacts::Plan::new(&mut contacts_rng, &population.children, today);

    let mut records_rng = rng::stream(seed, rng::Stage::Records);
    let mut ids_rng = rng::stream(seed, rng::Stage::RecordIds);
    let person_records = records::generate(&mut records_rng, &mut ids_rng, &mut places, &population, &plan, today);

    let contacts = contacts::generate(&mut contacts_rng, &plan, &population, &mut places, &users, today, params);

    Borough { agencies, users, sources, children: population.children, person_records, contacts }
}

/// Ground-truth pairs for record-linkage evaluation: a header, then one line per person record.
pub fn labels_csv(b: &Borough) -> String {
    let mut out = String::from("source,record_id,entity_id\n");
    for r in &b.person_records {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{},{},{}", r.source, r.record_id, r.entity_id);
    }
    out
}
