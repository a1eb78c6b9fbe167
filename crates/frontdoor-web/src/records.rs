//! The person index in the flow (SPEC F5): the record check on a contact's child, the grey-zone
//! review where people decide which records are one person, and source systems' upserts.
//!
//! The index lives in memory, built on first use from the stored person records and rebuilt when
//! they change (their count or last sequence moves); scoring uses the last finished
//! `frontdoor link dedupe` run's model, or trains one when there is none.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::service::meta;
use chrono::{NaiveDate, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::policy::{Resource, decide};
use frontdoor_core::{Action, AgencyId, DateOfBirth, Event, MachinePair, PersonName, Postcode, RecordRef, Sex};
use frontdoor_link::{Explanation, Guard, Index, Model, Person, Settings, Verdict};
use frontdoor_store::{ChildRecord, Expected, NewEvent, PersonSource, StoredPerson};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::Mutex;
use utoipa::ToSchema;

/// The in-memory index, the model it scores with, and who is whom.
pub struct LinkIndex {
    fingerprint: (i64, i64),
    index: Index,
    model: Model,
    nums: Vec<i64>,
    /// The records of each cluster of more than one, by position, and the state of the links
    /// they were worked out from (recomputed when a run finishes or a person decides).
    people: People,
}

#[derive(Default)]
struct People {
    fingerprint: (i64, i64, i64),
    /// The run the clusters rest on and its pairs, kept: a person's decision reclusters
    /// without reading a million pairs back.
    run: Option<String>,
    pairs: Vec<MachinePair>,
    /// Each position's cluster (positions past the end, added since: on their own).
    cluster: Vec<u32>,
    members: HashMap<u32, Vec<u32>>,
}

impl People {
    fn of(&self, position: u32) -> Vec<u32> {
        match self.cluster.get(position as usize).and_then(|c| self.members.get(c)) {
            Some(m) => m.clone(),
            None => vec![position],
        }
    }
}

/// Each record's cluster (in the order of `keys`/`nums`, the index's): the last finished run's
/// automatic links and twin walls, and people's decisions, which always win. The one rule for
/// who is whom, used by record checks, `link dedupe` and `link evaluate`.
pub async fn clusters(
    store: &frontdoor_store::Store,
    run: Option<&str>,
    keys: &[RecordRef],
    nums: &[i64],
) -> Result<Clustering, frontdoor_store::StoreError> {
    let run = match run {
        Some(r) => Some(r.to_owned()),
        None => store.latest_finished_run().await?,
    };
    let pairs = match &run {
        Some(r) => store.run_pairs(r).await?,
        None => Vec::new(),
    };
    clusters_of(store, &pairs, keys, nums).await
}

/// As [`clusters`], with the run's pairs at hand (the run that just made them).
pub async fn clusters_of(
    store: &frontdoor_store::Store,
    pairs: &[MachinePair],
    keys: &[RecordRef],
    nums: &[i64],
) -> Result<Clustering, frontdoor_store::StoreError> {
    let links = store.cluster_links().await?;
    let by_num: rustc_hash::FxHashMap<i64, u32> = nums.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
    // The index's order is sorted by key, unless records were added since it was built.
    let sorted = keys.is_sorted();
    let by_key: HashMap<&RecordRef, u32> =
        if sorted { HashMap::new() } else { keys.iter().enumerate().map(|(i, k)| (k, i as u32)).collect() };
    let position = |r: &RecordRef| match sorted {
        true => keys.binary_search(r).ok().map(|i| i as u32),
        false => by_key.get(r).copied(),
    };
    let mut decided: HashSet<(u32, u32)> = HashSet::new();
    let mut verdicts: Vec<(u32, u32, Verdict)> = Vec::with_capacity(pairs.len() + links.len());
    let mut auto_linked = 0;
    for l in &links {
        let (Some(a), Some(b)) = (position(&l.a), position(&l.b)) else { continue };
        let verdict = match l.human.as_deref() {
            Some("same") => Verdict::Same,
            Some(_) => Verdict::Apart,
            None if l.guard => Verdict::Apart,
            None if l.machine == "auto" => {
                auto_linked += 1;
                Verdict::Linked { probability: l.probability_ppm.unwrap_or(0) as f64 / 1e6, weak: l.weak }
            }
            None => continue,
        };
        if l.human.is_some() {
            decided.insert((a.min(b), a.max(b)));
        }
        verdicts.push((a, b, verdict));
    }
    for p in pairs {
        let (Some(&a), Some(&b)) = (by_num.get(&p.0), by_num.get(&p.1)) else { continue };
        if !decided.is_empty() && decided.contains(&(a.min(b), a.max(b))) {
            continue;
        }
        let verdict = if p.has(MachinePair::WALL) {
            Verdict::Apart
        } else if p.has(MachinePair::AUTO) {
            auto_linked += 1;
            Verdict::Linked { probability: f64::from(p.2) / 1e6, weak: p.has(MachinePair::WEAK) }
        } else {
            continue;
        };
        verdicts.push((a, b, verdict));
    }
    let decided_count = decided.len() as u64;
    Ok(Clustering {
        cluster: frontdoor_link::cluster_verdicts(keys.len(), verdicts),
        auto_linked,
        decided: decided_count,
    })
}

/// Who is whom, and what it rests on.
pub struct Clustering {
    /// Each record's cluster (named by its smallest member's position).
    pub cluster: Vec<u32>,
    /// Pairs the matcher linked that no person has decided on.
    pub auto_linked: u64,
    /// Pairs people decided on.
    pub decided: u64,
}

impl Clustering {
    /// How many people (clusters).
    pub fn people(&self) -> u64 {
        let mut c = self.cluster.clone();
        c.sort_unstable();
        c.dedup();
        c.len() as u64
    }
}

/// Shared by every request; `None` until first used.
pub type SharedIndex = Arc<Mutex<Option<LinkIndex>>>;

/// A stored person row as the matcher reads it (also used by `frontdoor link`).
pub fn person_of(source: String, p: StoredPerson) -> Person {
    let [given_name, family_name, dob, sex, postcode, address, phone] = p.fields;
    Person {
        source,
        record_id: p.record_id,
        given_name,
        family_name,
        date_of_birth: dob.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        sex,
        postcode,
        address,
        phone,
    }
}

/// The index, rebuilt if the stored records changed since it was built.
async fn current(state: &AppState) -> Result<tokio::sync::MutexGuard<'_, Option<LinkIndex>>, AppError> {
    let fingerprint = state.store.person_index_fingerprint().await?;
    let mut guard = state.links.lock().await;
    if guard.as_ref().is_none_or(|l| l.fingerprint != fingerprint) {
        let rows = state.store.person_index().await?;
        let stored = stored_model(&state.store).await?;
        let settings = state.screening.link.clone();
        let nicknames = state.nicknames.as_ref().clone();
        let built = tokio::task::spawn_blocking(move || {
            let (index, nums) = index_of(rows, nicknames, &settings);
            let model = stored.unwrap_or_else(|| index.train(&settings));
            LinkIndex { fingerprint, index, model, nums, people: People::default() }
        })
        .await
        .map_err(|e| AppError::Internal(format!("building the person index failed: {e}")))?;
        *guard = Some(built);
    }
    // Who is whom: recomputed when a run finished or a person decided since.
    let links = state.store.links_fingerprint().await?;
    if let Some(li) = guard.as_mut()
        && (li.people.fingerprint != links || li.people.cluster.is_empty() && !li.index.is_empty())
    {
        let run = state.store.latest_finished_run().await?;
        let pairs = match &run {
            Some(r) if li.people.run.as_ref() == Some(r) => std::mem::take(&mut li.people.pairs),
            Some(r) => state.store.run_pairs(r).await?,
            None => Vec::new(),
        };
        let cluster = clusters_of(&state.store, &pairs, li.index.keys(), &li.nums).await?.cluster;
        let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
        for (i, c) in cluster.iter().enumerate() {
            members.entry(*c).or_default().push(i as u32);
        }
        members.retain(|_, m| m.len() > 1);
        li.people = People { fingerprint: links, run, pairs, cluster, members };
    }
    Ok(guard)
}

