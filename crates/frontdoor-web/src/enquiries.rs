//! Enquiries over HTTP (F6): the loader every page and API route shares — it asks the policy
//! for the enquiry and for each contribution, logs the read, and returns only what the reader
//! may see — and the JSON API under `/api/v1/enquiries` and `/api/v1/agencies`.

use crate::AppState;
use crate::access::{authorize_record, authorize_service};
use crate::api::ApiJson;
use crate::auth::CurrentUser;
use crate::enquiry::{self, ContributionDraft, EnquiryDraft, ReleaseDraft};
use crate::error::AppError;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use frontdoor_core::policy::{Decision, Scope};
use frontdoor_core::{Action, ContributionId, EnquiryId, Resource, decide};
use frontdoor_store::{ChildRecord, ContributionRecord, EnquiryRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An enquiry as one reader may see it.
pub(crate) struct Visible {
    pub enquiry: EnquiryRecord,
    /// The child it is about, if any (an enquiry may be about a suspected perpetrator only).
    pub child: Option<ChildRecord>,
    pub scope: Scope,
    /// Only the contributions this reader may see.
    pub contributions: Vec<ContributionRecord>,
    /// Some contributions are not shown to this reader.
    pub more_held_elsewhere: bool,
}

impl Visible {
    fn may(&self, user: &CurrentUser, action: Action) -> bool {
        self.enquiry.is_open() && allowed(user, action, &Resource::Enquiry(self.enquiry.parties()))
    }
    pub fn can_contribute(&self, user: &CurrentUser) -> bool {
        self.may(user, Action::ContributeToEnquiry)
    }
    pub fn can_lead(&self, user: &CurrentUser) -> bool {
        self.may(user, Action::ConcludeEnquiry)
    }
    pub fn can_amend(&self, user: &CurrentUser, c: &ContributionRecord) -> bool {
        self.enquiry.is_open()
            && allowed(user, Action::AmendEnquiryContribution, &contribution_resource(&self.enquiry, c))
    }
}

fn allowed(user: &CurrentUser, action: Action, resource: &Resource) -> bool {
    decide(&user.actor, action, resource, crate::access::purpose_for(user, action)).allowed
}

fn contribution_resource(e: &EnquiryRecord, c: &ContributionRecord) -> Resource {
    Resource::EnquiryContribution { parties: e.parties(), agency: c.agency_id, released_to: c.released_to() }
}

/// The enquiry `id` if `user` may do `action` to it (logged); 404 for anything else.
pub(crate) async fn authorize(
    state: &AppState,
    user: &CurrentUser,
    action: Action,
    id: &str,
) -> Result<(EnquiryRecord, Decision), AppError> {
    let enquiry = match id.parse::<EnquiryId>() {
        Ok(eid) => state.store.enquiry(eid).await?,
        Err(_) => None,
    };
    let resource = enquiry.as_ref().map(|e| Resource::Enquiry(e.parties()));
    let decision = authorize_record(state, user, action, "enquiry", id, resource).await?;
    Ok((enquiry.ok_or(AppError::NotFound)?, decision))
}

/// Reads an enquiry for `user`: the question for everyone the policy lets in, and each
/// contribution only where `ViewEnquiryContribution` allows it.
pub(crate) async fn load(state: &AppState, user: &CurrentUser, id: &str) -> Result<Visible, AppError> {
    let (enquiry, decision) = authorize(state, user, Action::ViewEnquiry, id).await?;
    let child = match enquiry.child_id {
        Some(c) => Some(state.store.child(c).await?.ok_or(AppError::NotFound)?),
        None => None,
    };
    let all = state.store.enquiry_contributions(enquiry.id).await?;
    let total = all.len();
    let contributions: Vec<_> = all
        .into_iter()
        .filter(|c| allowed(user, Action::ViewEnquiryContribution, &contribution_resource(&enquiry, c)))
        .collect();
    let more_held_elsewhere = contributions.len() < total;
    Ok(Visible { enquiry, child, scope: decision.scope, contributions, more_held_elsewhere })
}

/// A contribution of enquiry `id` that `user` may `action` (the enquiry-level action is checked
/// first and logged); 404 for anything else, including another agency's contribution.
pub(crate) async fn contribution_for(
    state: &AppState,
    user: &CurrentUser,
    enquiry_action: Action,
    contribution_action: Action,
    id: &str,
    cid: &str,
) -> Result<(EnquiryRecord, ContributionRecord), AppError> {
    let (enquiry, _) = authorize(state, user, enquiry_action, id).await?;
    let c = match cid.parse::<ContributionId>() {
        Ok(c) => state.store.enquiry_contribution(c).await?.filter(|c| c.enquiry_id == enquiry.id),
        Err(_) => None,
    };
    let resource = c.as_ref().map(|c| contribution_resource(&enquiry, c));
    authorize_record(state, user, contribution_action, "enquiry_contribution", cid, resource).await?;
    Ok((enquiry, c.ok_or(AppError::NotFound)?))
}

/// Hides the chronology entries `user` may not see by the rule of the record each belongs to
/// (`Event::governed_by`): an enquiry's question and outcome need `ViewEnquiry`, a contribution
/// `ViewEnquiryContribution`, a CSE case's steps `ViewCseCase`, an audit finding `AuditCases`,
/// an action the holding agency or the front-door team, a notice the receiving agency or
/// `ViewCseCase`. The compartments hold in the chronology exactly as on each record's own page.
pub(crate) async fn visible_in_chronology(
    state: &AppState,
    user: &CurrentUser,
    entries: Vec<frontdoor_store::ChronologyEntry>,
) -> Result<Vec<frontdoor_store::ChronologyEntry>, AppError> {
    use frontdoor_core::Governing;
    let mut enquiries: std::collections::HashMap<EnquiryId, Option<EnquiryRecord>> = Default::default();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let visible = match e.event.governed_by() {
            None => true,
            Some(Governing::Contribution(cid)) => match state.store.enquiry_contribution(cid).await? {
                Some(c) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = enquiries.entry(c.enquiry_id) {
                        slot.insert(state.store.enquiry(c.enquiry_id).await?);
                    }
                    match enquiries.get(&c.enquiry_id) {
                        Some(Some(enquiry)) => {
                            allowed(user, Action::ViewEnquiryContribution, &contribution_resource(enquiry, &c))
                        }
                        _ => false,
                    }
                }
                None => false,
            },
            Some(Governing::Enquiry(eid)) => {
                if let std::collections::hash_map::Entry::Vacant(slot) = enquiries.entry(eid) {
                    slot.insert(state.store.enquiry(eid).await?);
                }
                match enquiries.get(&eid) {
                    Some(Some(enquiry)) => allowed(user, Action::ViewEnquiry, &Resource::Enquiry(enquiry.parties())),
                    _ => false,
                }
            }
            Some(Governing::CseCase(case)) => sees_case(state, user, case).await?,
            Some(Governing::Notification { to_agency, case_id }) => {
                to_agency == user.actor.agency_id
                    || match case_id {
                        Some(case) => sees_case(state, user, case).await?,
                        None => false,
                    }
            }
            Some(Governing::Audit) => allowed(user, Action::AuditCases, &Resource::Service),
            Some(Governing::Action(aid)) => match state.store.action_item(aid).await? {
                Some(a) => {
                    let d = decide(
                        &user.actor,
                        Action::ListActions,
                        &Resource::Service,
                        crate::access::purpose_for(user, Action::ListActions),
                    );
                    d.allowed && (d.scope == Scope::All || a.agency_id == user.actor.agency_id)
                }
                None => false,
            },
        };
        if visible {
            out.push(e);
        }
    }
    Ok(out)
}

