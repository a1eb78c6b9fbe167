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
use frontdoor_core::contact::{ChildDraft, ContactDraft, ReporterDraft};
use frontdoor_core::policy::Scope;
use frontdoor_core::{Action, ChildId, ContactId, Event, IndicatorMention, Resource, SourceCode};
use frontdoor_store::{AlertRecord, ChronologyEntry, ContactRecord, DecisionRecord, WorklistItem};
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
    /// The protocol followed (see `GET /api/v1/protocols`); `general_advice` when absent.
    pub call_type: Option<String>,
    /// Answers to the protocol's questions, keyed by question id.
    #[schema(value_type = Option<Object>)]
    pub answers: Option<serde_json::Value>,
    /// The reporter asked not to be identified; then `reporter` must be absent.
    #[serde(default)]
    pub anonymous: bool,
    pub reporter: Option<ReporterRequest>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterRequest {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub relationship: String,
    #[serde(default)]
    pub phone: String,
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
            call_type: r.call_type,
            answers: r.answers,
            anonymous: r.anonymous,
            reporter: r.reporter.map(|p| ReporterDraft { name: p.name, relationship: p.relationship, phone: p.phone }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactCreated {
    pub id: String,
    pub reference: String,
    pub child_id: String,
    pub level_of_need: u8,
    /// Alert kinds this contact raised.
    pub alerts: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertView {
    pub id: String,
    /// repeat_contacts, missing_episode, repeat_missing, school_absence, sexual_health,
    /// protection_flag, known_association, threshold_reached, decision_overdue,
    /// police_notification, return_interview
    pub kind: String,
    /// open, acknowledged, actioned, dismissed
    pub state: String,
    pub urgent: bool,
    /// The team that owns it (a role).
    pub owner_role: String,
    pub escalated: bool,
    pub raised_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub reason: String,
    pub contact_id: Option<String>,
    pub child_id: String,
    /// The note or reason it was actioned or dismissed with.
    pub resolution: Option<String>,
    /// The user id of the one person in the owning team it is addressed to, if any.
    pub for_user: Option<String>,
}

impl From<&AlertRecord> for AlertView {
    fn from(a: &AlertRecord) -> Self {
        AlertView {
            id: a.id.to_string(),
            kind: a.kind.clone(),
            state: a.state.as_str().to_owned(),
            urgent: a.urgent,
            owner_role: a.owner_role.clone(),
            escalated: a.escalated,
            raised_at: a.raised_at,
            due_at: a.due_at,
            reason: a.reason.clone(),
            contact_id: a.contact_id.map(|c| c.to_string()),
            child_id: a.child_id.to_string(),
            resolution: a.resolution.clone(),
            for_user: a.for_user.map(|u| u.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    /// no_further_action, information_and_advice, early_help, referral_to_csc, cse_pathway,
    /// multi_agency_enquiry
    pub outcome: String,
    pub label: String,
    pub reasons: String,
    pub decided_by: Option<String>,
    pub decided_at: DateTime<Utc>,
}

impl From<DecisionRecord> for DecisionView {
    fn from(d: DecisionRecord) -> Self {
        DecisionView {
            outcome: d.outcome.as_str().to_owned(),
            label: d.outcome.label().to_owned(),
            reasons: d.reasons,
            decided_by: d.decided_by,
            decided_at: d.decided_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub outcome: String,
    pub reasons: String,
}

/// Move a contact to another record of the same child.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The child's record to move the contact to (an id the record check lists).
    pub to_child: String,
    /// Why they are the same child: kept on both records.
    pub reason: String,
}

/// Where a contact now is.
#[derive(Serialize, ToSchema)]
pub struct MoveView {
    pub contact_id: String,
    pub from_child: String,
    pub child_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertUpdateRequest {
    /// acknowledge, action or dismiss
    pub action: String,
    /// What was done (action) or why not (dismiss).
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagRequest {
    /// child_protection_plan, looked_after, open_case, open_cse_case, flagged_association
    pub flag: String,
    /// true to set, false to clear
    pub set: bool,
    /// Where it comes from (plan, case or system reference); required to set.
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct FlagView {
    pub flag: String,
    pub label: String,
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct WorklistEntry {
    pub contact_id: String,
    pub reference: String,
    pub child_id: String,
    pub child_name: String,
    pub received_at: DateTime<Utc>,
    pub call_type: String,
    pub level_of_need: u8,
    pub manager_decision: bool,
    pub decision_due: DateTime<Utc>,
    pub overdue: bool,
    pub open_case: bool,
    pub open_alerts: i64,
    pub urgent_alerts: i64,
    pub prior_contacts: i64,
}

impl WorklistEntry {
    pub(crate) fn new(w: &WorklistItem, now: DateTime<Utc>) -> Self {
        WorklistEntry {
            contact_id: w.contact.id.to_string(),
            reference: w.contact.reference.clone(),
            child_id: w.contact.child_id.to_string(),
            child_name: format!("{} {}", w.given_name, w.family_name),
            received_at: w.contact.received_at,
            call_type: w.call_type.clone(),
            level_of_need: w.level_of_need,
            manager_decision: w.manager_decision,
            decision_due: w.decision_due,
            overdue: w.decision_due < now,
            open_case: w.open_case,
            open_alerts: w.open_alerts,
            urgent_alerts: w.urgent_alerts,
            prior_contacts: w.prior_contacts,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct QuestionView {
    pub id: String,
    pub text: String,
    /// yes_no, choice, multi_choice, number, date, text
    #[serde(rename = "type")]
    pub kind: String,
    pub options: Vec<String>,
    pub required: bool,
    pub help: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProtocolView {
    /// The `call_type` of a contact.
    pub id: String,
    pub title: String,
    pub description: String,
    pub questions: Vec<QuestionView>,
}

impl From<&frontdoor_screen::protocol::Protocol> for ProtocolView {
    fn from(p: &frontdoor_screen::protocol::Protocol) -> Self {
        use frontdoor_screen::protocol::QuestionKind;
        ProtocolView {
            id: p.id().to_owned(),
            title: p.title().to_owned(),
            description: p.description().to_owned(),
            questions: p
                .questions()
                .iter()
                .map(|q| QuestionView {
                    id: q.id.clone(),
                    text: q.text.clone(),
                    kind: q.kind.name().to_owned(),
                    options: match &q.kind {
                        QuestionKind::Choice { options } | QuestionKind::MultiChoice { options } => options.clone(),
                        _ => Vec::new(),
                    },
                    required: q.required,
                    help: q.help.clone(),
                })
                .collect(),
        }
    }
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
    /// The protocol followed.
    pub call_type: Option<String>,
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// 1 universal, 2 early help, 3 complex, 4 acute.
    pub level_of_need: u8,
    /// Indicator groups the protocol's rules added.
    pub indicators_added: Vec<String>,
    pub manager_decision: bool,
    /// One line per rule that fired.
    pub explanation: Vec<String>,
    pub alerts: Vec<AlertView>,
    pub decision_due: Option<DateTime<Utc>>,
    pub decision: Option<DecisionView>,
    /// About a child with an open case: recorded on that case, not counted as a referral.
    pub open_case: bool,
    pub anonymous: bool,
    /// Absent for anonymous contacts, which never hold the reporter's identity.
    pub reporter: Option<ReporterRequest>,
    /// Flags on the child's record (child-protection plan, looked after, ...).
    pub child_flags: Vec<FlagView>,
    /// Raised anonymously online with a follow-up code: the sender can read `status_message`
    /// and add information (`additions`).
    pub follow_up: bool,
    pub status_message: Option<String>,
    /// What the anonymous sender added later, oldest first.
    pub additions: Vec<AdditionView>,
    /// Set when the matcher (F5) found the child under other details than this contact gave.
    pub child_match: Option<ChildMatchView>,
}

/// How the matcher found a contact's child among those already recorded: how sure it was, and
/// the child as this contact named them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildMatchView {
    pub probability: f64,
    /// Joined by the exact details of this record, whose contacts a person moved to the child's.
    pub moved_from: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub postcode: Option<String>,
}

impl From<frontdoor_core::ChildMatch> for ChildMatchView {
    fn from(m: frontdoor_core::ChildMatch) -> Self {
        let c = m.named;
        ChildMatchView {
            probability: f64::from(m.probability_ppm) / 1e6,
            moved_from: m.moved_from.map(|c| c.to_string()),
            given_name: c.given_name.as_str().to_owned(),
            family_name: c.family_name.as_str().to_owned(),
            date_of_birth: c.date_of_birth.map(|d| d.to_string()),
            sex: c.sex.map(|s| s.as_str().to_owned()),
            postcode: c.postcode.map(|p| p.as_str().to_owned()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AdditionView {
    pub text: String,
    pub added_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusMessageRequest {
    /// What the anonymous sender reads with their code (at most 500 characters).
    pub message: String,
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
    /// Everything the contact page and the API show about one contact (the caller has checked
    /// the user may see it).
    /// The contact as `viewer` (already allowed to read it) sees it.
    pub(crate) async fn load(state: &AppState, viewer: &CurrentUser, c: &ContactRecord) -> Result<Self, AppError> {
        let mut view = ContactView::new(c, Vec::new());
        for event in state.store.contact_events(c.id).await? {
            match event {
                Event::ContactReceived { anonymous, reporter, child_match, .. } => {
                    view.child_match = child_match.map(ChildMatchView::from);
                    view.anonymous = anonymous;
                    view.reporter = reporter.map(|r| ReporterRequest {
                        name: r.name,
                        relationship: r.relationship,
                        phone: r.phone,
                    });
                }
                Event::ContactScreened { indicators, .. } => {
                    view.indicators = indicators.into_iter().map(IndicatorView::from).collect();
                }
                // How intake found the child described the record the contact has left.
                Event::ContactMoved { .. } => view.child_match = None,
                Event::ContactAssessed {
                    call_type,
                    answers,
                    level_of_need,
                    indicators_added,
                    manager_decision,
                    explanation,
                    decision_due,
                    open_case,
                    ..
                } => {
                    view.call_type = Some(call_type);
                    view.answers = answers;
                    view.level_of_need = level_of_need;
                    view.indicators_added = indicators_added;
                    view.manager_decision = manager_decision;
                    view.explanation = explanation;
                    view.decision_due = Some(decision_due);
                    view.open_case = open_case;
                }
                _ => {}
            }
        }
        view.alerts = state.store.alerts_for_contact(c.id).await?.iter().map(AlertView::from).collect();
        view.decision = state.store.decision(c.id).await?.map(DecisionView::from);
        view.child_flags = flag_views(state, viewer, c.child_id).await?;
        if let Some(f) = state.store.follow_up_of(c.id).await? {
            view.follow_up = true;
            view.status_message = f.status_message;
        }
        view.additions = state
            .store
            .contact_additions(c.id)
            .await?
            .into_iter()
            .map(|(text, added_at)| AdditionView { text, added_at })
            .collect();
        Ok(view)
    }

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
            call_type: None,
            answers: serde_json::json!({}),
            level_of_need: 1,
            indicators_added: Vec::new(),
            manager_decision: false,
            explanation: Vec::new(),
            alerts: Vec::new(),
            decision_due: None,
            decision: None,
            open_case: false,
            anonymous: false,
            reporter: None,
            child_flags: Vec::new(),
            follow_up: false,
            status_message: None,
            additions: Vec::new(),
            child_match: None,
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
    /// The child was recorded twice: every contact on this record moved to that child's record.
    pub moved_to: Option<String>,
}

impl From<&frontdoor_store::ChildRecord> for ChildView {
    fn from(c: &frontdoor_store::ChildRecord) -> Self {
        ChildView {
            id: c.id.to_string(),
            given_name: c.given_name.clone(),
            family_name: c.family_name.clone(),
            date_of_birth: c.date_of_birth.clone(),
            sex: c.sex.clone(),
            postcode: c.postcode.clone(),
            moved_to: c.moved_to.map(|m| m.to_string()),
        }
    }
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
    /// Decisions by outcome. Contacts about a child with an open case are recorded on the case
    /// and are not counted here (Rec 24): `referral_to_csc` is the referral count.
    pub by_decision: Vec<CountView>,
    /// Contacts about children with an open case (not referrals).
    pub open_case_contacts: Option<i64>,
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
        Json(ContactCreated {
            id: recorded.contact_id.to_string(),
            reference: recorded.reference,
            child_id: recorded.child_id.to_string(),
            level_of_need: recorded.level_of_need,
            alerts: recorded.alerts,
        }),
    )
        .into_response())
}

/// Load a contact the user may see; anything else (missing, malformed id, not theirs) is 404.
pub(crate) async fn load_contact(state: &AppState, user: &CurrentUser, id: &str) -> Result<ContactRecord, AppError> {
    contact_for(state, user, Action::ViewContact, id).await
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ContactView), (status = 404, description = "no such contact, or not yours to see")), security(("bearer" = [])))]
pub(crate) async fn contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Json<ContactView>, AppError> {
    let c = load_contact(&state, &user, &id).await?;
    Ok(Json(ContactView::load(&state, &user, &c).await?))
}

/// Which chronology entries to show: `type` (`contact`, `alert`, `child`, `enquiry`, `cse`,
/// `action`: the start of the entry's kind) and `agency` (an agency id). Empty: all.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct ChronologyFilter {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub agency: String,
}

/// The kinds of entry a chronology can be filtered to, with their labels.
pub(crate) const ENTRY_TYPES: [(&str, &str); 6] = [
    ("contact", "Contacts, assessments and decisions"),
    ("alert", "Alerts"),
    ("child", "Flags and the child's record"),
    ("enquiry", "Multi-agency enquiries"),
    ("cse", "CSE pathway"),
    ("action", "Actions"),
];

impl ChronologyFilter {
    pub fn keeps(&self, e: &ChronologyEntry) -> bool {
        let kind = self.kind.trim();
        let agency = self.agency.trim();
        (kind.is_empty() || e.event.kind().starts_with(kind))
            && (agency.is_empty() || e.agency_id.is_some_and(|a| a.to_string() == agency))
    }
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
    let entries = crate::enquiries::visible_in_chronology(state, user, entries).await?;
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
            frontdoor_core::Event::ContactReceived { contact_id, .. }
            | frontdoor_core::Event::ContactMoved { contact_id, .. } => Some(contact_id.to_string()),
            _ => None,
        },
    }
}

#[utoipa::path(get, path = "/api/v1/children/{id}/chronology", params(("id" = String, Path), ("type" = Option<String>, Query, description = "contact, alert, child, enquiry, cse or action"), ("agency" = Option<String>, Query, description = "an agency id")),
    responses((status = 200, body = ChronologyView), (status = 404, description = "no such child, or not yours to see")), security(("bearer" = [])))]
pub(crate) async fn chronology(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    axum::extract::Query(filter): axum::extract::Query<ChronologyFilter>,
) -> Result<Json<ChronologyView>, AppError> {
    let mut c = load_chronology(&state, &user, &id).await?;
    c.entries.retain(|e| filter.keeps(e));
    Ok(Json(ChronologyView {
        child: ChildView::from(&c.child),
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
    let by_decision = s
        .decisions
        .into_iter()
        .map(|(o, n)| {
            let label = frontdoor_core::DecisionOutcome::parse(&o).map(|d| d.label()).unwrap_or("").to_owned();
            count(o, label, n)
        })
        .collect();
    let open = count(String::new(), String::new(), s.open_case_contacts);
    Ok(StatsView {
        contacts: s.contacts,
        children: s.children,
        by_source,
        by_month,
        by_decision,
        open_case_contacts: open.count,
    })
}

#[utoipa::path(get, path = "/api/v1/stats/contacts", responses((status = 200, body = StatsView)), security(("bearer" = [])))]
pub(crate) async fn contact_stats(State(state): State<AppState>) -> Result<Json<StatsView>, AppError> {
    Ok(Json(stats(&state).await?))
}

// ---- triage: protocols, worklist, decisions, alerts, flags --------------------------------------

#[utoipa::path(get, path = "/api/v1/protocols", responses((status = 200, body = Vec<ProtocolView>)), security(("bearer" = [])))]
pub(crate) async fn protocols(State(state): State<AppState>) -> Json<Vec<ProtocolView>> {
    Json(state.screening.protocols().iter().map(ProtocolView::from).collect())
}

/// The worklist (logged: it shows children's names).
pub(crate) async fn load_worklist(state: &AppState, user: &CurrentUser) -> Result<Vec<WorklistItem>, AppError> {
    let items = state.store.worklist(200).await?;
    authorize_record(
        state,
        user,
        Action::ViewWorklist,
        "worklist",
        &format!("{} contacts", items.len()),
        Some(Resource::Service),
    )
    .await?;
    Ok(items)
}

#[utoipa::path(get, path = "/api/v1/worklist", responses((status = 200, body = Vec<WorklistEntry>, description = "contacts awaiting a decision, most urgent first")), security(("bearer" = [])))]
pub(crate) async fn worklist(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Json<Vec<WorklistEntry>>, AppError> {
    let now = Utc::now();
    Ok(Json(load_worklist(&state, &user).await?.iter().map(|w| WorklistEntry::new(w, now)).collect()))
}

/// Authorise an action on a contact (read, decide), answering 404 for anything not the user's.
pub(crate) async fn contact_for(
    state: &AppState,
    user: &CurrentUser,
    action: Action,
    id: &str,
) -> Result<ContactRecord, AppError> {
    let record = match id.parse::<ContactId>() {
        Ok(cid) => state.store.contact(cid).await?,
        Err(_) => None,
    };
    let resource = record.as_ref().map(|c| Resource::Contact { owner_agency: c.owner_agency });
    authorize_record(state, user, action, "contact", id, resource).await?;
    record.ok_or(AppError::NotFound)
}

#[utoipa::path(post, path = "/api/v1/contacts/{id}/decision", params(("id" = String, Path)), request_body = DecisionRequest,
    responses((status = 201, body = DecisionView), (status = 404, description = "no such contact"), (status = 409, description = "already decided"),
              (status = 422, description = "bad outcome or missing reasons")), security(("bearer" = [])))]
pub(crate) async fn decide(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> Result<Response, AppError> {
    let c = contact_for(&state, &user, Action::DecideContact, &id).await?;
    crate::intake::decide_contact(&state.store, &user.actor, c.id, &body.outcome, &body.reasons, Utc::now()).await?;
    let view = state.store.decision(c.id).await?.map(DecisionView::from).ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(get, path = "/api/v1/alerts", responses((status = 200, body = Vec<AlertView>, description = "open and acknowledged alerts, urgent first")), security(("bearer" = [])))]
pub(crate) async fn alerts(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Json<Vec<AlertView>>, AppError> {
    Ok(Json(load_alerts(&state, &user).await?.iter().map(AlertView::from).collect()))
}

/// Every unresolved alert, urgent first (logged: the list leads to children's records).
pub(crate) async fn load_alerts(state: &AppState, user: &CurrentUser) -> Result<Vec<AlertRecord>, AppError> {
    let alerts = state.store.unresolved_alerts(500).await?;
    let what = format!("{} alerts", alerts.len());
    authorize_record(state, user, Action::ViewWorklist, "alerts", &what, Some(Resource::Service)).await?;
    Ok(alerts)
}

/// The flags on a child's record, as the pages and the API show them to `viewer`. Flags
/// (child-protection plan, open CSE case, sexual-health markers...) are children's services'
/// record of the child as a whole: only a viewer who reads the whole chronology sees them; a
/// partner agency that sees only its own contributions sees none (the page says more is held).
pub(crate) async fn flag_views(
    state: &AppState,
    viewer: &CurrentUser,
    child: ChildId,
) -> Result<Vec<FlagView>, AppError> {
    let resource = Resource::Child { contributing_agencies: state.store.child_agencies(child).await? };
    let d = frontdoor_core::policy::decide(
        &viewer.actor,
        Action::ViewChronology,
        &resource,
        purpose_for(viewer, Action::ViewChronology),
    );
    if !d.allowed || d.scope != frontdoor_core::policy::Scope::All {
        return Ok(Vec::new());
    }
    Ok(state
        .store
        .child_flags(child)
        .await?
        .into_iter()
        .map(|(f, note)| FlagView { flag: f.as_str().to_owned(), label: f.label().to_owned(), note })
        .collect())
}

/// Authorise work on an alert (through its child), answering 404 for anything not the user's.
pub(crate) async fn alert_for(state: &AppState, user: &CurrentUser, id: &str) -> Result<AlertRecord, AppError> {
    let alert = match id.parse::<frontdoor_core::AlertId>() {
        Ok(aid) => state.store.alert(aid).await?,
        Err(_) => None,
    };
    let resource = match &alert {
        Some(a) => Some(Resource::Child { contributing_agencies: state.store.child_agencies(a.child_id).await? }),
        None => None,
    };
    authorize_record(state, user, Action::ManageAlerts, "alert", id, resource).await?;
    alert.ok_or(AppError::NotFound)
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}", params(("id" = String, Path)), request_body = AlertUpdateRequest,
    responses((status = 200, body = AlertView), (status = 404, description = "no such alert"), (status = 409, description = "already moved on"),
              (status = 422, description = "unknown action, or a missing note")), security(("bearer" = [])))]
pub(crate) async fn update_alert(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AlertUpdateRequest>,
) -> Result<Json<AlertView>, AppError> {
    let alert = alert_for(&state, &user, &id).await?;
    let action = crate::intake::AlertAction::parse(&body.action, &body.note)?;
    crate::intake::update_alert(&state.store, &user.actor, &alert, action, Utc::now()).await?;
    let alert = state.store.alert(alert.id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(AlertView::from(&alert)))
}

/// Authorise flagging a child, answering 404 for anything not the user's.
pub(crate) async fn child_for(
    state: &AppState,
    user: &CurrentUser,
    action: Action,
    id: &str,
) -> Result<frontdoor_store::ChildRecord, AppError> {
    let child = match id.parse::<ChildId>() {
        Ok(cid) => state.store.child(cid).await?,
        Err(_) => None,
    };
    let resource = match &child {
        Some(c) => Some(Resource::Child { contributing_agencies: state.store.child_agencies(c.id).await? }),
        None => None,
    };
    authorize_record(state, user, action, "child", id, resource).await?;
    child.ok_or(AppError::NotFound)
}

#[utoipa::path(post, path = "/api/v1/children/{id}/flags", params(("id" = String, Path)), request_body = FlagRequest,
    responses((status = 200, body = Vec<FlagView>, description = "the child's flags now"), (status = 404, description = "no such child"),
              (status = 422, description = "unknown flag, or no note")), security(("bearer" = [])))]
pub(crate) async fn flag_child(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FlagRequest>,
) -> Result<Json<Vec<FlagView>>, AppError> {
    let child = child_for(&state, &user, Action::FlagChild, &id).await?;
    crate::intake::flag_child(&state.store, &user.actor, child.id, &body.flag, body.set, &body.note, Utc::now())
        .await?;
    Ok(Json(flag_views(&state, &user, child.id).await?))
}

#[utoipa::path(post, path = "/api/v1/contacts/{id}/move", params(("id" = String, Path)), request_body = MoveRequest,
    responses((status = 200, body = MoveView), (status = 404, description = "no such contact, or not the caller's"),
              (status = 409, description = "the contact opened a CSE case, or was moved meanwhile"),
              (status = 422, description = "no such child, the same child, or no reason, each named")), security(("bearer" = [])))]
pub(crate) async fn move_contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveRequest>,
) -> Result<Json<MoveView>, AppError> {
    let c = contact_for(&state, &user, Action::MoveContact, &id).await?;
    let to = crate::intake::move_contact(
        &state.store,
        &state.screening.cfg,
        &user.actor,
        c.id,
        &body.to_child,
        &body.reason,
        Utc::now(),
    )
    .await
    .map_err(|e| match e {
        // The form's field is `move_reason`; the request's is `reason`.
        crate::service::ServiceError::Invalid(mut errors) => {
            for e in errors.iter_mut().filter(|e| e.field == "move_reason") {
                e.field = "reason".into();
            }
            crate::service::ServiceError::Invalid(errors)
        }
        other => other,
    })?;
    Ok(Json(MoveView { contact_id: c.id.to_string(), from_child: c.child_id.to_string(), child_id: to.to_string() }))
}

#[utoipa::path(post, path = "/api/v1/contacts/{id}/status-message", params(("id" = String, Path)), request_body = StatusMessageRequest,
    responses((status = 204, description = "left for the sender"), (status = 404, description = "no such contact, or not the caller's"),
              (status = 409, description = "not raised anonymously online"), (status = 422, description = "empty or too long")), security(("bearer" = [])))]
pub(crate) async fn status_message(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusMessageRequest>,
) -> Result<StatusCode, AppError> {
    let c = contact_for(&state, &user, Action::DecideContact, &id).await?;
    crate::intake::leave_status_message(&state.store, &user.actor, c.id, &body.message, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What recording a child's settings sent.
#[derive(Serialize, ToSchema)]
pub struct SettingsRecorded {
    /// The transition notices sent in the same commit (a school or college told of a move).
    pub notifications: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/children/{id}/settings", params(("id" = String, Path)), request_body = crate::cse::SettingsInput,
    responses((status = 200, body = SettingsRecorded), (status = 404, description = "no such child, or not the caller's"),
              (status = 422, description = "an agency of the wrong kind, or none given, each named")), security(("bearer" = [])))]
pub(crate) async fn record_settings(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<crate::cse::SettingsInput>,
) -> Result<Json<SettingsRecorded>, AppError> {
    let child = child_for(&state, &user, Action::FlagChild, &id).await?;
    let sent = crate::cse::record_settings(&state.store, &user.actor, &child, &body, Utc::now()).await?;
    Ok(Json(SettingsRecorded { notifications: sent.iter().map(ToString::to_string).collect() }))
}

// ---- machine feeds ------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct FeedContact {
    /// The line of the file the row started on.
    pub line: usize,
    pub id: String,
    pub reference: String,
    pub level_of_need: u8,
    pub alerts: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FeedImported {
    pub kind: String,
    pub imported: usize,
    pub contacts: Vec<FeedContact>,
}

fn feed_contacts(written: Vec<(usize, service::RecordedContact)>) -> Vec<FeedContact> {
    written
        .into_iter()
        .map(|(line, r)| FeedContact {
            line,
            id: r.contact_id.to_string(),
            reference: r.reference,
            level_of_need: r.level_of_need,
            alerts: r.alerts,
        })
        .collect()
}

/// A feed rejection as a field error: `line 3, column date_of_birth`.
pub(crate) fn rejection_fields(
    rejections: Vec<crate::feeds::FeedRejection>,
) -> Vec<frontdoor_core::contact::FieldError> {
    rejections
        .into_iter()
        .map(|r| frontdoor_core::contact::FieldError {
            field: if r.column.is_empty() {
                format!("line {}", r.line)
            } else {
                format!("line {}, column {}", r.line, r.column)
            },
            message: r.message,
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/feeds/{kind}", params(("kind" = String, Path, description = "police_missing, school_absence, helpline or sexual_health")),
    request_body(content = String, content_type = "text/csv", description = "the feed file (docs/feeds.md)"),
    responses((status = 201, body = FeedImported, description = "every row recorded, in file order"),
              (status = 404, description = "no such feed"),
              (status = 422, description = "bad rows: nothing was written; each problem named by line and column"),
              (status = 503, description = "the store failed part-way: the body says which lines were recorded")),
    security(("bearer" = [])))]
pub(crate) async fn import_feed(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(kind): Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Result<Response, AppError> {
    let kind = crate::feeds::FeedKind::parse(&kind).ok_or(AppError::NotFound)?;
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv")));
    if !is_csv {
        return Err(AppError::BadRequest { field: None, message: "send the feed file as text/csv".into() });
    }
    let purpose = purpose_for(&user, Action::ImportFeed);
    match crate::intake::import_feed(&state.store, &state.screening, &user.actor, purpose, kind, &body, Utc::now())
        .await
    {
        Ok(written) => {
            ::metrics::counter!("frontdoor_contacts_recorded_total").increment(written.len() as u64);
            let contacts = feed_contacts(written);
            Ok((
                StatusCode::CREATED,
                Json(FeedImported { kind: kind.as_str().to_owned(), imported: contacts.len(), contacts }),
            )
                .into_response())
        }
        Err(crate::intake::FeedImportError::Rejected(r)) => Err(AppError::Invalid(rejection_fields(r))),
        Err(crate::intake::FeedImportError::Interrupted { written, error }) => {
            tracing::error!(error = %error, recorded = written.len(), "feed import interrupted");
            let contacts = feed_contacts(written);
            let body = serde_json::json!({
                "error": "interrupted",
                "message": format!("the store failed after {} rows; those are recorded; send the remaining rows again", contacts.len()),
                "recorded": contacts,
            });
            Ok((StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response())
        }
    }
}

// ---- the person index: record check, review, source upserts -------------------------------------

#[utoipa::path(get, path = "/api/v1/contacts/{id}/records", params(("id" = String, Path)),
    responses((status = 200, body = crate::records::RecordCheck, description = "what the source systems hold about the contact's child, as far as the caller may see"),
              (status = 404, description = "no such contact, or not yours to see")),
    security(("bearer" = [])))]
pub(crate) async fn contact_records(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Json<crate::records::RecordCheck>, AppError> {
    let c = load_contact(&state, &user, &id).await?;
    let child = state.store.child(c.child_id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(crate::records::check_child(&state, &user, &child).await?))
}

#[utoipa::path(get, path = "/api/v1/links/queue",
    responses((status = 200, body = Vec<crate::records::QueuedLink>, description = "pairs waiting for a person, most probable first")),
    security(("bearer" = [])))]
pub(crate) async fn link_queue(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Json<Vec<crate::records::QueuedLink>>, AppError> {
    Ok(Json(crate::records::queue(&state, &user, 200).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkDecisionRequest {
    pub a: crate::records::RecordRefView,
    pub b: crate::records::RecordRefView,
    /// true: the same person; false: two people.
    pub same: bool,
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkUndoRequest {
    pub a: crate::records::RecordRefView,
    pub b: crate::records::RecordRefView,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/links/decision", request_body = LinkDecisionRequest,
    responses((status = 201, description = "recorded; it wins over the matcher"), (status = 422, description = "a field is wrong")),
    security(("bearer" = [])))]
pub(crate) async fn link_decision(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<LinkDecisionRequest>,
) -> Result<StatusCode, AppError> {
    crate::records::decide_link(&state, &user, body.a, body.b, body.same, &body.reason).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(post, path = "/api/v1/links/undo", request_body = LinkUndoRequest,
    responses((status = 201, description = "the decision is withdrawn"), (status = 409, description = "nobody has decided on the pair")),
    security(("bearer" = [])))]
pub(crate) async fn link_undo(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<LinkUndoRequest>,
) -> Result<StatusCode, AppError> {
    crate::records::undo_link(&state, &user, body.a, body.b, &body.reason).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(put, path = "/api/v1/people/{source}/{record_id}", params(("source" = String, Path), ("record_id" = String, Path)),
    request_body = crate::records::PersonUpsert,
    responses((status = 201, body = crate::records::UpsertResult, description = "a new record"),
              (status = 200, body = crate::records::UpsertResult, description = "updated, or unchanged"),
              (status = 422, description = "a field is wrong: nothing was stored")),
    security(("bearer" = [])))]
pub(crate) async fn upsert_person(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path((source, record_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<crate::records::PersonUpsert>,
) -> Result<Response, AppError> {
    let r = crate::records::upsert(&state, &user, &source, &record_id, body).await?;
    let status = if r.outcome == "created" { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(r)).into_response())
}