/// The index over the stored person rows (`Store::person_index`, in its order; the index holds
/// each position's key), with each position's record number (also used by `frontdoor link`).
pub fn index_of(
    rows: Vec<(String, StoredPerson)>,
    nicknames: frontdoor_link::Nicknames,
    settings: &Settings,
) -> (Index, Vec<i64>) {
    let nums = rows.iter().map(|(_, p)| p.num).collect();
    // Each row is dropped as soon as it is in the index.
    let people = rows.into_iter().map(|(s, p)| person_of(s, p));
    (Index::build_from(people, nicknames, settings), nums)
}

/// One source system's record, as a record check shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldRecord {
    pub source: String,
    pub source_label: String,
    /// The agency that runs the source (none: an unregistered source).
    pub agency: Option<String>,
    pub record_id: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub postcode: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// Match probability against the child as the contact names them (none: found through a link).
    pub probability: Option<f64>,
}

/// What the source systems hold about a contact's child.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RecordCheck {
    /// Records taken to be this child: the best sure match and every record linked to it.
    pub records: Vec<HeldRecord>,
    /// Possible matches a person should look at.
    pub candidates: Vec<HeldRecord>,
    /// Records held in other agencies' systems that this user may not see.
    pub withheld: usize,
    /// Other children the front door has recorded who may be this one (born the same day, or on a
    /// date one slip away).
    pub children: Vec<RecordedChild>,
    /// Such children whose records this user may not see.
    pub children_withheld: usize,
}

