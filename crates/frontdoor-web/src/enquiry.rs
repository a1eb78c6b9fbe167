//! Multi-agency child enquiries (F6): open one, contribute, correct a contribution, release one
//! outside its compartment, conclude. Every input is checked whole before anything is written
//! (each problem named by field), and each change is one event.
//!
//! Knows no HTTP. Callers check access with `policy` first (`Action::OpenEnquiry`, ...).

use crate::service::{ServiceError, append_by, map_conflicts, meta};
use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::enquiry::{Problem, required_text};
use frontdoor_core::triage::working_days_after;
use frontdoor_core::{
    Actor, AgencyId, AgencyKind, ChildId, ContributionId, ContributionText, EnquiryId, EnquiryOutcome, Event,
    PersonOfConcern, Purpose, ReleaseBasis, Role, UserId,
};
use frontdoor_store::{ContributionRecord, EnquiryRecord, Expected, NewEvent, Store};

/// An enquiry as a form or the API sends it.
#[derive(Debug, Clone, Default)]
pub struct EnquiryDraft {
    /// The child the enquiry is about; may be empty when it is about a person of concern.
    pub child_id: String,
    /// A suspected perpetrator: name (empty: none), date of birth, description.
    pub person_name: String,
    pub person_date_of_birth: String,
    pub person_description: String,
    pub agencies: Vec<String>,
    pub managers: Vec<String>,
    pub question: String,
    /// RFC 3339 time or `YYYY-MM-DD` (the end of that day); empty: the configured working days.
    pub due: String,
}

fn invalid(problems: Vec<Problem>) -> ServiceError {
    ServiceError::Invalid(
        problems.into_iter().map(|p| FieldError { field: p.field.into(), message: p.message }).collect(),
    )
}

fn problem(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), message: message.into() }
}

/// Opens an enquiry led by `actor`. The child must exist, each agency and manager must be known
/// (a disabled user cannot manage), and the due time must be in the future.
pub async fn open_enquiry(
    store: &Store,
    actor: &Actor,
    draft: &EnquiryDraft,
    due_working_days: u32,
    now: DateTime<Utc>,
) -> Result<EnquiryId, ServiceError> {
    let mut problems = Vec::new();
    let question = required_text("question", &draft.question, 5_000, "say what the agencies are asked", &mut problems);
    let mut errors: Vec<FieldError> =
        problems.into_iter().map(|p| FieldError { field: p.field.into(), message: p.message }).collect();
    let person = match PersonOfConcern::parse(
        &draft.person_name,
        &draft.person_date_of_birth,
        &draft.person_description,
        now.date_naive(),
    ) {
        Ok(p) => p,
        Err(problems) => {
            errors.extend(problems.into_iter().map(|p| FieldError { field: p.field.into(), message: p.message }));
            None
        }
    };
    let child = match draft.child_id.trim() {
        "" => None,
        s => {
            let found = match s.parse::<ChildId>() {
                Ok(id) => store.child(id).await?.map(|c| c.id),
                Err(_) => None,
            };
            if found.is_none() {
                errors.push(problem("child_id", "no child with this id is known to the front door"));
            }
            found
        }
    };
    if draft.child_id.trim().is_empty() && draft.person_name.trim().is_empty() {
        errors.push(problem(
            "child_id",
            "name the child, or the suspected perpetrator (person_name), the enquiry is about",
        ));
    }
    let known = store.agencies().await?;
    let mut agencies: Vec<AgencyId> = Vec::new();
    for (i, a) in draft.agencies.iter().enumerate() {
        match a.trim().parse::<AgencyId>().ok().filter(|id| known.iter().any(|k| k.id == *id)) {
            Some(id) if !agencies.contains(&id) => agencies.push(id),
            Some(_) => {}
            None => errors.push(problem(&format!("agencies[{i}]"), format!("no agency has the id '{}'", a.trim()))),
        }
    }
    if draft.agencies.is_empty() {
        errors.push(problem("agencies", "ask at least one agency"));
    }
    let mut managers: Vec<UserId> = Vec::new();
    for (i, m) in draft.managers.iter().enumerate() {
        let user = match m.trim().parse::<UserId>() {
            Ok(id) => store.user(id).await?.filter(|u| !u.disabled),
            Err(_) => None,
        };
        // Only children's-services managers see a whole enquiry: naming anyone else would move
        // a partner's contribution without a recorded release.
        let manager = |u: &frontdoor_store::UserRecord| {
            u.agency.kind == AgencyKind::ChildrensServices
                && u.roles.iter().any(|r| matches!(r, Role::CseManager | Role::SafeguardingLead))
        };
        match user {
            Some(u) if !manager(&u) => errors.push(problem(
                &format!("managers[{i}]"),
                "a named manager is a children's-services CSE manager or safeguarding lead",
            )),
            Some(u) if u.id != actor.user_id && !managers.contains(&u.id) => managers.push(u.id),
            Some(_) => {}
            None => {
                errors.push(problem(&format!("managers[{i}]"), format!("no active user has the id '{}'", m.trim())))
            }
        }
    }
    let due_at = match parse_due(&draft.due) {
        Ok(Some(t)) if t <= now => {
            errors.push(problem("due", "must be in the future"));
            now
        }
        Ok(Some(t)) => t,
        Ok(None) => working_days_after(now, due_working_days.max(1), &[]),
        Err(message) => {
            errors.push(problem("due", message));
            now
        }
    };
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let enquiry_id = EnquiryId::new();
    store
        .append(
            vec![NewEvent {
                event: Event::EnquiryOpened {
                    enquiry_id,
                    child_id: child,
                    person_of_concern: person,
                    question,
                    agencies,
                    managers,
                    due_at,
                },
                expected: Expected::NoStream,
                meta: meta(Some(actor), Purpose::CaseWork.as_str(), now),
            }],
            vec![],
            vec![],
        )
        .await
        .map_err(map_conflicts)?;
    Ok(enquiry_id)
}

