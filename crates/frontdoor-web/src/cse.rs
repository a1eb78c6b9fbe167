//! The CSE pathway's services (F7, F8): referring a child (from a contact's decision or an
//! enquiry's outcome, in the same commit), taking a step on a case (judged by
//! `pathway::Case::apply`, and for allocation by the caseload rules), and the sweep that
//! records missed deadlines with an alert for the worker and an e-mail to the managers.
//!
//! Knows no HTTP. Callers check access with `policy` first.

use crate::notify;
use crate::service::{ServiceError, append_by, map_conflicts, meta};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::pathway::{Allocation, Case, Context, Step};
use frontdoor_core::{
    Actor, AgencyKind, AlertId, CaseId, ChildFlag, ChildId, ContactId, EnquiryId, Event, Purpose, Role, UserId,
};
use frontdoor_store::{CaseRecord, Expected, Meta, NewEvent, Store};

/// The events referring a child to the pathway (to append with whatever decided it), unless the
/// child already has an open case, which the new concern then joins (one open case per child;
/// the store's unique index holds that against a race).
pub async fn referral_events_unless_open(
    store: &Store,
    child_id: ChildId,
    contact_id: Option<ContactId>,
    enquiry_id: Option<EnquiryId>,
    reason: &str,
    m: &Meta,
) -> Result<Vec<NewEvent>, ServiceError> {
    if store.cse_cases_of_child(child_id).await?.iter().any(|c| c.case.is_open()) {
        return Ok(Vec::new());
    }
    Ok(referral_events(child_id, contact_id, enquiry_id, reason, m).1)
}

/// The events referring a child to the pathway (to append with whatever decided it): the case,
/// and the open-CSE-case flag on the child's record.
pub fn referral_events(
    child_id: ChildId,
    contact_id: Option<ContactId>,
    enquiry_id: Option<EnquiryId>,
    reason: &str,
    m: &Meta,
) -> (CaseId, Vec<NewEvent>) {
    let case_id = CaseId::new();
    let event = |e| NewEvent { event: e, expected: Expected::Any, meta: m.clone() };
    let events = vec![
        NewEvent {
            event: Event::CseCaseOpened { case_id, child_id, contact_id, enquiry_id, reason: reason.to_owned() },
            expected: Expected::NoStream,
            meta: m.clone(),
        },
        event(Event::ChildFlagged {
            child_id,
            flag: ChildFlag::OpenCseCase,
            set: true,
            note: format!("CSE pathway case {case_id}"),
        }),
    ];
    (case_id, events)
}