/// A child the front door has already recorded, born the same day or on a date one slip away,
/// who may be the child a contact names: a contact that spells the child or the date of birth
/// differently is recorded for a new child unless the matcher is sure on the same day (see
/// `intake::existing_child`), so a person should look.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordedChild {
    pub child_id: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub postcode: Option<String>,
    /// Match probability against the contact's child under the last `link dedupe` run's model.
    pub probability: f64,
    /// Why the matcher would not join them without a person (empty: only the probability).
    pub note: String,
}

/// The model the last finished `link dedupe` run stored, which intake and the record check weigh
/// front-door children by (none before the first run). A model this build cannot read (stored by
/// another version) counts as none, with a warning, so that contacts are still recorded.
pub(crate) async fn stored_model(store: &frontdoor_store::Store) -> Result<Option<Model>, frontdoor_store::StoreError> {
    let Some(text) = store.latest_link_model().await? else { return Ok(None) };
    match serde_json::from_str::<Model>(&text) {
        Ok(model) => Ok(Some(model)),
        Err(e) => {
            tracing::warn!(error = %e, "the last deduplication run's model is unreadable; run `frontdoor link dedupe` again");
            Ok(None)
        }
    }
}

/// At most this many children born on one day are weighed against a contact's child.
const SAME_DAY_LIMIT: i64 = 1_000;

/// At most this many children born on each date one slip away are weighed in a record check.
const SLIPPED_DAY_LIMIT: i64 = 200;

/// The children the front door has recorded with `probe`'s date of birth (none without one),
/// each weighed against `probe` by `model` (F5) with its guard: intake joins a contact to the one
/// sure match, and the record check shows the others a person should look at.
pub(crate) async fn same_day_children(
    store: &frontdoor_store::Store,
    nicknames: &frontdoor_link::Nicknames,
    model: &Model,
    probe: &Person,
) -> Result<Vec<(ChildRecord, Explanation, Guard)>, frontdoor_store::StoreError> {
    let Some(dob) = probe.date_of_birth else { return Ok(Vec::new()) };
    let same_day = store.children_born_on(&dob.format("%Y-%m-%d").to_string(), SAME_DAY_LIMIT).await?;
    Ok(weigh_children(nicknames, model, probe, same_day))
}

