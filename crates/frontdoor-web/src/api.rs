//! The JSON API under `/api/v1`. Bodies are read by `ApiJson`, which names the field at fault;
//! unknown fields are refused; nothing is written unless the whole request is valid.

use crate::access::{authorize_record, purpose_for};
use crate::auth::{self, CurrentUser};
use crate::error::AppError;
use crate::service;
use crate::{AppState, openapi};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Utc};
use frontdoor_core::contact::{ChildDraft, ContactDraft};
use frontdoor_core::policy::Scope;
use frontdoor_core::{Action, ChildId, ContactId, IndicatorMention, Resource, SourceCode};
use frontdoor_store::{ChronologyEntry, ContactRecord};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A JSON body, parsed with the path of any bad field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let is_json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(AppError::UnsupportedMediaType);
        }
        let limit = state.cfg.max_body_bytes;
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge(limit)
            } else {
                AppError::BadRequest { field: None, message: "the request body could not be read".into() }
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let field = (path != ".").then_some(path);
            AppError::BadRequest { field, message: e.inner().to_string() }
        })?;
        Ok(ApiJson(value))
    }
}

// ---- bodies ---------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildRequest {
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`, not in the future, not before 1900.
    pub date_of_birth: Option<String>,
    /// `M`, `F` or `U`.
    pub sex: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// phone, email, in_person, professional_referral, online_form, anonymous_line, feed
    pub channel: String,
    /// DfE contact source code (CIN census ReferralSource), e.g. `2A` schools, `6` police.
    pub source_code: String,
    pub child: ChildRequest,
    pub narrative: String,
    /// When the concern was raised (RFC 3339); defaults to now.
    pub received_at: Option<String>,
}

impl From<ContactRequest> for ContactDraft {
    fn from(r: ContactRequest) -> Self {
        ContactDraft {
            channel: r.channel,
            source_code: r.source_code,
            child: ChildDraft {
                given_name: r.child.given_name,
                family_name: r.child.family_name,
                date_of_birth: r.child.date_of_birth,
                sex: r.child.sex,
                postcode: r.child.postcode,
            },
            narrative: r.narrative,
            received_at: r.received_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactCreated {
    pub id: String,
    pub reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    pub reference: String,
    pub child_id: String,
    pub channel: String,
    pub source_code: String,
    pub source_label: String,
    pub narrative: String,
    pub received_at: DateTime<Utc>,
    pub owner_agency: String,
    /// What indicator screening found in the narrative (negated and hypothetical mentions
    /// included, flagged; they carry no weight).
    pub indicators: Vec<IndicatorView>,
}

#[derive(Serialize, ToSchema)]
pub struct IndicatorView {
    /// The lexicon's canonical term.
    pub term: String,
    /// The indicator group (missing, older_associate, ...).
    pub group: String,
    pub weight: u8,
    pub negated: bool,
    pub hypothetical: bool,
    /// Byte offsets into `narrative`.
    pub start: usize,
    pub end: usize,
}

impl From<IndicatorMention> for IndicatorView {
    fn from(m: IndicatorMention) -> Self {
        IndicatorView {
            term: m.term,
            group: m.group,
            weight: m.weight,
            negated: m.negated,
            hypothetical: m.hypothetical,
            start: m.start,
            end: m.end,
        }
    }
}

impl ContactView {
    pub(crate) fn new(c: &ContactRecord, indicators: Vec<IndicatorMention>) -> Self {
        ContactView {
            id: c.id.to_string(),
            reference: c.reference.clone(),
            child_id: c.child_id.to_string(),
            channel: c.channel.clone(),
            source_code: c.source_code.clone(),
            source_label: SourceCode::parse(&c.source_code).map(|s| s.label()).unwrap_or("").to_owned(),
            narrative: c.narrative.clone(),
            received_at: c.received_at,
            owner_agency: c.owner_agency.to_string(),
            indicators: indicators.into_iter().map(IndicatorView::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChildView {
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ChronologyItem {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub kind: String,
    pub summary: String,
    pub agency: Option<String>,
    pub recorded_by: Option<String>,
    /// For contacts: the contact's id, to open it.
    pub contact_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ChronologyView {
    pub child: ChildView,
    /// `all`, or `own_agency` when the viewer sees only their agency's entries.
    pub scope: String,
    pub entries: Vec<ChronologyItem>,
    /// True when other agencies hold entries this viewer may not see.
    pub more_held_elsewhere: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    pub username: String,
    pub display_name: String,
    pub agency: String,
    pub agency_kind: String,
    pub roles: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub agency: String,
    pub roles: Vec<String>,
    pub disabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyView {
    pub intact: bool,
    pub events: i64,
    pub access_entries: i64,
    pub breaks: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CountView {
    pub key: String,
    pub label: String,
    /// Absent when suppressed (fewer than 5, so no child can be singled out).
    pub count: Option<i64>,
    pub suppressed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct StatsView {
    pub contacts: i64,
    pub children: i64,
    pub by_source: Vec<CountView>,
    pub by_month: Vec<CountView>,
}

// ---- handlers -------------------------------------------------------------------------------

pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.get_setting("healthz").await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "database unavailable"})))
                .into_response()
        }
    }
}

pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi::openapi_json()).into_response()
}

#[utoipa::path(post, path = "/api/v1/auth/token", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "wrong username or password"), (status = 429, description = "too many failed attempts")))]
pub(crate) async fn token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    let user =
        service::authenticate(&state.store, &state.passwords, &state.cfg, &body.username, &body.password, Utc::now())
            .await?;
    let token = auth::start_session(&state, &user, "api").await?;
    Ok(Json(TokenResponse { token }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204, description = "the token is revoked")), security(("bearer" = [])))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<StatusCode, AppError> {
    state.store.delete_session(&user.session_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeView)), security(("bearer" = [])))]
pub(crate) async fn me(Extension(user): Extension<CurrentUser>) -> Json<MeView> {
    Json(MeView {
        username: user.user.username.clone(),
        display_name: user.user.display_name.clone(),
        agency: user.user.agency.name.clone(),
        agency_kind: user.user.agency.kind.to_string(),
        roles: user.user.roles.iter().map(|r| r.to_string()).collect(),
    })
}

#[utoipa::path(post, path = "/api/v1/contacts", request_body = ContactRequest,
    responses((status = 201, body = ContactCreated, description = "durably recorded"), (status = 400, description = "malformed body; names the field"),
              (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn create_contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<ContactRequest>,
) -> Result<Response, AppError> {
    let draft: ContactDraft = body.into();
    let purpose = purpose_for(&user, Action::CreateContact);
    let recorded =
        service::record_contact(&state.store, &state.screening, &user.actor, purpose, &draft, Utc::now()).await?;
    ::metrics::counter!("frontdoor_contacts_recorded_total").increment(1);
    let location = format!("/api/v1/contacts/{}", recorded.contact_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ContactCreated { id: recorded.contact_id.to_string(), reference: recorded.reference }),
    )
        .into_response())
}

/// Load a contact the user may see; anything else (missing, malformed id, not theirs) is 404.
pub(crate) async fn load_contact(state: &AppState, user: &CurrentUser, id: &str) -> Result<ContactRecord, AppError> {
    let record = match id.parse::<ContactId>() {
        Ok(cid) => state.store.contact(cid).await?,
        Err(_) => None,
    };
    let resource = record.as_ref().map(|c| Resource::Contact { owner_agency: c.owner_agency });
    authorize_record(state, user, Action::ViewContact, "contact", id, resource).await?;
    record.ok_or(AppError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ContactView), (status = 404, description = "no such contact, or not yours to see")), security(("bearer" = [])))]
pub(crate) async fn contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Json<ContactView>, AppError> {
    let c = load_contact(&state, &user, &id).await?;
    let indicators = state.store.contact_screening(c.id).await?.unwrap_or_default();
    Ok(Json(ContactView::new(&c, indicators)))
}

pub(crate) struct Chronology {
    pub child: frontdoor_store::ChildRecord,
    pub scope: Scope,
    pub entries: Vec<ChronologyEntry>,
    pub more_held_elsewhere: bool,
}

/// A child's chronology as this user may see it (logged in the access log).
pub(crate) async fn load_chronology(state: &AppState, user: &CurrentUser, id: &str) -> Result<Chronology, AppError> {
    let child = match id.parse::<ChildId>() {
        Ok(cid) => state.store.child(cid).await?,
        Err(_) => None,
    };
    let resource = match &child {
        Some(c) => Some(Resource::Child { contributing_agencies: state.store.child_agencies(c.id).await? }),
        None => None,
    };
    let decision = authorize_record(state, user, Action::ViewChronology, "child", id, resource).await?;
    let child = child.ok_or(AppError::NotFound)?;
    let all = state.store.chronology(child.id).await?;
    let total = all.len();
    let entries: Vec<_> = match decision.scope {
        Scope::All => all,
        Scope::OwnAgency => all.into_iter().filter(|e| e.agency_id == Some(user.actor.agency_id)).collect(),
    };
    let more_held_elsewhere = entries.len() < total;
    Ok(Chronology { child, scope: decision.scope, entries, more_held_elsewhere })
}

pub(crate) fn chronology_item(e: &ChronologyEntry) -> ChronologyItem {
    ChronologyItem {
        seq: e.seq,
        occurred_at: e.occurred_at,
        recorded_at: e.recorded_at,
        kind: e.event.kind().to_owned(),
        summary: e.event.summary(),
        agency: e.agency_name.clone(),
        recorded_by: e.actor_username.clone(),
        contact_id: match &e.event {
            frontdoor_core::Event::ContactReceived { contact_id, .. } => Some(contact_id.to_string()),
            _ => None,
        },
    }
}

#[utoipa::path(get, path = "/api/v1/children/{id}/chronology", params(("id" = String, Path)),
    responses((status = 200, body = ChronologyView), (status = 404, description = "no such child, or not yours to see")), security(("bearer" = [])))]
pub(crate) async fn chronology(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Json<ChronologyView>, AppError> {
    let c = load_chronology(&state, &user, &id).await?;
    Ok(Json(ChronologyView {
        child: ChildView {
            id: c.child.id.to_string(),
            given_name: c.child.given_name.clone(),
            family_name: c.child.family_name.clone(),
            date_of_birth: c.child.date_of_birth.clone(),
            sex: c.child.sex.clone(),
            postcode: c.child.postcode.clone(),
        },
        scope: match c.scope {
            Scope::All => "all".into(),
            Scope::OwnAgency => "own_agency".into(),
        },
        entries: c.entries.iter().map(chronology_item).collect(),
        more_held_elsewhere: c.more_held_elsewhere,
    }))
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<UserView>)), security(("bearer" = [])))]
pub(crate) async fn users(State(state): State<AppState>) -> Result<Json<Vec<UserView>>, AppError> {
    Ok(Json(
        state
            .store
            .users()
            .await?
            .into_iter()
            .map(|u| UserView {
                id: u.id.to_string(),
                username: u.username,
                display_name: u.display_name,
                agency: u.agency.name,
                roles: u.roles.iter().map(|r| r.to_string()).collect(),
                disabled: u.disabled,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, body = VerifyView)), security(("bearer" = [])))]
pub(crate) async fn audit_verify(State(state): State<AppState>) -> Result<Json<VerifyView>, AppError> {
    let r = state.store.verify_chains().await?;
    Ok(Json(VerifyView {
        intact: r.intact(),
        events: r.events,
        access_entries: r.access_entries,
        breaks: r.breaks.iter().map(|b| b.to_string()).collect(),
    }))
}

/// Counts below this are suppressed in aggregate figures.
pub(crate) const SUPPRESS_BELOW: i64 = 5;

pub(crate) async fn stats(state: &AppState) -> Result<StatsView, AppError> {
    let s = state.store.contact_stats().await?;
    let count = |key: String, label: String, n: i64| {
        let suppressed = n > 0 && n < SUPPRESS_BELOW;
        CountView { key, label, count: (!suppressed).then_some(n), suppressed }
    };
    let by_source = s
        .by_source
        .into_iter()
        .map(|(code, n)| {
            let label = SourceCode::parse(&code).map(|c| c.label()).unwrap_or("").to_owned();
            count(code, label, n)
        })
        .collect();
    let mut months = std::collections::BTreeMap::<String, i64>::new();
    for t in s.received_at {
        *months.entry(format!("{:04}-{:02}", t.year(), t.month())).or_default() += 1;
    }
    let by_month = months.into_iter().map(|(m, n)| count(m.clone(), m, n)).collect();
    Ok(StatsView { contacts: s.contacts, children: s.children, by_source, by_month })
}

#[utoipa::path(get, path = "/api/v1/stats/contacts", responses((status = 200, body = StatsView)), security(("bearer" = [])))]
pub(crate) async fn contact_stats(State(state): State<AppState>) -> Result<Json<StatsView>, AppError> {
    Ok(Json(stats(&state).await?))
}
