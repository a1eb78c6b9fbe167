//! Actions (F9) over HTTP: the list each agency works from, assigning, completing; the pages
//! and the JSON API share the loaders here.

use crate::AppState;
use crate::access::{authorize_record, authorize_service, purpose_for};
use crate::actions::{self, ActionDraft};
use crate::api::ApiJson;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::{Layout, PageError, render};
use crate::service::ServiceError;
use askama::Template;
use axum::Extension;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::policy::Scope;
use frontdoor_core::{Action, ActionItemId, Resource, decide};
use frontdoor_store::{ActionRecord, AgencyRecord, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ActionView {
    pub id: String,
    pub child_id: String,
    pub child_name: String,
    pub case_id: Option<String>,
    pub enquiry_id: Option<String>,
    pub what: String,
    /// The holding agency's id.
    pub agency: String,
    pub agency_name: String,
    pub assignee: Option<String>,
    pub due_on: NaiveDate,
    /// `open` or `done`.
    pub status: String,
    pub overdue: bool,
    pub assigned_by: Option<String>,
    pub assigned_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub outcome: Option<String>,
    /// The caller may record it done.
    pub can_complete: bool,
}

fn may_complete(user: &CurrentUser, a: &ActionRecord) -> bool {
    a.completed_at.is_none()
        && decide(
            &user.actor,
            Action::CompleteAction,
            &Resource::ActionItem { agency: a.agency_id },
            purpose_for(user, Action::CompleteAction),
        )
        .allowed
}

async fn view(
    state: &AppState,
    user: &CurrentUser,
    a: &ActionRecord,
    today: NaiveDate,
) -> Result<ActionView, AppError> {
    let child = state.store.child(a.child_id).await?;
    Ok(ActionView {
        id: a.id.to_string(),
        child_id: a.child_id.to_string(),
        child_name: child.map(|c| format!("{} {}", c.given_name, c.family_name)).unwrap_or_default(),
        case_id: a.case_id.map(|c| c.to_string()),
        enquiry_id: a.enquiry_id.map(|e| e.to_string()),
        what: a.what.clone(),
        agency: a.agency_id.to_string(),
        agency_name: a.agency_name.clone(),
        assignee: a.assignee_name.clone(),
        due_on: a.due_on,
        status: if a.completed_at.is_some() { "done" } else { "open" }.into(),
        overdue: a.completed_at.is_none() && a.due_on < today,
        assigned_by: a.assigned_by.clone(),
        assigned_at: a.assigned_at,
        completed_at: a.completed_at,
        completed_by: a.completed_by.clone(),
        outcome: a.outcome.clone(),
        can_complete: may_complete(user, a),
    })
}

/// The actions the user may see: all for the front-door team, else their agency's (logged).
pub(crate) async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<ActionView>, AppError> {
    let decision = authorize_service(user, Action::ListActions)?;
    let agency = (decision.scope == Scope::OwnAgency).then_some(user.actor.agency_id);
    let found = state.store.action_items(agency, 1_000).await?;
    let what = format!("{} actions", found.len());
    authorize_record(state, user, Action::ListActions, "actions", &what, Some(Resource::Service)).await?;
    let today = Utc::now().date_naive();
    let mut out = Vec::with_capacity(found.len());
    for a in &found {
        out.push(view(state, user, a, today).await?);
    }
    // Overdue first, then open by due date (the store's order), then done.
    out.sort_by_key(|v| (v.status == "done", !v.overdue));
    Ok(out)
}

/// The actions about one child, as this user may see them (for the child and case pages).
pub(crate) async fn of_child(
    state: &AppState,
    user: &CurrentUser,
    child: frontdoor_core::ChildId,
) -> Result<Vec<ActionView>, AppError> {
    let Ok(decision) = authorize_service(user, Action::ListActions) else { return Ok(Vec::new()) };
    let today = Utc::now().date_naive();
    let mut out = Vec::new();
    for a in state.store.action_items_of_child(child).await? {
        if decision.scope == Scope::All || a.agency_id == user.actor.agency_id {
            out.push(view(state, user, &a, today).await?);
        }
    }
    Ok(out)
}

async fn action_for(state: &AppState, user: &CurrentUser, id: &str) -> Result<ActionRecord, AppError> {
    let a = match id.parse::<ActionItemId>() {
        Ok(aid) => state.store.action_item(aid).await?,
        Err(_) => None,
    };
    let resource = a.as_ref().map(|a| Resource::ActionItem { agency: a.agency_id });
    authorize_record(state, user, Action::CompleteAction, "action", id, resource).await?;
    a.ok_or(AppError::NotFound)
}

// ---- JSON ------------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub child_id: String,
    /// The CSE case or the enquiry it comes from, if any.
    #[serde(default)]
    pub case_id: String,
    #[serde(default)]
    pub enquiry_id: String,
    pub what: String,
    /// The agency that holds it (`GET /api/v1/agencies`).
    pub agency: String,
    /// A person of that agency, if one is named.
    #[serde(default)]
    pub assignee: String,
    /// `YYYY-MM-DD`.
    pub due: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub outcome: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActionCreated {
    pub id: String,
}

#[utoipa::path(get, path = "/api/v1/actions", responses((status = 200, body = Vec<ActionView>, description = "overdue first; an agency sees the actions it holds, the front-door team all")), security(("bearer" = [])))]
pub(crate) async fn index(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Json<Vec<ActionView>>, AppError> {
    Ok(Json(list(&state, &user).await?))
}

#[utoipa::path(post, path = "/api/v1/actions", request_body = ActionRequest,
    responses((status = 201, body = ActionCreated), (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(b): ApiJson<ActionRequest>,
) -> Result<Response, AppError> {
    let draft = ActionDraft {
        child_id: b.child_id,
        case_id: b.case_id,
        enquiry_id: b.enquiry_id,
        what: b.what,
        agency: b.agency,
        assignee: b.assignee,
        due: b.due,
    };
    let id = actions::assign(&state.store, &user.actor, &draft, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(ActionCreated { id: id.to_string() })).into_response())
}

#[utoipa::path(post, path = "/api/v1/actions/{id}/complete", params(("id" = String, Path)), request_body = CompleteRequest,
    responses((status = 204, description = "done"), (status = 404, description = "not an action the caller's agency holds"),
              (status = 409, description = "already done"), (status = 422, description = "no outcome")), security(("bearer" = [])))]