/// As [`same_day_children`], with the children born on a date one slip away from `probe`'s
/// (day and month swapped, a digit wrong) since 30 years before `today`: a record check shows a
/// child recorded twice when one contact mistyped the date of birth. Intake does not join
/// across dates; a person decides from the check.
async fn near_day_children(
    store: &frontdoor_store::Store,
    nicknames: &frontdoor_link::Nicknames,
    model: &Model,
    probe: &Person,
    today: NaiveDate,
) -> Result<Vec<(ChildRecord, Explanation, Guard)>, frontdoor_store::StoreError> {
    let Some(dob) = probe.date_of_birth else { return Ok(Vec::new()) };
    let earliest = today.checked_sub_months(chrono::Months::new(30 * 12)).unwrap_or(today);
    let mut children = store.children_born_on(&dob.format("%Y-%m-%d").to_string(), SAME_DAY_LIMIT).await?;
    for day in frontdoor_link::compare::slipped_dates(dob, earliest, today) {
        children.extend(store.children_born_on(&day.format("%Y-%m-%d").to_string(), SLIPPED_DAY_LIMIT).await?);
    }
    Ok(weigh_children(nicknames, model, probe, children))
}

fn weigh_children(
    nicknames: &frontdoor_link::Nicknames,
    model: &Model,
    probe: &Person,
    children: Vec<ChildRecord>,
) -> Vec<(ChildRecord, Explanation, Guard)> {
    if children.is_empty() {
        return Vec::new();
    }
    let others: Vec<Person> = children.iter().map(child_person).collect();
    let weighed = frontdoor_link::weigh(model, nicknames, probe, &others);
    children.into_iter().zip(weighed).map(|(c, (e, g))| (c, e, g)).collect()
}

/// The other children recorded at the front door that a person should compare with `child`:
/// at or above the review threshold and not told apart as twins, with those this user may not
/// see counted instead. Each child shown is logged as a view of that child.
async fn recorded_children(
    state: &AppState,
    user: &CurrentUser,
    child: &ChildRecord,
    model: &Model,
) -> Result<(Vec<RecordedChild>, usize), AppError> {
    let settings = state.screening.link.with_model(model);
    let today = Utc::now().date_naive();
    let weighed =
        near_day_children(&state.store, &state.screening.nicknames, model, &child_person(child), today).await?;
    let purpose = crate::access::purpose_for(user, Action::ViewChronology);
    let (mut shown, mut withheld) = (Vec::new(), 0);
    for (c, e, guard) in weighed {
        if c.id == child.id || guard == Guard::Twins || e.probability < settings.review {
            continue;
        }
        let resource = Resource::Child { contributing_agencies: state.store.child_agencies(c.id).await? };
        if !decide(&user.actor, Action::ViewChronology, &resource, purpose).allowed {
            withheld += 1;
            continue;
        }
        let note = match guard {
            Guard::PossibleTwins => "same family name and birthday, given names alike: they may be twins",
            Guard::NoGivenName => "one has no given name",
            _ if e.probability >= settings.auto_link => "the matcher is sure: they may be one child",
            _ => "",
        };
        let note = if c.date_of_birth == child.date_of_birth {
            note.to_owned()
        } else {
            let slip = "date of birth one slip apart: was one mistyped?";
            if note.is_empty() { slip.to_owned() } else { format!("{note}; {slip}") }
        };
        let reason = format!("listed by the record check of child {}", child.id);
        crate::access::log(state, user, Action::ViewChronology, "child", &c.id.to_string(), true, &reason).await?;
        shown.push(RecordedChild {
            child_id: c.id.to_string(),
            given_name: c.given_name,
            family_name: c.family_name,
            date_of_birth: c.date_of_birth,
            sex: c.sex,
            postcode: c.postcode,
            probability: e.probability,
            note,
        });
    }
    shown.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    Ok((shown, withheld))
}