fn parse_due(s: &str) -> Result<Option<DateTime<Utc>>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Ok(d.and_hms_opt(23, 59, 59).map(|t| t.and_utc())),
        Err(_) => Err("must be a date (YYYY-MM-DD) or a time (RFC 3339, e.g. 2026-12-01T17:00:00Z)"),
    }
}

/// The fields of a contribution as typed.
#[derive(Debug, Clone, Default)]
pub struct ContributionDraft {
    pub text: String,
    pub known_on: String,
    pub source: String,
    pub confidence: String,
}

impl ContributionDraft {
    fn check(&self, now: DateTime<Utc>) -> Result<ContributionText, ServiceError> {
        ContributionText::parse(&self.text, &self.known_on, &self.source, &self.confidence, now.date_naive())
            .map_err(invalid)
    }
}

fn still_open(enquiry: &EnquiryRecord) -> Result<(), ServiceError> {
    match enquiry.outcome {
        None => Ok(()),
        Some(o) => {
            Err(ServiceError::Conflict(format!("this enquiry is concluded ({}); it takes no more changes", o.label())))
        }
    }
}

/// Adds what `actor`'s agency knows, in that agency's compartment.
pub async fn contribute(
    store: &Store,
    actor: &Actor,
    enquiry: &EnquiryRecord,
    draft: &ContributionDraft,
    now: DateTime<Utc>,
) -> Result<ContributionId, ServiceError> {
    let contribution = draft.check(now)?;
    still_open(enquiry)?;
    let contribution_id = ContributionId::new();
    let event = Event::EnquiryContributed {
        enquiry_id: enquiry.id,
        contribution_id,
        child_id: enquiry.child_id,
        agency_id: actor.agency_id,
        contribution,
    };
    append_by(store, actor, event, Expected::Any, Purpose::CaseWork, now).await?;
    Ok(contribution_id)
}

/// Corrects a contribution (the contributing agency only; the policy decides that).
pub async fn amend(
    store: &Store,
    actor: &Actor,
    enquiry: &EnquiryRecord,
    c: &ContributionRecord,
    draft: &ContributionDraft,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let contribution = draft.check(now)?;
    still_open(enquiry)?;
    let event = Event::EnquiryContributionAmended {
        enquiry_id: enquiry.id,
        contribution_id: c.id,
        child_id: enquiry.child_id,
        agency_id: c.agency_id,
        contribution,
    };
    append_by(store, actor, event, Expected::Any, Purpose::CaseWork, now).await
}

/// A release as typed.
#[derive(Debug, Clone, Default)]
pub struct ReleaseDraft {
    pub to_agency: String,
    pub basis: String,
    pub lawful_basis: String,
    pub reason: String,
}