/// Whole years between a date of birth (`YYYY-MM-DD`) and `at`.
pub fn age_on(date_of_birth: Option<&str>, at: DateTime<Utc>) -> Option<u32> {
    let dob = NaiveDate::parse_from_str(date_of_birth?, "%Y-%m-%d").ok()?;
    let today = at.date_naive();
    let mut years = today.year() - dob.year();
    if (today.month(), today.day()) < (dob.month(), dob.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// A worker's weighted caseload, leaving out `except` (the case being reallocated).
pub async fn caseload(
    store: &Store,
    weights: &frontdoor_core::pathway::Caseload,
    worker: UserId,
    except: Option<CaseId>,
) -> Result<f64, ServiceError> {
    let cases = store.cse_cases_of_worker(worker).await?;
    Ok(weights.load(cases.iter().filter(|c| Some(c.id) != except).map(|c| c.case.level)))
}

/// Takes `step` on the case as `actor`. Refusals say why: a step the stage does not allow is a
/// conflict (409), a step missing what it must carry is invalid (422, field `step`). Allocation
/// over the caseload maximum needs `override_reason` (field `override_reason`), and the worker
/// must be an active CSE worker. Closing the case clears the child's open-CSE-case flag in the
/// same commit.
pub async fn take_step(
    store: &Store,
    actor: &Actor,
    record: &CaseRecord,
    step: Step,
    weights: &frontdoor_core::pathway::Caseload,
    now: DateTime<Utc>,
) -> Result<Case, ServiceError> {
    let child = store.child(record.child_id).await?.ok_or_else(|| ServiceError::NotFound("child".into()))?;
    let age_years = age_on(child.date_of_birth.as_deref(), now);
    let mut step = step;
    let mut allocated_to = None;
    if let Step::Allocate { worker, override_reason } = &mut step {
        let user = store.user(*worker).await?.filter(|u| !u.disabled && u.roles.contains(&Role::CseWorker));
        let Some(user) = user else {
            return Err(invalid("worker", "choose an active CSE worker"));
        };
        allocated_to = Some(user.display_name);
        let load = caseload(store, weights, *worker, Some(record.id)).await?;
        match weights.check(load, record.case.level) {
            Allocation::Breach { after } if override_reason.is_none() => {
                return Err(invalid(
                    "override_reason",
                    &format!(
                        "this takes the worker to {after:.2} weighted cases, over the maximum of {:.0}: a manager's override with its reason is needed",
                        weights.max
                    ),
                ));
            }
            Allocation::Breach { .. } => {}
            // Within the maximum an override means nothing: it is not recorded as a breach.
            _ => *override_reason = None,
        }
    }
    let ctx = Context { at: now, age_years };
    let next = match record.case.apply(&step, &ctx) {
        Ok(next) => next,
        Err(r) if !record.case.possible_steps().contains(&step.kind()) => {
            return Err(ServiceError::Conflict(r.to_string()));
        }
        Err(r) => return Err(invalid("step", &r.reason)),
    };
    let m = meta(Some(actor), Purpose::CaseWork.as_str(), now);
    let mut events = vec![NewEvent {
        event: Event::CseCaseStepped { case_id: record.id, child_id: record.child_id, step, age_years },
        expected: Expected::Any,
        meta: m.clone(),
    }];
    // Allocation tells the young person's GP practice, when it is known, in the same commit.
    if let (Some(worker), Some(gp)) = (&allocated_to, child.gp_practice) {
        let practice = store.agencies().await?.into_iter().find(|a| a.id == gp && a.kind == AgencyKind::Health);
        if let Some(practice) = practice {
            let transition = frontdoor_core::pathway::TransitionKind::GpAllocation;
            let (_, event) = notice(&child, Some(record.id), &practice, transition, worker, SAFEGUARDING_BASIS);
            events.push(NewEvent { event, expected: Expected::NoStream, meta: m.clone() });
        }
    }
    if !next.is_open() {
        events.push(NewEvent {
            event: Event::ChildFlagged {
                child_id: record.child_id,
                flag: ChildFlag::OpenCseCase,
                set: false,
                note: String::new(),
            },
            expected: Expected::Any,
            meta: m,
        });
    }
    store.append(events, vec![], vec![]).await.map_err(|e| match map_conflicts(e) {
        ServiceError::Conflict(_) => {
            ServiceError::Conflict("someone else moved this case on at the same moment; reload it and try again".into())
        }
        other => other,
    })?;
    Ok(next)
}

fn invalid(field: &str, message: &str) -> ServiceError {
    ServiceError::Invalid(vec![FieldError { field: field.into(), message: message.into() }])
}

/// Finds every open case's deadlines that have passed and not been recorded yet, and records
/// each once with an alert owned by the CSE workers and addressed to the case's worker, and an
/// e-mail to the managers. Idempotent.
pub async fn sweep_deadlines(store: &Store, cfg: &crate::Config, now: DateTime<Utc>) -> Result<usize, ServiceError> {
    let mut found = 0;
    for c in store.cse_cases(false, 10_000).await? {
        for d in c.case.deadlines(&cfg.pathway) {
            if d.due > now || store.deadline_alerted(c.id, d.what, d.due).await? {
                continue;
            }
            let m = Meta::system(Purpose::CaseWork.as_str(), now);
            let alert_id = AlertId::new();
            let worker = c.worker_name.as_deref().map_or_else(|| "unallocated".to_owned(), |w| format!("worker: {w}"));
            let reason = format!(
                "CSE pathway: {} was due {} and is overdue ({worker})",
                d.what.label(),
                d.due.format("%d %b %Y %H:%M")
            );
            let events = vec![
                NewEvent {
                    event: Event::CseDeadlineMissed {
                        case_id: c.id,
                        child_id: c.child_id,
                        deadline: d.what,
                        due_at: d.due,
                    },
                    expected: Expected::Any,
                    meta: m.clone(),
                },
                NewEvent {
                    event: Event::AlertRaised {
                        alert_id,
                        alert_kind: "pathway_overdue".into(),
                        child_id: c.child_id,
                        contact_id: c.contact_id,
                        urgent: false,
                        owner_role: Role::CseWorker,
                        due_at: now,
                        reason: reason.clone(),
                        for_user: c.case.worker,
                    },
                    expected: Expected::NoStream,
                    meta: m.clone(),
                },
            ];
            let outbox = if cfg.notify_managers_email.is_empty() {
                vec![]
            } else {
                let what = format!("CSE pathway: {} overdue", d.what.label().to_lowercase());
                let reference = format!("CSE case {}", c.id);
                vec![notify::email(
                    cfg,
                    &cfg.notify_managers_email,
                    &reference,
                    &what,
                    &format!("/cse/cases/{}", c.id),
                    now,
                )]
            };
            match store.append(events, vec![], outbox).await {
                Ok(_) => found += 1,
                // Another server recorded it first.
                Err(frontdoor_store::StoreError::Duplicate { .. } | frontdoor_store::StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(found)
}

/// The case's latest initial risk assessment, from its history.
pub async fn latest_assessment(
    store: &Store,
    case_id: CaseId,
) -> Result<Option<frontdoor_core::pathway::Assessment>, ServiceError> {
    Ok(store.cse_case_history(case_id).await?.into_iter().rev().find_map(|h| match h.event {
        Event::CseCaseStepped { step: Step::Assess(a), .. } => Some(a),
        _ => None,
    }))
}

/// A support referral's outcome as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportInput {
    /// The service's id in the support directory.
    #[serde(default)]
    pub service: String,
    /// `made`, `accepted` or `declined`.
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

/// Records what became of a referral to a support service; a referral is made only when the case
/// meets the service's threshold (level and stage). Declining a service whose need the
/// directory lists in `recontact_needs` schedules a re-contact `recontact_months` on (Rec 8).
/// Returns the re-contact date, if any.
pub async fn record_support(
    store: &Store,
    actor: &Actor,
    record: &CaseRecord,
    directory: &crate::support::Directory,
    input: &SupportInput,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDate>, ServiceError> {
    let (service, outcome, note) = (input.service.as_str(), input.outcome.as_str(), input.note.as_str());
    let mut errors = Vec::new();
    let found = directory.service(service.trim());
    if found.is_none() {
        errors.push(FieldError { field: "service".into(), message: "not a service in the support directory".into() });
    }
    let parsed = frontdoor_core::pathway::SupportOutcome::parse(outcome);
    if parsed.is_none() {
        errors.push(FieldError {
            field: "outcome".into(),
            message: format!("choose one of {}", frontdoor_core::pathway::SupportOutcome::expected()),
        });
    }
    let note = note.trim();
    if note.chars().count() > 2_000 {
        errors.push(FieldError { field: "note".into(), message: "must be at most 2,000 characters".into() });
    }
    let (Some(svc), Some(outcome)) = (found, parsed) else { return Err(ServiceError::Invalid(errors)) };
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    if !record.case.is_open() {
        return Err(ServiceError::Conflict("the case is closed".into()));
    }
    // A new referral must meet the service's threshold; what the service then did with one
    // made earlier (accepted, declined) is recorded whatever the case's level is now.
    if outcome == frontdoor_core::pathway::SupportOutcome::Made
        && let Some(why) = svc.threshold_unmet(record.case.level, record.case.stage)
    {
        return Err(invalid("service", &format!("{} {why}", svc.name)));
    }
    let recontact_on = (outcome == frontdoor_core::pathway::SupportOutcome::Declined && directory.recontacts(svc))
        .then(|| now.date_naive().checked_add_months(chrono::Months::new(directory.recontact_months)))
        .flatten();
    let event = Event::SupportReferralRecorded {
        case_id: record.id,
        child_id: record.child_id,
        service: svc.id.clone(),
        outcome,
        note: note.to_owned(),
        recontact_on,
    };
    append_by(store, actor, event, Expected::Any, Purpose::CaseWork, now).await?;
    Ok(recontact_on)
}

/// Alerts the case's worker (within the CSE team), once, when a declined referral's re-contact
/// date comes.
pub async fn sweep_recontacts(store: &Store, now: DateTime<Utc>) -> Result<usize, ServiceError> {
    let mut found = 0;
    for r in store.support_recontacts_due(now.date_naive()).await? {
        let Some(c) = store.cse_case(r.case_id).await?.filter(|c| c.case.is_open()) else { continue };
        let m = Meta::system(Purpose::CaseWork.as_str(), now);
        let events = vec![
            NewEvent {
                event: Event::SupportRecontactDue { case_id: c.id, child_id: c.child_id, service: r.service.clone() },
                expected: Expected::Any,
                meta: m.clone(),
            },
            NewEvent {
                event: Event::AlertRaised {
                    alert_id: AlertId::new(),
                    alert_kind: "support_recontact".into(),
                    child_id: c.child_id,
                    contact_id: None,
                    urgent: false,
                    owner_role: Role::CseWorker,
                    due_at: now,
                    reason: format!(
                        "Offer the {} referral again: it was declined on {}",
                        r.service,
                        r.recorded_at.format("%d %b %Y")
                    ),
                    for_user: c.case.worker,
                },
                expected: Expected::NoStream,
                meta: m,
            },
        ];
        match store.append(events, vec![], vec![]).await {
            Ok(_) => found += 1,
            Err(frontdoor_store::StoreError::Conflict { .. } | frontdoor_store::StoreError::Duplicate { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found)
}

/// A transition notification as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyInput {
    /// The receiving agency's id: a health body (its GP practice) or a school or college.
    #[serde(default)]
    pub to_agency: String,
    /// `gp_allocation` or `college_transfer`.
    #[serde(default)]
    pub transition: String,
    #[serde(default)]
    pub lawful_basis: String,
}

/// The lawful basis automatic transition notices are recorded with.
pub const SAFEGUARDING_BASIS: &str = "UK GDPR 6(1)(e) and 9(2)(g); DPA 2018 Sch. 1 para 18 (safeguarding children)";

/// A transition notice to `agency` about `child`: it names the young person and the worker
/// (or the CSE team when none is allocated yet), and nothing of why.
pub fn notice(
    child: &frontdoor_store::ChildRecord,
    case_id: Option<CaseId>,
    agency: &frontdoor_store::AgencyRecord,
    transition: frontdoor_core::pathway::TransitionKind,
    worker: &str,
    lawful_basis: &str,
) -> (frontdoor_core::NotificationId, Event) {
    use frontdoor_core::pathway::TransitionKind;
    let who = format!(
        "{} {}{}",
        child.given_name,
        child.family_name,
        child.date_of_birth.as_deref().map(|d| format!(", born {d}")).unwrap_or_default()
    );
    let message = match transition {
        TransitionKind::GpAllocation => format!(
            "{who} has been allocated a worker in the children's services CSE team ({worker}). Please flag the record; \
             contact the CSE team before sharing this with anyone else."
        ),
        TransitionKind::CollegeTransfer => format!(
            "{who} is transferring to {} and is known to the children's services CSE team. Please contact the allocated \
             worker ({worker}) to arrange a transition meeting.",
            agency.name
        ),
    };
    let notification_id = frontdoor_core::NotificationId::new();
    let event = Event::PartnerNotified {
        notification_id,
        child_id: child.id,
        case_id,
        to_agency: agency.id,
        transition,
        lawful_basis: lawful_basis.to_owned(),
        message,
    };
    (notification_id, event)
}

/// Tells a partner agency about a transition (F15): the young person's GP practice once the case
/// is allocated, a college when a flagged student transfers to it. The notice names the young
/// person and the worker, and is recorded with its lawful basis.
pub async fn notify_partner(
    store: &Store,
    actor: &Actor,
    record: &CaseRecord,
    input: &NotifyInput,
    now: DateTime<Utc>,
) -> Result<frontdoor_core::NotificationId, ServiceError> {
    use frontdoor_core::AgencyKind;
    use frontdoor_core::pathway::TransitionKind;
    let mut errors = Vec::new();
    let transition = TransitionKind::parse(&input.transition);
    if transition.is_none() {
        errors.push(FieldError {
            field: "transition".into(),
            message: format!("choose one of {}", TransitionKind::expected()),
        });
    }
    let agency = match input.to_agency.trim().parse::<frontdoor_core::AgencyId>() {
        Ok(id) => store.agencies().await?.into_iter().find(|a| a.id == id),
        Err(_) => None,
    };
    match (&agency, transition) {
        (None, _) => errors.push(FieldError { field: "to_agency".into(), message: "choose an agency".into() }),
        (Some(a), Some(TransitionKind::GpAllocation)) if a.kind != AgencyKind::Health => {
            errors.push(FieldError { field: "to_agency".into(), message: "a GP practice is a health body".into() });
        }
        (Some(a), Some(TransitionKind::CollegeTransfer))
            if !matches!(a.kind, AgencyKind::Education | AgencyKind::School) =>
        {
            errors.push(FieldError {
                field: "to_agency".into(),
                message: "a college is a school or education provider".into(),
            });
        }
        _ => {}
    }
    let lawful_basis = input.lawful_basis.trim();
    if lawful_basis.is_empty() || lawful_basis.chars().count() > 500 {
        errors.push(FieldError {
            field: "lawful_basis".into(),
            message: "name the lawful basis for sharing (e.g. UK GDPR 6(1)(e) and 9(2)(g); DPA 2018 Sch. 1 para 18)"
                .into(),
        });
    }
    let (Some(agency), Some(transition)) = (agency, transition) else { return Err(ServiceError::Invalid(errors)) };
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    if !record.case.is_open() {
        return Err(ServiceError::Conflict("the case is closed".into()));
    }
    let Some(worker) = record.worker_name.clone().filter(|_| record.case.worker.is_some()) else {
        return Err(ServiceError::Conflict("allocate the case to a CSE worker first: the notice names them".into()));
    };
    let child = store.child(record.child_id).await?.ok_or_else(|| ServiceError::NotFound("child".into()))?;
    let (notification_id, event) = notice(&child, Some(record.id), &agency, transition, &worker, lawful_basis);
    append_by(store, actor, event, Expected::NoStream, Purpose::CaseWork, now).await?;
    Ok(notification_id)
}

/// A child's GP practice and school or college, as typed (agency ids; empty: unchanged).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// A health body's id.
    #[serde(default)]
    pub gp_practice: String,
    /// A school's or college's id.
    #[serde(default)]
    pub education_setting: String,
}

/// Records a child's GP practice and school or college (F15). When a child with an open CSE case
/// moves from a recorded school or college to a different one, the new one is told in the same commit (the notice
/// names the young person and the worker, with the safeguarding basis). Returns the notices sent.
pub async fn record_settings(
    store: &Store,
    actor: &Actor,
    child: &frontdoor_store::ChildRecord,
    input: &SettingsInput,
    now: DateTime<Utc>,
) -> Result<Vec<frontdoor_core::NotificationId>, ServiceError> {
    use frontdoor_core::pathway::{ChildSetting, TransitionKind};
    let agencies = store.agencies().await?;
    let mut errors = Vec::new();
    let mut pick = |field: &str, text: &str, ok: &[AgencyKind], what: &str| {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let found = text.parse::<frontdoor_core::AgencyId>().ok().and_then(|id| agencies.iter().find(|a| a.id == id));
        match found {
            Some(a) if ok.contains(&a.kind) => Some(a.clone()),
            _ => {
                errors.push(FieldError { field: field.into(), message: format!("choose {what}") });
                None
            }
        }
    };
    let gp = pick("gp_practice", &input.gp_practice, &[AgencyKind::Health], "a GP practice (a health body)");
    let setting = pick(
        "education_setting",
        &input.education_setting,
        &[AgencyKind::School, AgencyKind::Education],
        "a school or college",
    );
    if input.gp_practice.trim().is_empty() && input.education_setting.trim().is_empty() {
        errors.push(FieldError {
            field: "gp_practice".into(),
            message: "choose a GP practice or a school or college".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let m = meta(Some(actor), Purpose::CaseWork.as_str(), now);
    let event = |event| NewEvent { event, expected: Expected::Any, meta: m.clone() };
    let mut events = Vec::new();
    let mut sent = Vec::new();
    if let Some(gp) = gp.filter(|a| child.gp_practice != Some(a.id)) {
        events.push(event(Event::ChildSettingRecorded {
            child_id: child.id,
            setting: ChildSetting::GpPractice,
            agency_id: gp.id,
        }));
    }
    if let Some(to) = setting.filter(|a| child.education_setting != Some(a.id)) {
        // A move is from one recorded school or college to another; the first one recorded is
        // where the child already is, and is told nothing.
        let moved = child.education_setting.is_some();
        events.push(event(Event::ChildSettingRecorded {
            child_id: child.id,
            setting: ChildSetting::Education,
            agency_id: to.id,
        }));
        let open = store.cse_cases_of_child(child.id).await?.into_iter().find(|c| c.case.is_open());
        if let Some(case) = open.filter(|_| moved) {
            let worker = match (case.case.worker, case.worker_name.as_deref()) {
                (Some(_), Some(name)) => name.to_owned(),
                _ => "not yet allocated: please contact the CSE team".to_owned(),
            };
            let transition = TransitionKind::CollegeTransfer;
            let (id, notice) = notice(child, Some(case.id), &to, transition, &worker, SAFEGUARDING_BASIS);
            events.push(NewEvent { event: notice, expected: Expected::NoStream, meta: m.clone() });
            sent.push(id);
        }
    }
    if !events.is_empty() {
        store.append(events, vec![], vec![]).await.map_err(map_conflicts)?;
    }
    Ok(sent)
}