/// Sources by name.
async fn sources(state: &AppState) -> Result<HashMap<String, PersonSource>, AppError> {
    Ok(state.store.person_sources().await?.into_iter().map(|s| (s.name.clone(), s)).collect())
}

/// A child the front door has recorded, as the matcher reads it.
pub(crate) fn child_person(child: &ChildRecord) -> Person {
    Person {
        given_name: Some(child.given_name.clone()),
        family_name: Some(child.family_name.clone()),
        date_of_birth: child.date_of_birth.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        sex: child.sex.clone(),
        postcode: child.postcode.clone(),
        ..Person::default()
    }
}

/// The record check for a child (logged: it shows other systems' records).
pub async fn check_child(state: &AppState, user: &CurrentUser, child: &ChildRecord) -> Result<RecordCheck, AppError> {
    let person = child_person(child);
    let (matched, possible) = {
        let mut guard = current(state).await?;
        let Some(li) = guard.as_mut() else { return Ok(RecordCheck::default()) };
        // The last run's thresholds, so that a sure match here is one the clustering made.
        let settings = state.screening.link.with_model(&li.model);
        let hits = li.index.check(&person, &li.model, settings.review, 20);
        let key = |pos: u32| li.index.key(pos).cloned();
        let sure = |s: &frontdoor_link::ScoredPair| s.probability >= settings.auto_link && s.guard == Guard::None;
        // Each sure match with everyone it is one person with, at most 100 records in all.
        let mut matched: Vec<(RecordRef, Option<f64>)> = Vec::new();
        let mut seen = HashSet::new();
        for (pos, _) in hits.iter().filter(|(_, s)| sure(s)) {
            for member in std::iter::once(*pos).chain(li.people.of(*pos)) {
                if matched.len() < 100 && seen.insert(member) {
                    // Its own probability when the child's details match it surely too.
                    let probability = hits.iter().find(|(p, h)| *p == member && sure(h)).map(|(_, h)| h.probability);
                    matched.extend(key(member).map(|k| (k, probability)));
                }
            }
        }
        let possible: Vec<(RecordRef, f64)> = hits
            .iter()
            .filter(|(p, s)| !sure(s) && !seen.contains(p))
            .filter_map(|(p, s)| Some((key(*p)?, s.probability)))
            .collect();
        (matched, possible)
    };
    // Front-door children are weighed as intake weighs them: by the last run's model, if any.
    let model = stored_model(&state.store).await?;
    let (children, children_withheld) = match &model {
        Some(m) => recorded_children(state, user, child, m).await?,
        None => (Vec::new(), 0),
    };
    let records = matched;
    let seen: HashSet<&RecordRef> = records.iter().map(|(r, _)| r).collect();
    let candidates: Vec<(RecordRef, Option<f64>)> =
        possible.into_iter().filter(|(r, _)| !seen.contains(r)).map(|(r, p)| (r, Some(p))).collect();
    drop(seen);

    let sources = sources(state).await?;
    let mut withheld = 0;
    let mut show = |list: Vec<(RecordRef, Option<f64>)>| -> Vec<(RecordRef, Option<f64>, Option<&PersonSource>)> {
        list.into_iter()
            .filter_map(|(r, p)| {
                let source = sources.get(&r.source);
                let owner: Option<AgencyId> = source.map(|s| s.agency_id);
                let purpose = crate::access::purpose_for(user, Action::ViewPersonRecord);
                let d = decide(
                    &user.actor,
                    Action::ViewPersonRecord,
                    &Resource::PersonRecord { owner_agency: owner },
                    purpose,
                );
                if d.allowed {
                    Some((r, p, source))
                } else {
                    withheld += 1;
                    None
                }
            })
            .collect()
    };
    let (records, candidates) = (show(records), show(candidates));
    let mut check = RecordCheck { records: Vec::new(), candidates: Vec::new(), withheld, children, children_withheld };
    for (list, out) in [(records, &mut check.records), (candidates, &mut check.candidates)] {
        for (r, p, source) in list {
            if let Some(stored) = state.store.person_record(&r).await? {
                out.push(held(&r, stored, source, p));
            }
        }
    }
    let shown = check.records.len() + check.candidates.len();
    let reason = format!(
        "{shown} source records shown, {} withheld; {} other front-door children shown, {} withheld",
        check.withheld,
        check.children.len(),
        check.children_withheld
    );
    let child_id = child.id.to_string();
    crate::access::log(state, user, Action::ViewPersonRecord, "record_check", &child_id, true, &reason).await?;
    Ok(check)
}

