//! Follow-up audits over HTTP: `/cse/audits` (pages) and `/api/v1/cse/audits` (JSON).

use crate::AppState;
use crate::access::{authorize_record, authorize_service};
use crate::api::ApiJson;
use crate::audit;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::{Choice, Layout, PageError, render};
use crate::service::ServiceError;
use askama::Template;
use axum::Extension;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::pathway::AuditRating;
use frontdoor_core::{Action, AuditId, Resource};
use frontdoor_store::AuditRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SampledCase {
    pub case_id: String,
    pub child_name: String,
    pub stage: String,
    pub rating: Option<String>,
    pub finding: Option<String>,
    pub recorded_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Re-running with this seed draws the same cases.
    pub seed: String,
    pub percent: u32,
    pub population: u32,
    pub drawn_by: Option<String>,
    pub drawn_at: DateTime<Utc>,
    pub cases: Vec<SampledCase>,
    /// How many sampled cases have a finding.
    pub findings: usize,
    /// Drawing again from today's records gives the recorded sample.
    pub reproducible: bool,
}

async fn view(state: &AppState, a: &AuditRecord) -> Result<AuditView, AppError> {
    let mut cases = Vec::with_capacity(a.cases.len());
    for id in &a.cases {
        let c = state.store.cse_case(*id).await?;
        let child = match &c {
            Some(c) => state.store.child(c.child_id).await?,
            None => None,
        };
        let f = a.findings.iter().find(|f| f.0 == *id);
        cases.push(SampledCase {
            case_id: id.to_string(),
            child_name: child.map(|c| format!("{} {}", c.given_name, c.family_name)).unwrap_or_default(),
            stage: c.map(|c| c.case.stage.label().to_owned()).unwrap_or_default(),
            rating: f.map(|f| f.1.as_str().to_owned()),
            finding: f.map(|f| f.2.clone()),
            recorded_by: f.and_then(|f| f.3.clone()),
        });
    }
    Ok(AuditView {
        id: a.id.to_string(),
        from: a.from,
        to: a.to,
        seed: a.seed.to_string(),
        percent: a.percent,
        population: a.population,
        drawn_by: a.drawn_by.clone(),
        drawn_at: a.drawn_at,
        findings: a.findings.len(),
        cases,
        reproducible: audit::reproduces(&state.store, a).await?,
    })
}

async fn audit_for(state: &AppState, user: &CurrentUser, id: &str) -> Result<AuditRecord, AppError> {
    authorize_service(user, Action::AuditCases)?;
    let a = match id.parse::<AuditId>() {
        Ok(aid) => state.store.audit(aid).await?,
        Err(_) => None,
    };
    authorize_record(state, user, Action::AuditCases, "audit", id, a.as_ref().map(|_| Resource::Service)).await?;
    a.ok_or(AppError::NotFound)
}