pub(crate) async fn complete(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CompleteRequest>,
) -> Result<StatusCode, AppError> {
    let a = action_for(&state, &user, &id).await?;
    actions::complete(
        &state.store,
        &user.actor,
        &a,
        &b.outcome,
        purpose_for(&user, Action::CompleteAction),
        Utc::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- pages -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "actions.html")]
struct ListPage {
    layout: Layout,
    actions: Vec<ActionView>,
    errors: Vec<FieldError>,
    failed: String,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    errors: Vec<FieldError>,
    failed: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let actions = list(state, user).await?;
    render(ListPage { layout: Layout::for_user("Actions", user), actions, errors, failed }, status)
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    list_page(&state, &user, Vec::new(), String::new(), StatusCode::OK).await
}

#[derive(Deserialize, Default)]
pub(crate) struct CompleteForm {
    #[serde(default)]
    outcome: String,
}

pub(crate) async fn complete_page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(f): Form<CompleteForm>,
) -> Result<Response, PageError> {
    let a = action_for(&state, &user, &id).await?;
    match actions::complete(
        &state.store,
        &user.actor,
        &a,
        &f.outcome,
        purpose_for(&user, Action::CompleteAction),
        Utc::now(),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/actions").into_response()),
        Err(ServiceError::Invalid(errors)) => {
            list_page(&state, &user, errors, id, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct AssignForm {
    #[serde(default)]
    child: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    enquiry: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    due: String,
}

#[derive(Template)]
#[template(path = "action_new.html")]
struct AssignPage {
    layout: Layout,
    child_name: String,
    form: AssignForm,
    agencies: Vec<AgencyRecord>,
    people: Vec<UserRecord>,
    errors: Vec<FieldError>,
}

async fn assign_page(
    state: &AppState,
    user: &CurrentUser,
    form: AssignForm,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let child = match form.child.trim().parse() {
        Ok(id) => state.store.child(id).await?,
        Err(_) => None,
    };
    let Some(child) = child else { return Err(AppError::NotFound.into()) };
    // The form names the child: a logged read.
    crate::access::log(
        state,
        user,
        Action::AssignAction,
        "child",
        &form.child,
        true,
        "assigning an action about the child",
    )
    .await?;
    let people = state.store.users().await?.into_iter().filter(|u| !u.disabled).collect();
    let page = AssignPage {
        layout: Layout::for_user("Assign an action", user),
        child_name: format!("{} {}", child.given_name, child.family_name),
        form,
        agencies: state.store.agencies().await?,
        people,
        errors,
    };
    render(page, status)
}

pub(crate) async fn new_page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Query(form): Query<AssignForm>,
) -> Result<Response, PageError> {
    assign_page(&state, &user, form, Vec::new(), StatusCode::OK).await
}

pub(crate) async fn create_page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(form): Form<AssignForm>,
) -> Result<Response, PageError> {
    let draft = ActionDraft {
        child_id: form.child.clone(),
        case_id: form.case.clone(),
        enquiry_id: form.enquiry.clone(),
        what: form.what.clone(),
        agency: form.agency.clone(),
        assignee: form.assignee.clone(),
        due: form.due.clone(),
    };
    match actions::assign(&state.store, &user.actor, &draft, Utc::now()).await {
        Ok(_) if !form.case.trim().is_empty() => {
            Ok(Redirect::to(&format!("/cse/cases/{}", form.case.trim())).into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!("/children/{}", form.child.trim())).into_response()),
        Err(ServiceError::Invalid(errors)) => {
            assign_page(&state, &user, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}