async fn sees_case(state: &AppState, user: &CurrentUser, case: frontdoor_core::CaseId) -> Result<bool, AppError> {
    Ok(match state.store.cse_case(case).await? {
        Some(c) => allowed(user, Action::ViewCseCase, &Resource::CseCase { worker: c.case.worker }),
        None => false,
    })
}

/// The enquiries a user leads, manages or was asked in (logged: the list names children).
pub(crate) async fn list(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<(EnquiryRecord, Option<ChildRecord>)>, AppError> {
    authorize_service(user, Action::ListEnquiries)?;
    let found = state.store.enquiries_for(user.actor.user_id, user.actor.agency_id, 500).await?;
    let what = format!("{} enquiries", found.len());
    authorize_record(state, user, Action::ListEnquiries, "enquiries", &what, Some(Resource::Service)).await?;
    let mut out = Vec::with_capacity(found.len());
    for e in found {
        let child = match e.child_id {
            Some(c) => state.store.child(c).await?,
            None => None,
        };
        out.push((e, child));
    }
    Ok(out)
}

/// Agency names by id, for showing ids people can read.
pub(crate) async fn agency_names(
    state: &AppState,
) -> Result<std::collections::HashMap<frontdoor_core::AgencyId, String>, AppError> {
    Ok(state.store.agencies().await?.into_iter().map(|a| (a.id, a.name)).collect())
}

// ---- JSON ------------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnquiryRequest {
    /// The child's id (as `child_id` on a contact); may be omitted when `person_of_concern` is given.
    #[serde(default)]
    pub child_id: String,
    /// A suspected perpetrator the enquiry is about.
    #[serde(default)]
    pub person_of_concern: Option<PersonRequest>,
    /// Agency ids (`GET /api/v1/agencies`).
    pub agencies: Vec<String>,
    pub question: String,
    /// User ids of managers who see the whole enquiry besides the lead.
    #[serde(default)]
    pub managers: Vec<String>,
    /// When the agencies should answer: `YYYY-MM-DD` or an RFC 3339 time; default the configured
    /// number of working days.
    #[serde(default)]
    pub due: String,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    pub name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContributionRequest {
    pub text: String,
    /// `YYYY-MM-DD`: when what it reports happened or became known.
    #[serde(default)]
    pub known_on: String,
    /// Where the agency's knowledge comes from; default "the agency's own records".
    #[serde(default)]
    pub source: String,
    /// `confirmed`, `reported` (default) or `unverified`.
    #[serde(default)]
    pub confidence: String,
}

impl From<ContributionRequest> for ContributionDraft {
    fn from(r: ContributionRequest) -> Self {
        ContributionDraft { text: r.text, known_on: r.known_on, source: r.source, confidence: r.confidence }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    pub to_agency: String,
    /// `consent` or `safeguarding_override`.
    pub basis: String,
    pub lawful_basis: String,
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// `no_further_action`, `early_help`, `child_protection` or `cse_pathway`.
    pub outcome: String,
    pub reasons: String,
}

#[derive(Serialize, ToSchema)]
pub struct AgencyView {
    pub id: String,
    pub name: String,
    pub kind: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseView {
    pub to_agency: String,
    pub to_agency_name: String,
    pub basis: String,
    pub lawful_basis: String,
    pub reason: String,
    pub released_by: Option<String>,
    pub released_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ContributionView {
    pub id: String,
    /// The contributing agency's id.
    pub agency: String,
    pub agency_name: String,
    pub text: String,
    pub known_on: Option<String>,
    pub source: String,
    pub confidence: String,
    pub recorded_by: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub amended_at: Option<DateTime<Utc>>,
    /// Releases outside the compartment the reader may know of.
    pub releases: Vec<ReleaseView>,
}

#[derive(Serialize, ToSchema)]
pub struct EnquiryView {
    pub id: String,
    /// The child it is about (none for an enquiry about a suspected perpetrator only).
    pub child_id: Option<String>,
    pub child: Option<crate::api::ChildView>,
    pub person_of_concern: Option<PersonRequest>,
    pub question: String,
    pub lead: String,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
    /// Asked agencies' ids.
    pub agencies: Vec<AgencyView>,
    /// `all` (lead, named managers) or `own_agency`.
    pub scope: String,
    /// `open` or the outcome.
    pub status: String,
    pub outcome: Option<String>,
    pub outcome_reasons: Option<String>,
    /// Only the contributions the caller may see.
    pub contributions: Vec<ContributionView>,
    /// Contributions exist that the caller may not see.
    pub more_held_elsewhere: bool,
}

pub(crate) fn contribution_view(v: &Visible, user: &CurrentUser, c: &ContributionRecord) -> ContributionView {
    let own = v.scope == Scope::All || c.agency_id == user.actor.agency_id;
    ContributionView {
        id: c.id.to_string(),
        agency: c.agency_id.to_string(),
        agency_name: c.agency_name.clone(),
        text: c.contribution.text.clone(),
        known_on: c.contribution.known_on.map(|d| d.to_string()),
        source: c.contribution.source.clone(),
        confidence: c.contribution.confidence.as_str().to_owned(),
        recorded_by: c.recorded_by.clone(),
        recorded_at: c.recorded_at,
        amended_at: c.amended_at,
        releases: c
            .releases
            .iter()
            .filter(|r| own || r.to_agency == user.actor.agency_id)
            .map(|r| ReleaseView {
                to_agency: r.to_agency.to_string(),
                to_agency_name: r.to_agency_name.clone(),
                basis: r.basis.as_str().to_owned(),
                lawful_basis: r.lawful_basis.clone(),
                reason: r.reason.clone(),
                released_by: r.released_by.clone(),
                released_at: r.released_at,
            })
            .collect(),
    }
}

pub(crate) async fn enquiry_view(state: &AppState, user: &CurrentUser, v: &Visible) -> Result<EnquiryView, AppError> {
    let names = agency_names(state).await?;
    let e = &v.enquiry;
    Ok(EnquiryView {
        id: e.id.to_string(),
        child_id: e.child_id.map(|c| c.to_string()),
        child: v.child.as_ref().map(crate::api::ChildView::from),
        person_of_concern: e.person_of_concern.as_ref().map(|p| PersonRequest {
            name: p.name.clone(),
            date_of_birth: p.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            description: p.description.clone(),
        }),
        question: e.question.clone(),
        lead: e.lead_name.clone(),
        opened_at: e.opened_at,
        due_at: e.due_at,
        overdue: e.is_open() && e.due_at < Utc::now(),
        agencies: e
            .agencies
            .iter()
            .map(|a| AgencyView {
                id: a.to_string(),
                name: names.get(a).cloned().unwrap_or_default(),
                kind: String::new(),
            })
            .collect(),
        scope: match v.scope {
            Scope::All => "all".into(),
            Scope::OwnAgency => "own_agency".into(),
        },
        status: e.outcome.map_or("open", |o| o.as_str()).to_owned(),
        outcome: e.outcome.map(|o| o.as_str().to_owned()),
        // The reasons often sum up every agency's answers: only for those who see them all.
        outcome_reasons: e.outcome_reasons.clone().filter(|_| v.scope == Scope::All),
        contributions: v.contributions.iter().map(|c| contribution_view(v, user, c)).collect(),
        more_held_elsewhere: v.more_held_elsewhere,
    })
}

#[utoipa::path(get, path = "/api/v1/agencies", responses((status = 200, body = Vec<AgencyView>)), security(("bearer" = [])))]
pub(crate) async fn agencies(State(state): State<AppState>) -> Result<Json<Vec<AgencyView>>, AppError> {
    Ok(Json(
        state
            .store
            .agencies()
            .await?
            .into_iter()
            .map(|a| AgencyView { id: a.id.to_string(), name: a.name, kind: a.kind.to_string() })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/enquiries", request_body = EnquiryRequest,
    responses((status = 201, body = Created), (status = 403, description = "only a safeguarding lead or CSE manager"),
              (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn open(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<EnquiryRequest>,
) -> Result<Response, AppError> {
    let person = body.person_of_concern.unwrap_or_default();
    let draft = EnquiryDraft {
        child_id: body.child_id,
        person_name: person.name,
        person_date_of_birth: person.date_of_birth,
        person_description: person.description,
        agencies: body.agencies,
        managers: body.managers,
        question: body.question,
        due: body.due,
    };
    let id = enquiry::open_enquiry(&state.store, &user.actor, &draft, state.cfg.enquiry_due_working_days, Utc::now())
        .await?;
    let location = format!("/api/v1/enquiries/{id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(Created { id: id.to_string() })).into_response())
}

#[utoipa::path(get, path = "/api/v1/enquiries", responses((status = 200, body = Vec<EnquiryView>, description = "open first, soonest due first; each with only the contributions the caller may see")), security(("bearer" = [])))]
pub(crate) async fn index(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Json<Vec<EnquiryView>>, AppError> {
    let mut out = Vec::new();
    for (e, _) in list(&state, &user).await? {
        let v = load(&state, &user, &e.id.to_string()).await?;
        out.push(enquiry_view(&state, &user, &v).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/enquiries/{id}", params(("id" = String, Path)),
    responses((status = 200, body = EnquiryView), (status = 404, description = "no such enquiry, or not yours to see")), security(("bearer" = [])))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Json<EnquiryView>, AppError> {
    let v = load(&state, &user, &id).await?;
    Ok(Json(enquiry_view(&state, &user, &v).await?))
}

#[utoipa::path(post, path = "/api/v1/enquiries/{id}/contributions", params(("id" = String, Path)), request_body = ContributionRequest,
    responses((status = 201, body = Created), (status = 404, description = "no such enquiry, or the caller's agency was not asked"),
              (status = 409, description = "the enquiry is concluded"), (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn contribute(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ContributionRequest>,
) -> Result<Response, AppError> {
    let (e, _) = authorize(&state, &user, Action::ContributeToEnquiry, &id).await?;
    let cid = enquiry::contribute(&state.store, &user.actor, &e, &body.into(), Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(Created { id: cid.to_string() })).into_response())
}

#[utoipa::path(put, path = "/api/v1/enquiries/{id}/contributions/{contribution}", params(("id" = String, Path), ("contribution" = String, Path)),
    request_body = ContributionRequest,
    responses((status = 204, description = "corrected"), (status = 404, description = "not the caller's agency's contribution"),
              (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn amend(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path((id, cid)): Path<(String, String)>,
    ApiJson(body): ApiJson<ContributionRequest>,
) -> Result<StatusCode, AppError> {
    let (e, c) =
        contribution_for(&state, &user, Action::ViewEnquiry, Action::AmendEnquiryContribution, &id, &cid).await?;
    enquiry::amend(&state.store, &user.actor, &e, &c, &body.into(), Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/enquiries/{id}/contributions/{contribution}/releases", params(("id" = String, Path), ("contribution" = String, Path)),
    request_body = ReleaseRequest,
    responses((status = 201, description = "released and logged with its lawful basis"), (status = 404, description = "not the enquiry's lead or manager"),
              (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn release(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path((id, cid)): Path<(String, String)>,
    ApiJson(body): ApiJson<ReleaseRequest>,
) -> Result<StatusCode, AppError> {
    let (e, c) =
        contribution_for(&state, &user, Action::ReleaseEnquiryInformation, Action::ViewEnquiryContribution, &id, &cid)
            .await?;
    let draft = ReleaseDraft {
        to_agency: body.to_agency,
        basis: body.basis,
        lawful_basis: body.lawful_basis,
        reason: body.reason,
    };
    enquiry::release(&state.store, &user.actor, &e, &c, &draft, Utc::now()).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(post, path = "/api/v1/enquiries/{id}/outcome", params(("id" = String, Path)), request_body = OutcomeRequest,
    responses((status = 201, description = "concluded"), (status = 404, description = "not the enquiry's lead or manager"),
              (status = 409, description = "already concluded"), (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn conclude(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OutcomeRequest>,
) -> Result<StatusCode, AppError> {
    let (e, _) = authorize(&state, &user, Action::ConcludeEnquiry, &id).await?;
    enquiry::conclude(&state.store, &user.actor, &e, &body.outcome, &body.reasons, Utc::now()).await?;
    Ok(StatusCode::CREATED)
}