/// Lets a contribution leave its compartment for one agency, with the basis (consent or a
/// safeguarding override), the lawful basis and the reason, all recorded.
pub async fn release(
    store: &Store,
    actor: &Actor,
    enquiry: &EnquiryRecord,
    c: &ContributionRecord,
    draft: &ReleaseDraft,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut problems = Vec::new();
    let basis = ReleaseBasis::parse(&draft.basis);
    if basis.is_none() {
        problems.push(Problem { field: "basis", message: format!("choose one of {}", ReleaseBasis::expected()) });
    }
    let lawful_basis = required_text(
        "lawful_basis",
        &draft.lawful_basis,
        500,
        "name the lawful basis for sharing (e.g. UK GDPR 6(1)(e) and 9(2)(g), DPA 2018 Sch. 1 para 18)",
        &mut problems,
    );
    let what = match basis {
        Some(ReleaseBasis::SafeguardingOverride) => {
            "an override needs its reason: why sharing without consent protects the child"
        }
        _ => "say who consented, how and when",
    };
    let reason = required_text("reason", &draft.reason, 2_000, what, &mut problems);
    let mut errors: Vec<FieldError> =
        problems.into_iter().map(|p| FieldError { field: p.field.into(), message: p.message }).collect();
    let known = store.agencies().await?;
    let to_agency = draft.to_agency.trim().parse::<AgencyId>().ok().filter(|id| known.iter().any(|k| k.id == *id));
    match to_agency {
        None => errors.push(problem("to_agency", format!("no agency has the id '{}'", draft.to_agency.trim()))),
        Some(a) if a == c.agency_id => errors.push(problem("to_agency", "this is the agency that contributed it")),
        // An agency the enquiry did not ask cannot open it, so could never read the release.
        Some(a) if !enquiry.agencies.contains(&a) => {
            errors.push(problem("to_agency", "release only to an agency this enquiry asked"))
        }
        Some(_) => {}
    }
    let (Some(basis), Some(to_agency)) = (basis, to_agency.filter(|_| errors.is_empty())) else {
        return Err(ServiceError::Invalid(errors));
    };
    let event = Event::EnquiryInformationReleased {
        enquiry_id: enquiry.id,
        contribution_id: c.id,
        child_id: enquiry.child_id,
        to_agency,
        basis,
        lawful_basis,
        reason,
    };
    append_by(store, actor, event, Expected::Any, Purpose::CaseWork, now).await
}

/// Records the enquiry's outcome, once.
pub async fn conclude(
    store: &Store,
    actor: &Actor,
    enquiry: &EnquiryRecord,
    outcome: &str,
    reasons: &str,
    now: DateTime<Utc>,
) -> Result<EnquiryOutcome, ServiceError> {
    let mut problems = Vec::new();
    let parsed = EnquiryOutcome::parse(outcome);
    if parsed.is_none() {
        problems.push(Problem { field: "outcome", message: format!("choose one of {}", EnquiryOutcome::expected()) });
    }
    let reasons =
        required_text("reasons", reasons, 5_000, "say why: the reasons are part of the record", &mut problems);
    let Some(outcome) = parsed.filter(|_| problems.is_empty()) else { return Err(invalid(problems)) };
    still_open(enquiry)?;
    let m = meta(Some(actor), Purpose::CaseWork.as_str(), now);
    let mut events = Vec::new();
    if outcome == EnquiryOutcome::CsePathway {
        let Some(child_id) = enquiry.child_id else {
            return Err(ServiceError::Invalid(vec![FieldError {
                field: "outcome".into(),
                message: "the CSE pathway is for a child: this enquiry names none (open one about the child)".into(),
            }]));
        };
        let reason = format!("multi-agency enquiry outcome: {reasons}");
        events = crate::cse::referral_events_unless_open(store, child_id, None, Some(enquiry.id), &reason, &m).await?;
    }
    let event = Event::EnquiryConcluded { enquiry_id: enquiry.id, child_id: enquiry.child_id, outcome, reasons };
    events.insert(0, NewEvent { event, expected: Expected::Any, meta: m });
    store.append(events, vec![], vec![]).await.map_err(|e| match map_conflicts(e) {
        ServiceError::Conflict(_) => ServiceError::Conflict("this enquiry has already been concluded".into()),
        other => other,
    })?;
    Ok(outcome)
}