fn held(r: &RecordRef, p: StoredPerson, source: Option<&PersonSource>, probability: Option<f64>) -> HeldRecord {
    let [given_name, family_name, date_of_birth, sex, postcode, address, phone] = p.fields;
    HeldRecord {
        source: r.source.clone(),
        source_label: source.map(|s| s.label.clone()).unwrap_or_else(|| r.source.clone()),
        agency: source.map(|s| s.agency_name.clone()),
        record_id: r.record_id.clone(),
        given_name,
        family_name,
        date_of_birth,
        sex,
        postcode,
        address,
        phone,
        probability,
    }
}

// ---- the grey zone -------------------------------------------------------------------------------

/// One field's part in a pair's score.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    pub field: String,
    pub level: String,
    pub weight: f64,
    pub left: Option<String>,
    pub right: Option<String>,
}

/// A pair of records waiting for a person, with the matcher's reasons.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuedLink {
    pub a: HeldRecord,
    pub b: HeldRecord,
    pub probability: f64,
    pub evidence: Vec<EvidenceView>,
    pub notes: Vec<String>,
}

/// A person's decision on a pair.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecidedLink {
    pub a: RecordRefView,
    pub b: RecordRefView,
    pub same: bool,
    pub reason: String,
    pub decided_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRefView {
    pub source: String,
    pub record_id: String,
}

impl From<&RecordRef> for RecordRefView {
    fn from(r: &RecordRef) -> Self {
        RecordRefView { source: r.source.clone(), record_id: r.record_id.clone() }
    }
}

fn explanation_view(e: Explanation) -> (Vec<EvidenceView>, Vec<String>) {
    let evidence = e
        .evidence
        .into_iter()
        .map(|v| EvidenceView { field: v.field, level: v.level, weight: v.weight, left: v.left, right: v.right })
        .collect();
    (evidence, e.notes)
}

/// The pairs waiting for a person, most probable first, with both records and the explanation
/// (logged: the front-door team reads source records).
pub async fn queue(state: &AppState, user: &CurrentUser, limit: i64) -> Result<Vec<QueuedLink>, AppError> {
    let links = state.store.queued_links(limit).await?;
    crate::access::authorize_record(
        state,
        user,
        Action::ReviewLinks,
        "link_queue",
        &format!("{} pairs", links.len()),
        Some(Resource::Service),
    )
    .await?;
    let sources = sources(state).await?;
    let mut explanations = Vec::with_capacity(links.len());
    {
        let guard = current(state).await?;
        for l in &links {
            let e = guard.as_ref().and_then(|li| {
                let (a, b) = (li.index.position(&l.a)?, li.index.position(&l.b)?);
                li.index.explain(&li.model, a, b)
            });
            explanations.push(e);
        }
    }
    let mut out = Vec::with_capacity(links.len());
    for (l, e) in links.iter().zip(explanations) {
        let (Some(a), Some(b)) = (state.store.person_record(&l.a).await?, state.store.person_record(&l.b).await?)
        else {
            continue;
        };
        let (evidence, notes) = e.map(explanation_view).unwrap_or_default();
        out.push(QueuedLink {
            a: held(&l.a, a, sources.get(&l.a.source), None),
            b: held(&l.b, b, sources.get(&l.b.source), None),
            probability: l.probability_ppm.unwrap_or(0) as f64 / 1e6,
            evidence,
            notes,
        });
    }
    Ok(out)
}

