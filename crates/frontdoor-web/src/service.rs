//! Application services: what a user can do, independent of how they asked (page, API or the
//! command line). Knows no HTTP; every access decision is made by the caller via `policy`.

pub use crate::intake::{RecordedContact, record_contact};
use crate::passwords::Passwords;
use chrono::{DateTime, Duration, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::{Actor, AgencyId, AgencyKind, Event, Purpose, Role, UserId, Username};
use frontdoor_store::{Expected, Meta, NewEvent, Store, StoreError, UserRecord};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("the username or password is not right")]
    BadCredentials,
    #[error("too many failed sign-ins for this account; try again later")]
    Locked,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    fn field(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![FieldError { field: field.into(), message: message.into() }])
    }
}

pub(crate) fn map_conflicts(e: StoreError) -> ServiceError {
    match e {
        StoreError::Duplicate { what } => ServiceError::Conflict(format!("{what} already exists")),
        StoreError::Conflict { .. } => {
            ServiceError::Conflict("the record changed while you were working on it; try again".into())
        }
        other => ServiceError::Store(other),
    }
}

/// The actor a user record signs in as.
pub fn actor_of(user: &UserRecord) -> Actor {
    Actor { user_id: user.id, agency_id: user.agency.id, agency_kind: user.agency.kind, roles: user.roles.clone() }
}

pub(crate) fn meta(actor: Option<&Actor>, purpose: &str, at: DateTime<Utc>) -> Meta {
    Meta {
        actor_user: actor.map(|a| a.user_id),
        actor_agency: actor.map(|a| a.agency_id),
        purpose: purpose.to_owned(),
        at,
    }
}

/// Appends one event made by `actor` for `purpose`, durably; a conflict on its stream (or a
/// guarded projection) comes back as [`ServiceError::Conflict`].
pub(crate) async fn append_by(
    store: &Store,
    actor: &Actor,
    event: Event,
    expected: Expected,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store
        .append(vec![NewEvent { event, expected, meta: meta(Some(actor), purpose.as_str(), now) }], vec![], vec![])
        .await
        .map_err(map_conflicts)?;
    Ok(())
}

pub async fn register_agency(
    store: &Store,
    name: &str,
    kind: AgencyKind,
    by: Option<&Actor>,
    now: DateTime<Utc>,
) -> Result<AgencyId, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::field("name", "must be 1 to 200 characters"));
    }
    if store.agencies().await?.iter().any(|a| a.name.eq_ignore_ascii_case(name)) {
        return Err(ServiceError::Conflict(format!("an agency called '{name}' already exists")));
    }
    let agency_id = AgencyId::new();
    store
        .append(
            vec![NewEvent {
                event: Event::AgencyRegistered { agency_id, name: name.to_owned(), agency_kind: kind },
                expected: Expected::NoStream,
                meta: meta(by, Purpose::Administration.as_str(), now),
            }],
            vec![],
            vec![],
        )
        .await
        .map_err(map_conflicts)?;
    Ok(agency_id)
}

pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub agency_id: AgencyId,
    pub roles: Vec<Role>,
}

/// Add a user with a password; both land in one transaction.
pub async fn register_user(
    store: &Store,
    passwords: &Passwords,
    new: NewUser,
    password: &str,
    by: Option<&Actor>,
    now: DateTime<Utc>,
) -> Result<UserId, ServiceError> {
    let mut errors = Vec::new();
    let username = Username::parse(&new.username);
    if let Err(e) = &username {
        errors.push(FieldError { field: "username".into(), message: e.to_string() });
    }
    let display_name = new.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        errors.push(FieldError { field: "display_name".into(), message: "must be 1 to 100 characters".into() });
    }
    if new.roles.is_empty() {
        errors.push(FieldError { field: "roles".into(), message: "choose at least one role".into() });
    }
    if password.chars().count() < 12 {
        errors.push(FieldError { field: "password".into(), message: "must be at least 12 characters".into() });
    }
    if !store.agencies().await?.iter().any(|a| a.id == new.agency_id) {
        errors.push(FieldError { field: "agency".into(), message: "no such agency".into() });
    }
    let username = match username {
        Ok(u) if errors.is_empty() => u,
        _ => return Err(ServiceError::Invalid(errors)),
    };
    let hash = passwords.hash(password).map_err(ServiceError::Internal)?;
    let user_id = UserId::new();
    let mut roles = new.roles;
    roles.sort();
    roles.dedup();
    store
        .append_user_with_password(
            NewEvent {
                event: Event::UserRegistered { user_id, username, display_name, agency_id: new.agency_id, roles },
                expected: Expected::NoStream,
                meta: meta(by, Purpose::Administration.as_str(), now),
            },
            &hash,
        )
        .await
        .map_err(map_conflicts)?;
    Ok(user_id)
}

/// Disable a user: their sessions end in the same commit.
pub async fn disable_user(
    store: &Store,
    username: &str,
    reason: &str,
    by: Option<&Actor>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let user = store
        .user_by_username(&username.trim().to_ascii_lowercase())
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("user '{username}'")))?;
    if user.disabled {
        return Ok(());
    }
    if by.is_some_and(|a| a.user_id == user.id) {
        return Err(ServiceError::Conflict("you cannot disable your own account; ask another administrator".into()));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ServiceError::field("reason", "say why the account is being disabled"));
    }
    store
        .append(
            vec![NewEvent {
                event: Event::UserDisabled { user_id: user.id, reason: reason.to_owned() },
                expected: Expected::Any,
                meta: meta(by, Purpose::Administration.as_str(), now),
            }],
            vec![],
            vec![],
        )
        .await
        .map_err(map_conflicts)?;
    Ok(())
}

/// Check a username and password, with throttling: after too many failures in the window the
/// account is locked for the rest of the window, whatever is typed. Unknown users and wrong
/// passwords take the same time and get the same answer.
pub async fn authenticate(
    store: &Store,
    passwords: &Passwords,
    cfg: &crate::Config,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<UserRecord, ServiceError> {
    let key = username.trim().to_ascii_lowercase();
    let window_start = now - Duration::minutes(i64::from(cfg.login_window_minutes));
    let failures = store.login_failures_since(&key, window_start).await?;
    let user = store.user_by_username(&key).await?;
    let stored = match &user {
        Some(u) if !u.disabled => store.password_hash(u.id).await?,
        _ => None,
    };
    // Always pay for one Argon2 verification, whatever the case.
    let ok = passwords.verify(password, stored.as_deref());
    if failures >= i64::from(cfg.login_max_failures) {
        return Err(ServiceError::Locked);
    }
    match user {
        Some(u) if ok => {
            store.clear_login_failures(&key).await?;
            Ok(u)
        }
        _ => {
            store.record_login_failure(&key, now).await?;
            Err(ServiceError::BadCredentials)
        }
    }
}
