//! The CSE pathway over HTTP (F7, F8): the loaders the pages and the API share (each read
//! decided by the policy and logged), the conversion of a form into a pathway step, and the
//! JSON API under `/api/v1/cse`.

use crate::AppState;
use crate::access::{authorize_record, authorize_service};
use crate::api::ApiJson;
use crate::auth::CurrentUser;
use crate::error::AppError;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::pathway::{
    Allocation, Assessment, Attendance, Deadline, IndicatorScore, PlanAction, RiskLevel, SafetyPlan, Step, StepKind,
};
use frontdoor_core::{Action, AgencyId, CaseId, Resource, Role, UserId, decide};
use frontdoor_screen::lexicon::IndicatorGroup;
use frontdoor_store::{CaseRecord, ChildRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::support::NEEDS;

pub(crate) fn resource(c: &CaseRecord) -> Resource {
    Resource::CseCase { worker: c.case.worker }
}

pub(crate) fn allowed(user: &CurrentUser, action: Action, c: &CaseRecord) -> bool {
    decide(&user.actor, action, &resource(c), crate::access::purpose_for(user, action)).allowed
}

/// The case `id` if `user` may `action` it (logged); 404 for anything else.
pub(crate) async fn case_for(
    state: &AppState,
    user: &CurrentUser,
    action: Action,
    id: &str,
) -> Result<CaseRecord, AppError> {
    let record = match id.parse::<CaseId>() {
        Ok(cid) => state.store.cse_case(cid).await?,
        Err(_) => None,
    };
    authorize_record(state, user, action, "cse_case", id, record.as_ref().map(resource)).await?;
    record.ok_or(AppError::NotFound)
}

/// A case on the board.
#[derive(Serialize, ToSchema)]
pub struct CaseSummary {
    pub id: String,
    pub child_id: String,
    pub child_name: String,
    pub stage: String,
    pub stage_label: String,
    pub level: Option<String>,
    /// `red`, `amber`, `green`, or none before the panel.
    pub rag: Option<String>,
    pub worker: Option<String>,
    pub worker_name: Option<String>,
    pub referred_at: DateTime<Utc>,
    pub closure: Option<String>,
    /// What falls due next, and when.
    pub next_deadline: Option<DeadlineView>,
    pub overdue: bool,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct DeadlineView {
    pub what: String,
    pub label: String,
    pub due: DateTime<Utc>,
    pub overdue: bool,
}

fn deadline_view(d: &Deadline, now: DateTime<Utc>) -> DeadlineView {
    DeadlineView { what: d.what.as_str().into(), label: d.what.label().into(), due: d.due, overdue: d.due < now }
}

pub(crate) fn summary(state: &AppState, c: &CaseRecord, child: &ChildRecord, now: DateTime<Utc>) -> CaseSummary {
    let mut deadlines = c.case.deadlines(&state.cfg.pathway);
    deadlines.sort_by_key(|d| d.due);
    let next = deadlines.first().map(|d| deadline_view(d, now));
    CaseSummary {
        id: c.id.to_string(),
        child_id: c.child_id.to_string(),
        child_name: format!("{} {}", child.given_name, child.family_name),
        stage: c.case.stage.as_str().into(),
        stage_label: c.case.stage.label().into(),
        level: c.case.level.map(|l| l.as_str().into()),
        rag: c.case.level.map(|l| l.rag().as_str().into()),
        worker: c.case.worker.map(|w| w.to_string()),
        worker_name: c.worker_name.clone(),
        referred_at: c.case.referred_at,
        closure: c.case.closure.map(|x| x.as_str().into()),
        overdue: next.as_ref().is_some_and(|d| d.overdue),
        next_deadline: next,
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct BoardQuery {
    #[serde(default)]
    pub child_id: String,
    #[serde(default)]
    pub include_closed: bool,
}

/// The board: overdue first, then by what falls due soonest; closed cases last (logged).
pub(crate) async fn board(state: &AppState, user: &CurrentUser, q: &BoardQuery) -> Result<Vec<CaseSummary>, AppError> {
    authorize_service(user, Action::ViewCseBoard)?;
    let cases = match q.child_id.trim() {
        "" => state.store.cse_cases(q.include_closed, 2_000).await?,
        id => match id.parse() {
            Ok(child) => state.store.cse_cases_of_child(child).await?,
            Err(_) => Vec::new(),
        },
    };
    let what = format!("{} CSE cases", cases.len());
    authorize_record(state, user, Action::ViewCseBoard, "cse_cases", &what, Some(Resource::Service)).await?;
    let now = Utc::now();
    let mut out = Vec::with_capacity(cases.len());
    for c in &cases {
        if let Some(child) = state.store.child(c.child_id).await? {
            out.push(summary(state, c, &child, now));
        }
    }
    out.sort_by_key(|s| (s.closure.is_some(), !s.overdue, s.next_deadline.as_ref().map(|d| d.due)));
    Ok(out)
}

#[derive(Serialize, ToSchema)]
pub struct HistoryItem {
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub kind: String,
    pub summary: String,
}

#[derive(Serialize, ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub reason: String,
    pub contact_id: Option<String>,
    pub enquiry_id: Option<String>,
    pub minimum_level: Option<String>,
    pub deadlines: Vec<DeadlineView>,
    /// The steps the case may take now (`allocate`, `assess`, ...).
    pub possible_steps: Vec<String>,
    pub history: Vec<HistoryItem>,
    /// The services the assessment's needs route to, and what became of each referral.
    pub support: Vec<SupportView>,
    /// Partners told of transitions (F15), newest first.
    pub notifications: Vec<NotificationView>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub child_id: String,
    pub case_id: Option<String>,
    pub to_agency: String,
    pub to_agency_name: String,
    pub transition: String,
    pub lawful_basis: String,
    pub message: String,
    pub sent_by: Option<String>,
    pub sent_at: DateTime<Utc>,
}

impl From<frontdoor_store::NotificationRecord> for NotificationView {
    fn from(n: frontdoor_store::NotificationRecord) -> Self {
        NotificationView {
            id: n.id.to_string(),
            child_id: n.child_id.to_string(),
            case_id: n.case_id.map(|c| c.to_string()),
            to_agency: n.to_agency.to_string(),
            to_agency_name: n.to_agency_name,
            transition: n.transition.as_str().into(),
            lawful_basis: n.lawful_basis,
            message: n.message,
            sent_by: n.sent_by,
            sent_at: n.sent_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SupportView {
    pub service: String,
    pub name: String,
    pub need: String,
    pub contact: String,
    /// The case's risk level or stage is below the service's threshold (or no level is agreed
    /// yet): a referral would be refused.
    pub below_threshold: bool,
    /// Why, when it is.
    pub threshold: Option<String>,
    /// `made`, `accepted`, `declined`, or none yet.
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub recontact_on: Option<NaiveDate>,
}

pub(crate) async fn case_view(state: &AppState, c: &CaseRecord) -> Result<CaseView, AppError> {
    let child = state.store.child(c.child_id).await?.ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let history = state
        .store
        .cse_case_history(c.id)
        .await?
        .into_iter()
        .map(|h| HistoryItem { at: h.at, by: h.by, kind: h.event.kind().into(), summary: h.event.summary() })
        .collect();
    Ok(CaseView {
        summary: summary(state, c, &child, now),
        reason: c.reason.clone(),
        contact_id: c.contact_id.map(|x| x.to_string()),
        enquiry_id: c.enquiry_id.map(|x| x.to_string()),
        minimum_level: c.case.minimum_level.map(|l| l.as_str().into()),
        deadlines: c.case.deadlines(&state.cfg.pathway).iter().map(|d| deadline_view(d, now)).collect(),
        possible_steps: c.case.possible_steps().iter().map(|s| s.as_str().into()).collect(),
        history,
        support: support_views(state, c).await?,
        notifications: state
            .store
            .partner_notifications(None, Some(c.id))
            .await?
            .into_iter()
            .map(NotificationView::from)
            .collect(),
    })
}

/// Tells a partner of a transition as `user` (who must be able to work the case).
pub(crate) async fn notify(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    input: &crate::cse::NotifyInput,
) -> Result<String, AppError> {
    let c = case_for(state, user, Action::ViewCseCase, id).await?;
    authorize_record(state, user, Action::WorkCseCase, "cse_case", id, Some(resource(&c))).await?;
    Ok(crate::cse::notify_partner(&state.store, &user.actor, &c, input, Utc::now()).await?.to_string())
}

/// The notifications the user may read: their agency's, or all for the front-door team (logged).
pub(crate) async fn notifications(state: &AppState, user: &CurrentUser) -> Result<Vec<NotificationView>, AppError> {
    let d = authorize_service(user, Action::ViewNotifications)?;
    let agency = (d.scope == frontdoor_core::policy::Scope::OwnAgency).then_some(user.actor.agency_id);
    let found = state.store.partner_notifications(agency, None).await?;
    let what = format!("{} notifications", found.len());
    authorize_record(state, user, Action::ViewNotifications, "notifications", &what, Some(Resource::Service)).await?;
    Ok(found.into_iter().map(NotificationView::from).collect())
}

#[utoipa::path(post, path = "/api/v1/cse/cases/{id}/notifications", params(("id" = String, Path)), request_body = crate::cse::NotifyInput,
    responses((status = 201, body = crate::enquiries::Created), (status = 404, description = "no such case, or not the caller's to work"),
              (status = 409, description = "the case is closed or not yet allocated"), (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn notify_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<crate::cse::NotifyInput>,
) -> Result<Response, AppError> {
    let nid = notify(&state, &user, &id, &body).await?;
    Ok((StatusCode::CREATED, Json(crate::enquiries::Created { id: nid })).into_response())
}

#[utoipa::path(get, path = "/api/v1/notifications", responses((status = 200, body = Vec<NotificationView>, description = "newest first; an agency reads those sent to it")), security(("bearer" = [])))]
pub(crate) async fn notifications_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Json<Vec<NotificationView>>, AppError> {
    Ok(Json(notifications(&state, &user).await?))
}

/// The directory's proposals for the case's assessed needs, with the referrals recorded (and any
/// recorded for a service no longer proposed).
async fn support_views(state: &AppState, c: &CaseRecord) -> Result<Vec<SupportView>, AppError> {
    let needs = crate::cse::latest_assessment(&state.store, c.id).await?.map(|a| a.needs).unwrap_or_default();
    let recorded = state.store.support_referrals(c.id).await?;
    let mut out: Vec<SupportView> = state
        .support
        .proposals(&needs, c.case.level, c.case.stage)
        .into_iter()
        .map(|p| {
            let r = recorded.iter().find(|r| r.service == p.service.id);
            SupportView {
                service: p.service.id.clone(),
                name: p.service.name.clone(),
                need: p.service.need.clone(),
                contact: p.service.contact.clone(),
                below_threshold: p.threshold_unmet.is_some(),
                threshold: p.threshold_unmet,
                outcome: r.map(|r| r.outcome.as_str().into()),
                note: r.map(|r| r.note.clone()),
                recontact_on: r.and_then(|r| r.recontact_on),
            }
        })
        .collect();
    let proposed: Vec<String> = out.iter().map(|v| v.service.clone()).collect();
    for r in recorded.iter().filter(|r| !proposed.contains(&r.service)) {
        let svc = state.support.service(&r.service);
        out.push(SupportView {
            service: r.service.clone(),
            name: svc.map_or_else(|| r.service.clone(), |s| s.name.clone()),
            need: svc.map(|s| s.need.clone()).unwrap_or_default(),
            contact: svc.map(|s| s.contact.clone()).unwrap_or_default(),
            below_threshold: false,
            threshold: None,
            outcome: Some(r.outcome.as_str().into()),
            note: Some(r.note.clone()),
            recontact_on: r.recontact_on,
        });
    }
    Ok(out)
}

/// Records a support referral's outcome as `user` (who must be able to work the case).
pub(crate) async fn support(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    input: &crate::cse::SupportInput,
) -> Result<Option<NaiveDate>, AppError> {
    let c = case_for(state, user, Action::ViewCseCase, id).await?;
    authorize_record(state, user, Action::WorkCseCase, "cse_case", id, Some(resource(&c))).await?;
    Ok(crate::cse::record_support(&state.store, &user.actor, &c, &state.support, input, Utc::now()).await?)
}

/// Takes a step as `user`: allocation needs `AllocateCseCase`, every other step `WorkCseCase`.
pub(crate) async fn step(state: &AppState, user: &CurrentUser, id: &str, step: Step) -> Result<CaseRecord, AppError> {
    let c = case_for(state, user, Action::ViewCseCase, id).await?;
    let action = if step.kind() == StepKind::Allocate { Action::AllocateCseCase } else { Action::WorkCseCase };
    authorize_record(state, user, action, "cse_case", id, Some(resource(&c))).await?;
    crate::cse::take_step(&state.store, &user.actor, &c, step, &state.cfg.caseload, Utc::now()).await?;
    state.store.cse_case(c.id).await?.ok_or(AppError::NotFound)
}

// ---- caseloads ----------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct WorkerLoad {
    pub worker: String,
    pub name: String,
    pub open_cases: usize,
    /// The weighted caseload.
    pub load: f64,
    pub max: f64,
    /// `fine`, `warn` (within one high-priority case of the maximum) or `breach`.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct OverrideView {
    pub case_id: String,
    pub worker: String,
    pub reason: String,
    pub decided_by: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseloadsView {
    pub workers: Vec<WorkerLoad>,
    /// Allocations over the maximum in the last year, newest first.
    pub breaches: Vec<OverrideView>,
}

/// Every active CSE worker's weighted load.
pub(crate) async fn worker_loads(state: &AppState) -> Result<Vec<WorkerLoad>, AppError> {
    let weights = &state.cfg.caseload;
    let mut out = Vec::new();
    for u in state.store.users().await?.into_iter().filter(|u| !u.disabled && u.roles.contains(&Role::CseWorker)) {
        let cases = state.store.cse_cases_of_worker(u.id).await?;
        let load = weights.load(cases.iter().map(|c| c.case.level));
        let status = if load > weights.max + 1e-9 {
            "breach"
        } else if load > weights.max - 1.0 - 1e-9 {
            "warn"
        } else {
            "fine"
        };
        out.push(WorkerLoad {
            worker: u.id.to_string(),
            name: u.display_name,
            open_cases: cases.len(),
            load,
            max: weights.max,
            status: status.into(),
        });
    }
    out.sort_by(|a, b| b.load.total_cmp(&a.load));
    Ok(out)
}

pub(crate) async fn caseloads(state: &AppState, user: &CurrentUser) -> Result<CaseloadsView, AppError> {
    authorize_service(user, Action::ViewCaseloads)?;
    let since = Utc::now() - chrono::Duration::days(365);
    Ok(CaseloadsView {
        workers: worker_loads(state).await?,
        breaches: state
            .store
            .caseload_overrides(since)
            .await?
            .into_iter()
            .map(|o| OverrideView {
                case_id: o.case_id.to_string(),
                worker: o.worker_name,
                reason: o.reason,
                decided_by: o.decided_by,
                at: o.at,
            })
            .collect(),
    })
}

/// What allocating this case to each worker would mean (shown before anyone allocates).
pub(crate) async fn allocation_preview(
    state: &AppState,
    c: &CaseRecord,
) -> Result<Vec<(WorkerLoad, Allocation)>, AppError> {
    let mut out = Vec::new();
    for w in worker_loads(state).await? {
        let id: UserId = w.worker.parse().map_err(|_| AppError::NotFound)?;
        let load = crate::cse::caseload(&state.store, &state.cfg.caseload, id, Some(c.id)).await?;
        out.push((w, state.cfg.caseload.check(load, c.case.level)));
    }
    Ok(out)
}

// ---- a form as a step -------------------------------------------------------------------------

/// The fields of a step form (repeated names, such as ticked agencies, collect in order).
pub(crate) struct StepForm(pub Vec<(String, String)>);

impl StepForm {
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
    fn ticked(&self, name: &str) -> bool {
        matches!(self.get(name), "1" | "on" | "yes" | "true")
    }

    /// The step the form describes, or every field at fault.
    pub fn step(&self, today: NaiveDate) -> Result<Step, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: &str| {
            errors.push(FieldError { field: field.into(), message: message.into() });
        };
        let level = |name: &str, bad: &mut dyn FnMut(&str, &str)| {
            RiskLevel::parse(self.get(name)).or_else(|| {
                bad(name, &format!("choose one of {}", RiskLevel::expected()));
                None
            })
        };
        let attendance = |bad: &mut dyn FnMut(&str, &str)| -> Vec<Attendance> {
            let mut out = Vec::new();
            for a in self.all("attended") {
                match a.parse::<AgencyId>() {
                    Ok(agency) => out.push(Attendance { agency, attended: true }),
                    Err(_) => bad("attended", "not an agency id"),
                }
            }
            if out.is_empty() {
                bad("attended", "tick the agencies that attended");
            }
            out
        };
        let text = |name: &str| self.get(name).trim().to_owned();
        let step = match StepKind::parse(self.get("step")) {
            None => {
                bad("step", &format!("choose one of {}", StepKind::expected()));
                None
            }
            Some(StepKind::Allocate) => match self.get("worker").parse::<UserId>() {
                Ok(worker) => {
                    let r = text("override_reason");
                    Some(Step::Allocate { worker, override_reason: (!r.is_empty()).then_some(r) })
                }
                Err(_) => {
                    bad("worker", "choose a CSE worker");
                    None
                }
            },
            Some(StepKind::Assess) => {
                let mut indicators = Vec::new();
                for g in IndicatorGroup::ALL {
                    let field = format!("indicator_{}", g.as_str());
                    match self.get(&field) {
                        "" | "0" => {}
                        s => match s.parse::<u8>() {
                            Ok(score @ 1..=3) => indicators.push(IndicatorScore { group: g.as_str().into(), score }),
                            _ => bad(&field, "score from 0 (none) to 3 (high)"),
                        },
                    }
                }
                let needs: Vec<String> = self.all("needs").into_iter().map(str::to_owned).collect();
                if needs.iter().any(|n| !NEEDS.iter().any(|(id, _)| id == n)) {
                    bad("needs", "an unknown support need");
                }
                let proposed = level("proposed_level", &mut bad);
                if text("summary").is_empty() {
                    bad("summary", "summarise the assessment");
                }
                proposed.map(|proposed_level| {
                    Step::Assess(Assessment {
                        indicators,
                        young_person_views: text("young_person_views"),
                        parents_views: text("parents_views"),
                        needs,
                        disclosure: self.ticked("disclosure"),
                        learning_disability: self.ticked("learning_disability"),
                        proposed_level,
                        summary: text("summary"),
                    })
                })
            }
            Some(StepKind::Panel) => {
                let l = level("level", &mut bad);
                let attendance = attendance(&mut bad);
                l.map(|level| Step::Panel { level, attendance, notes: text("notes") })
            }
            Some(StepKind::StrategyMeeting) => {
                let mut actions = Vec::new();
                for i in 1..=5 {
                    let (what, owner, due) = (
                        text(&format!("action_what_{i}")),
                        text(&format!("action_owner_{i}")),
                        text(&format!("action_due_{i}")),
                    );
                    if what.is_empty() && owner.is_empty() && due.is_empty() {
                        continue;
                    }
                    match NaiveDate::parse_from_str(&due, "%Y-%m-%d") {
                        Ok(d) if d >= today && !what.is_empty() && !owner.is_empty() => {
                            actions.push(PlanAction { what, owner, due: d })
                        }
                        Ok(d) if d < today => bad(&format!("action_due_{i}"), "cannot be in the past"),
                        Ok(_) => bad(&format!("action_what_{i}"), "say what is to be done and who does it"),
                        Err(_) => bad(&format!("action_due_{i}"), "a date as YYYY-MM-DD"),
                    }
                }
                if actions.is_empty() {
                    bad("action_what_1", "a safety plan needs at least one action");
                }
                let attendance = attendance(&mut bad);
                Some(Step::StrategyMeeting {
                    plan: SafetyPlan {
                        actions,
                        young_person_involved: self.ticked("young_person_involved"),
                        parents_involved: self.ticked("parents_involved"),
                        not_involved_reason: text("not_involved_reason"),
                    },
                    attendance,
                })
            }
            Some(StepKind::Review) => {
                level("level", &mut bad).map(|level| Step::Review { level, notes: text("notes") })
            }
            Some(StepKind::Resolve) => Some(Step::Resolve { exit_strategy: text("exit_strategy") }),
            Some(StepKind::StepDown) => Some(Step::StepDown { to_team: text("to_team"), reason: text("reason") }),
            Some(StepKind::Escalate) => Some(Step::Escalate { reason: text("reason") }),
            Some(StepKind::TransferToAdults) => Some(Step::TransferToAdults { reason: text("reason") }),
        };
        match step {
            Some(s) if errors.is_empty() => Ok(s),
            _ => Err(errors),
        }
    }
}

// ---- JSON ------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct StepTaken {
    pub stage: String,
    pub level: Option<String>,
    pub deadlines: Vec<DeadlineView>,
}

#[utoipa::path(get, path = "/api/v1/cse/cases", params(("child_id" = Option<String>, Query), ("include_closed" = Option<bool>, Query)),
    responses((status = 200, body = Vec<CaseSummary>, description = "overdue first, then soonest due")), security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<BoardQuery>,
) -> Result<Json<Vec<CaseSummary>>, AppError> {
    Ok(Json(board(&state, &user, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/cse/cases/{id}", params(("id" = String, Path)),
    responses((status = 200, body = CaseView), (status = 404, description = "no such case, or not yours to see")), security(("bearer" = [])))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, AppError> {
    let c = case_for(&state, &user, Action::ViewCseCase, &id).await?;
    Ok(Json(case_view(&state, &c).await?))
}

#[utoipa::path(post, path = "/api/v1/cse/cases/{id}/steps", params(("id" = String, Path)),
    request_body(content = Object, description = "a step: {\"step\": \"allocate\", \"worker\": ID} · {\"step\": \"assess\", \"indicators\": [{\"group\", \"score\"}], \"young_person_views\", \"parents_views\", \"needs\": [], \"disclosure\", \"learning_disability\", \"proposed_level\", \"summary\"} · {\"step\": \"panel\", \"level\", \"attendance\": [{\"agency\", \"attended\"}], \"notes\"} · {\"step\": \"strategy_meeting\", \"plan\": {\"actions\": [{\"what\", \"owner\", \"due\"}], \"young_person_involved\", \"parents_involved\", \"not_involved_reason\"}, \"attendance\"} · {\"step\": \"review\", \"level\", \"notes\"} · {\"step\": \"resolve\", \"exit_strategy\"} · {\"step\": \"step_down\", \"to_team\", \"reason\"} · {\"step\": \"escalate\", \"reason\"} · {\"step\": \"transfer_to_adults\", \"reason\"}"),
    responses((status = 201, body = StepTaken), (status = 404, description = "no such case, or not the caller's to work"),
              (status = 409, description = "the pathway does not allow this step at the case's stage"),
              (status = 422, description = "the step is missing what it must carry, or breaches the caseload maximum without an override")), security(("bearer" = [])))]
pub(crate) async fn take(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Step>,
) -> Result<Response, AppError> {
    let c = step(&state, &user, &id, body).await?;
    let now = Utc::now();
    Ok((
        StatusCode::CREATED,
        Json(StepTaken {
            stage: c.case.stage.as_str().into(),
            level: c.case.level.map(|l| l.as_str().into()),
            deadlines: c.case.deadlines(&state.cfg.pathway).iter().map(|d| deadline_view(d, now)).collect(),
        }),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct SupportRecorded {
    /// When the young person is to be offered the service again (a declined CAMHS referral).
    pub recontact_on: Option<NaiveDate>,
}

#[utoipa::path(post, path = "/api/v1/cse/cases/{id}/support", params(("id" = String, Path)), request_body = crate::cse::SupportInput,
    responses((status = 201, body = SupportRecorded), (status = 404, description = "no such case, or not the caller's to work"),
              (status = 422, description = "fields that are not valid, each named")), security(("bearer" = [])))]
pub(crate) async fn record_support(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<crate::cse::SupportInput>,
) -> Result<Response, AppError> {
    let recontact_on = support(&state, &user, &id, &body).await?;
    Ok((StatusCode::CREATED, Json(SupportRecorded { recontact_on })).into_response())
}

#[utoipa::path(get, path = "/api/v1/cse/caseloads", responses((status = 200, body = CaseloadsView)), security(("bearer" = [])))]
pub(crate) async fn loads(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Json<CaseloadsView>, AppError> {
    Ok(Json(caseloads(&state, &user).await?))
}