/// The most recent people's decisions.
pub async fn decided(state: &AppState, limit: i64) -> Result<Vec<DecidedLink>, AppError> {
    Ok(state
        .store
        .decided_links(limit)
        .await?
        .iter()
        .map(|l| DecidedLink {
            a: (&l.a).into(),
            b: (&l.b).into(),
            same: l.human.as_deref() == Some("same"),
            reason: l.reason.clone().unwrap_or_default(),
            decided_by: l.decided_by.clone(),
        })
        .collect())
}

/// Records a person's decision that two records are (or are not) one person. It always wins
/// over the matcher and can be undone.
pub async fn decide_link(
    state: &AppState,
    user: &CurrentUser,
    a: RecordRefView,
    b: RecordRefView,
    same: bool,
    reason: &str,
) -> Result<(), AppError> {
    let (a, b) = ordered(a, b)?;
    let reason = reason_of(reason)?;
    for r in [&a, &b] {
        if state.store.person_record(r).await?.is_none() {
            return Err(AppError::Invalid(vec![FieldError {
                field: "record".into(),
                message: format!("no record {r} in the person index"),
            }]));
        }
    }
    let event = Event::PersonLinkDecided { a, b, same, reason };
    append(state, user, event).await
}

/// Withdraws a person's decision on a pair.
pub async fn undo_link(
    state: &AppState,
    user: &CurrentUser,
    a: RecordRefView,
    b: RecordRefView,
    reason: &str,
) -> Result<(), AppError> {
    let (a, b) = ordered(a, b)?;
    let reason = reason_of(reason)?;
    match state.store.person_link(&a, &b).await? {
        Some(l) if l.human.is_some() => {}
        _ => return Err(AppError::Conflict(format!("nobody has decided on {a} and {b}: nothing to undo"))),
    }
    append(state, user, Event::PersonLinkUndone { a, b, reason }).await
}

async fn append(state: &AppState, user: &CurrentUser, event: Event) -> Result<(), AppError> {
    let m = meta(Some(&user.actor), frontdoor_core::Purpose::Triage.as_str(), Utc::now());
    state.store.append(vec![NewEvent { event, expected: Expected::Any, meta: m }], vec![], vec![]).await?;
    Ok(())
}

fn ordered(a: RecordRefView, b: RecordRefView) -> Result<(RecordRef, RecordRef), AppError> {
    let (a, b) = (
        RecordRef { source: a.source, record_id: a.record_id },
        RecordRef { source: b.source, record_id: b.record_id },
    );
    if a == b {
        return Err(AppError::Invalid(vec![FieldError {
            field: "b".into(),
            message: "a record is always itself".into(),
        }]));
    }
    Ok(if a < b { (a, b) } else { (b, a) })
}

fn reason_of(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::Invalid(vec![FieldError {
            field: "reason".into(),
            message: "say why: the reason is part of the record".into(),
        }]));
    }
    if reason.chars().count() > 2_000 {
        return Err(AppError::Invalid(vec![FieldError {
            field: "reason".into(),
            message: "must be at most 2,000 characters".into(),
        }]));
    }
    Ok(reason.to_owned())
}

// ---- source systems' upserts ---------------------------------------------------------------------

/// A person record as a source system sends it (any field may be left out).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonUpsert {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub postcode: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// Whether an upsert changed the index.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpsertResult {
    pub source: String,
    pub record_id: String,
    /// `created`, `updated` or `unchanged`.
    pub outcome: String,
}