async fn all(state: &AppState, user: &CurrentUser) -> Result<Vec<AuditRecord>, AppError> {
    authorize_service(user, Action::AuditCases)?;
    let audits = state.store.audits().await?;
    authorize_record(
        state,
        user,
        Action::AuditCases,
        "audits",
        &format!("{} audits", audits.len()),
        Some(Resource::Service),
    )
    .await?;
    Ok(audits)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DrawRequest {
    /// `YYYY-MM-DD`, the first day of the period.
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD`, the last day.
    #[serde(default)]
    pub to: String,
    /// Empty: a new random seed (recorded). Give a seed to re-run an earlier draw.
    #[serde(default)]
    pub seed: String,
    /// Default 10.
    #[serde(default)]
    pub percent: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FindingRequest {
    #[serde(default)]
    pub case_id: String,
    /// `good`, `requires_improvement` or `inadequate`.
    #[serde(default)]
    pub rating: String,
    #[serde(default)]
    pub finding: String,
}

#[utoipa::path(get, path = "/api/v1/cse/audits", responses((status = 200, body = Vec<AuditView>)), security(("bearer" = [])))]
pub(crate) async fn index(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Json<Vec<AuditView>>, AppError> {
    let mut out = Vec::new();
    for a in all(&state, &user).await? {
        out.push(view(&state, &a).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/cse/audits", request_body = DrawRequest,
    responses((status = 201, body = AuditView), (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(b): ApiJson<DrawRequest>,
) -> Result<Response, AppError> {
    let id = audit::draw(&state.store, &user.actor, &b.from, &b.to, &b.seed, &b.percent, Utc::now()).await?;
    let a = audit_for(&state, &user, &id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &a).await?)).into_response())
}

#[utoipa::path(get, path = "/api/v1/cse/audits/{id}", params(("id" = String, Path)), responses((status = 200, body = AuditView)), security(("bearer" = [])))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Json<AuditView>, AppError> {
    let a = audit_for(&state, &user, &id).await?;
    Ok(Json(view(&state, &a).await?))
}

#[utoipa::path(post, path = "/api/v1/cse/audits/{id}/findings", params(("id" = String, Path)), request_body = FindingRequest,
    responses((status = 201, description = "recorded"), (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn finding(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<FindingRequest>,
) -> Result<StatusCode, AppError> {
    let a = audit_for(&state, &user, &id).await?;
    audit::record_finding(&state.store, &user.actor, &a, &b.case_id, &b.rating, &b.finding, Utc::now()).await?;
    Ok(StatusCode::CREATED)
}

// ---- pages -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "cse_audits.html")]
struct ListPage {
    layout: Layout,
    audits: Vec<AuditView>,
    form: DrawRequest,
    errors: Vec<FieldError>,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    form: DrawRequest,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let mut audits = Vec::new();
    for a in all(state, user).await? {
        audits.push(view(state, &a).await?);
    }
    render(ListPage { layout: Layout::for_user("Follow-up audits", user), audits, form, errors }, status)
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let today = Utc::now().date_naive();
    let form = DrawRequest {
        from: (today - chrono::Days::new(90)).to_string(),
        to: today.to_string(),
        ..DrawRequest::default()
    };
    list_page(&state, &user, form, Vec::new(), StatusCode::OK).await
}

/// A form's field (forms also carry `csrf`, which the API's strict bodies would refuse).
fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

pub(crate) async fn draw_page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = DrawRequest {
        from: field(&pairs, "from"),
        to: field(&pairs, "to"),
        seed: field(&pairs, "seed"),
        percent: field(&pairs, "percent"),
    };
    match audit::draw(&state.store, &user.actor, &form.from, &form.to, &form.seed, &form.percent, Utc::now()).await {
        Ok(id) => Ok(axum::response::Redirect::to(&format!("/cse/audits/{id}")).into_response()),
        Err(ServiceError::Invalid(errors)) => {
            list_page(&state, &user, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "cse_audit.html")]
struct AuditPage {
    layout: Layout,
    audit: AuditView,
    ratings: Vec<Choice>,
    errors: Vec<FieldError>,
    failed: String,
    /// What was typed in the failed form: (rating, finding).
    typed: (String, String),
}

async fn audit_page(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    errors: Vec<FieldError>,
    failed: String,
    typed: (String, String),
    status: StatusCode,
) -> Result<Response, PageError> {
    let a = audit_for(state, user, id).await?;
    let page = AuditPage {
        layout: Layout::for_user("Follow-up audit", user),
        audit: view(state, &a).await?,
        ratings: AuditRating::ALL.iter().map(|r| Choice { value: r.as_str(), label: r.label().to_owned() }).collect(),
        errors,
        failed,
        typed,
    };
    render(page, status)
}

pub(crate) async fn show_page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    audit_page(&state, &user, &id, Vec::new(), String::new(), Default::default(), StatusCode::OK).await
}

pub(crate) async fn finding_page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = FindingRequest {
        case_id: field(&pairs, "case_id"),
        rating: field(&pairs, "rating"),
        finding: field(&pairs, "finding"),
    };
    let a = audit_for(&state, &user, &id).await?;
    match audit::record_finding(&state.store, &user.actor, &a, &f.case_id, &f.rating, &f.finding, Utc::now()).await {
        Ok(()) => Ok(axum::response::Redirect::to(&format!("/cse/audits/{id}")).into_response()),
        Err(ServiceError::Invalid(errors)) => {
            let typed = (f.rating, f.finding);
            audit_page(&state, &user, &id, errors, f.case_id, typed, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}
