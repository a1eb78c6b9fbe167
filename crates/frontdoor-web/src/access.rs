//! The gate every record read passes: ask the policy, write the access log (allowed reads and
//! every denial) durably, and answer a denial exactly as a missing record (404).

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::AppError;
use chrono::Utc;
use frontdoor_core::policy::{Decision, default_purpose};
use frontdoor_core::{Action, Purpose, Resource, decide};
use frontdoor_store::AccessEntry;

pub fn purpose_for(user: &CurrentUser, action: Action) -> Purpose {
    user.purpose.unwrap_or_else(|| default_purpose(action, &user.actor))
}

/// Decide on one record. `resource` is `None` when the record does not exist.
pub async fn authorize_record(
    state: &AppState,
    user: &CurrentUser,
    action: Action,
    record_type: &str,
    record_id: &str,
    resource: Option<Resource>,
) -> Result<Decision, AppError> {
    let purpose = purpose_for(user, action);
    let decision = match &resource {
        Some(r) => decide(&user.actor, action, r, purpose),
        None => Decision { allowed: false, scope: frontdoor_core::policy::Scope::All, reason: "no such record" },
    };
    if !decision.allowed || action.reads_personal_data() {
        log(state, user, action, record_type, record_id, decision.allowed, decision.reason).await?;
    }
    if decision.allowed { Ok(decision) } else { Err(AppError::NotFound) }
}

/// Writes one access-log entry (durably, before the data is returned).
pub async fn log(
    state: &AppState,
    user: &CurrentUser,
    action: Action,
    record_type: &str,
    record_id: &str,
    allowed: bool,
    reason: &str,
) -> Result<(), AppError> {
    state
        .store
        .log_access(AccessEntry {
            at: Utc::now(),
            user_id: user.actor.user_id,
            agency_id: user.actor.agency_id,
            action,
            record_type: record_type.to_owned(),
            record_id: record_id.to_owned(),
            purpose: purpose_for(user, action),
            allowed,
            reason: reason.to_owned(),
        })
        .await?;
    Ok(())
}

/// Decide on a service-level action (no particular record).
pub fn authorize_service(user: &CurrentUser, action: Action) -> Result<Decision, AppError> {
    let d = decide(&user.actor, action, &Resource::Service, purpose_for(user, action));
    if d.allowed { Ok(d) } else { Err(AppError::Forbidden(format!("not allowed: {}", d.reason))) }
}