/// Creates or updates one source record (by the source's own id). Every bad field is named;
/// nothing is stored unless all are good.
pub async fn upsert(
    state: &AppState,
    user: &CurrentUser,
    source: &str,
    record_id: &str,
    body: PersonUpsert,
) -> Result<UpsertResult, AppError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| errors.push(FieldError { field: field.into(), message });
    if source.is_empty() || !source.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        bad("source", "use lower case letters, digits and `_`".into());
    }
    if record_id.trim().is_empty() || record_id.chars().count() > 100 {
        bad("record_id", "must be 1 to 100 characters".into());
    }
    let today = Utc::now().date_naive();
    let opt = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let given = opt(&body.given_name).map(|v| PersonName::parse(&v));
    let family = opt(&body.family_name).map(|v| PersonName::parse(&v));
    let dob = opt(&body.date_of_birth).map(|v| DateOfBirth::parse(&v, today));
    let sex = opt(&body.sex).map(|v| Sex::parse(&v));
    let postcode = opt(&body.postcode).map(|v| Postcode::parse(&v));
    let address = opt(&body.address);
    let phone = opt(&body.phone);
    macro_rules! check {
        ($v:expr, $field:literal) => {
            match $v {
                Some(Err(e)) => {
                    bad($field, e.to_string());
                    None
                }
                Some(Ok(v)) => Some(v),
                None => None,
            }
        };
    }
    let given = check!(given, "given_name");
    let family = check!(family, "family_name");
    let dob = check!(dob, "date_of_birth");
    let sex = check!(sex, "sex");
    let postcode = check!(postcode, "postcode");
    if address.as_ref().is_some_and(|a| a.chars().count() > 300) {
        bad("address", "must be at most 300 characters".into());
    }
    if let Some(p) = &phone
        && frontdoor_link::normalise::phone(p).is_none_or(|d| d.len() > 15)
    {
        bad("phone", "is not a phone number (7 to 15 digits)".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let key = RecordRef { source: source.to_owned(), record_id: record_id.trim().to_owned() };
    let fields = [
        given.as_ref().map(|n| n.as_str().to_owned()),
        family.as_ref().map(|n| n.as_str().to_owned()),
        dob.map(|d| d.to_string()),
        sex.map(|s| s.as_str().to_owned()),
        postcode.as_ref().map(|p| p.as_str().to_owned()),
        address.clone(),
        phone.clone(),
    ];
    let before = state.store.person_record(&key).await?;
    let outcome = match &before {
        Some(p) if p.fields == fields => "unchanged",
        Some(_) => "updated",
        None => "created",
    };
    if outcome != "unchanged" {
        let before_fp = state.store.person_index_fingerprint().await?;
        let person = Person {
            source: key.source.clone(),
            record_id: key.record_id.clone(),
            given_name: fields[0].clone(),
            family_name: fields[1].clone(),
            date_of_birth: dob.map(|d| d.date()),
            sex: fields[3].clone(),
            postcode: fields[4].clone(),
            address: address.clone(),
            phone: phone.clone(),
        };
        let event = Event::PersonRecordImported {
            source: key.source.clone(),
            record_id: key.record_id.clone(),
            given_name: given,
            family_name: family,
            date_of_birth: dob,
            sex,
            postcode,
            address,
            phone,
        };
        let m = meta(Some(&user.actor), crate::access::purpose_for(user, Action::ImportFeed).as_str(), Utc::now());
        let committed =
            state.store.append(vec![NewEvent { event, expected: Expected::Any, meta: m }], vec![], vec![]).await?;
        // Keep the in-memory index current without a rebuild, when this was the only change.
        let after_fp = state.store.person_index_fingerprint().await?;
        let only_ours = committed.first().is_some_and(|c| c.seq == after_fp.1) && after_fp.0 - before_fp.0 <= 1;
        let mut guard = state.links.lock().await;
        if let Some(li) = guard.as_mut()
            && li.fingerprint == before_fp
            && only_ours
        {
            let pos = li.index.upsert(&person);
            if pos as usize == li.nums.len() {
                li.nums.push(after_fp.1);
            }
            li.fingerprint = after_fp;
        }
    }
    Ok(UpsertResult { source: key.source, record_id: key.record_id, outcome: outcome.into() })
}
