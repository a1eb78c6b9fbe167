//! Actions and their follow-up (F9): any decision, panel, plan or enquiry can assign an action
//! to an agency (and one of its people) with a due date; the holding agency sees and completes
//! its own; the sweep records each overdue action once, with an alert for the safeguarding
//! leads and an e-mail to the managers. The seed's gap: actions "assigned to other
//! organisations" were never monitored.
//!
//! Knows no HTTP. Callers check access with `policy` first.

use crate::notify;
use crate::service::{ServiceError, append_by, map_conflicts, meta};
use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::{
    ActionItemId, Actor, AgencyId, AlertId, CaseId, ChildId, EnquiryId, Event, Purpose, Role, UserId,
};
use frontdoor_store::{ActionRecord, Expected, Meta, NewEvent, Store};

/// An action as a form or the API sends it.
#[derive(Debug, Clone, Default)]
pub struct ActionDraft {
    pub child_id: String,
    pub case_id: String,
    pub enquiry_id: String,
    pub what: String,
    pub agency: String,
    pub assignee: String,
    pub due: String,
}

fn problem(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError { field: field.into(), message: message.into() });
}

/// Assigns an action. Every field is checked before anything is written.
pub async fn assign(
    store: &Store,
    actor: &Actor,
    d: &ActionDraft,
    now: DateTime<Utc>,
) -> Result<ActionItemId, ServiceError> {
    let mut errors = Vec::new();
    let what = d.what.trim();
    if what.is_empty() {
        problem(&mut errors, "what", "say what is to be done");
    } else if what.chars().count() > 2_000 {
        problem(&mut errors, "what", "must be at most 2,000 characters");
    }
    let child = match d.child_id.trim().parse::<ChildId>() {
        Ok(id) => store.child(id).await?.map(|c| c.id),
        Err(_) => None,
    };
    if child.is_none() {
        problem(&mut errors, "child_id", "no child with this id is known to the front door");
    }
    let case_id = match d.case_id.trim() {
        "" => None,
        s => match s.parse::<CaseId>() {
            Ok(id) if store.cse_case(id).await?.is_some_and(|c| Some(c.child_id) == child) => Some(id),
            _ => {
                problem(&mut errors, "case_id", "no CSE case of this child has this id");
                None
            }
        },
    };
    let enquiry_id = match d.enquiry_id.trim() {
        "" => None,
        s => match s.parse::<EnquiryId>() {
            Ok(id) if store.enquiry(id).await?.is_some_and(|e| e.child_id.is_some() && e.child_id == child) => Some(id),
            _ => {
                problem(&mut errors, "enquiry_id", "no enquiry about this child has this id");
                None
            }
        },
    };
    let agency = d.agency.trim().parse::<AgencyId>().ok();
    let agency = match agency {
        Some(a) if store.agencies().await?.iter().any(|k| k.id == a) => Some(a),
        _ => {
            problem(&mut errors, "agency", format!("no agency has the id '{}'", d.agency.trim()));
            None
        }
    };
    let assignee = match d.assignee.trim() {
        "" => None,
        s => {
            let user = match s.parse::<UserId>() {
                Ok(id) => store.user(id).await?.filter(|u| !u.disabled),
                Err(_) => None,
            };
            match user {
                Some(u) if Some(u.agency.id) == agency => Some(u.id),
                Some(_) => {
                    problem(&mut errors, "assignee", "this person is not in the agency the action is assigned to");
                    None
                }
                None => {
                    problem(&mut errors, "assignee", format!("no active user has the id '{s}'"));
                    None
                }
            }
        }
    };
    let due_on = match NaiveDate::parse_from_str(d.due.trim(), "%Y-%m-%d") {
        Ok(day) if day < now.date_naive() => {
            problem(&mut errors, "due", "cannot be in the past");
            None
        }
        Ok(day) => Some(day),
        Err(_) => {
            problem(&mut errors, "due", "a date as YYYY-MM-DD");
            None
        }
    };
    let (Some(child_id), Some(agency_id), Some(due_on)) = (child, agency, due_on) else {
        return Err(ServiceError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let action_id = ActionItemId::new();
    let event = Event::ActionAssigned {
        action_id,
        child_id,
        case_id,
        enquiry_id,
        what: what.to_owned(),
        agency_id,
        assignee,
        due_on,
    };
    append_by(store, actor, event, Expected::NoStream, Purpose::CaseWork, now).await?;
    Ok(action_id)
}

/// Records an action done, with its result. Done once.
pub async fn complete(
    store: &Store,
    actor: &Actor,
    action: &ActionRecord,
    outcome: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let outcome = outcome.trim();
    if outcome.is_empty() || outcome.chars().count() > 2_000 {
        return Err(ServiceError::Invalid(vec![FieldError {
            field: "outcome".into(),
            message: "say what was done (at most 2,000 characters)".into(),
        }]));
    }
    if action.completed_at.is_some() {
        return Err(ServiceError::Conflict("this action is already done".into()));
    }
    let event = Event::ActionCompleted { action_id: action.id, child_id: action.child_id, outcome: outcome.to_owned() };
    store
        .append(
            vec![NewEvent { event, expected: Expected::Any, meta: meta(Some(actor), purpose.as_str(), now) }],
            vec![],
            vec![],
        )
        .await
        .map_err(|e| match map_conflicts(e) {
            ServiceError::Conflict(_) => ServiceError::Conflict("this action is already done".into()),
            other => other,
        })?;
    Ok(())
}

/// Records each open action past its due date, once, with an alert owned by the safeguarding
/// leads (who follow partners' actions up) and addressed to the user who assigned it, and an
/// e-mail to the managers. The holding agency's leads see it on their home page (from the
/// recorded `ActionOverdue`). Idempotent.
pub async fn sweep_overdue(store: &Store, cfg: &crate::Config, now: DateTime<Utc>) -> Result<usize, ServiceError> {
    let mut found = 0;
    for a in store.actions_newly_overdue(now.date_naive()).await? {
        let m = Meta::system(Purpose::CaseWork.as_str(), now);
        let reason =
            format!("An action held by {} was due {} and is not done", a.agency_name, a.due_on.format("%d %b %Y"));
        let events = vec![
            NewEvent {
                event: Event::ActionOverdue { action_id: a.id, child_id: a.child_id },
                expected: Expected::Any,
                meta: m.clone(),
            },
            NewEvent {
                event: Event::AlertRaised {
                    alert_id: AlertId::new(),
                    alert_kind: "action_overdue".into(),
                    child_id: a.child_id,
                    contact_id: None,
                    urgent: false,
                    owner_role: Role::SafeguardingLead,
                    due_at: now,
                    reason,
                    for_user: a.assigner,
                },
                expected: Expected::NoStream,
                meta: m,
            },
        ];
        let outbox = if cfg.notify_managers_email.is_empty() {
            vec![]
        } else {
            let reference = format!("action {}", a.id);
            vec![notify::email(
                cfg,
                &cfg.notify_managers_email,
                &reference,
                "an assigned action is overdue",
                "/actions",
                now,
            )]
        };
        match store.append(events, vec![], outbox).await {
            Ok(_) => found += 1,
            // Another server's sweep recorded it first.
            Err(frontdoor_store::StoreError::Conflict { .. } | frontdoor_store::StoreError::Duplicate { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found)
}
