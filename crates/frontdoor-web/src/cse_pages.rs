//! The CSE pathway's pages (F7, F8): the team's board, a case with a form for each step it may
//! take now, and the team's caseloads. What each shows comes from [`crate::cse_http`], the same
//! code the API uses.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::cse_http::{self, BoardQuery, CaseSummary, CaseView, CaseloadsView, NEEDS, StepForm};
use crate::error::AppError;
use crate::pages::{Choice, Layout, PageError, render};
use crate::service::ServiceError;
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use frontdoor_core::Action;
use frontdoor_core::contact::FieldError;
use frontdoor_core::pathway::{Allocation, Caseload, RiskLevel, StepKind};
use frontdoor_screen::lexicon::IndicatorGroup;
use frontdoor_store::AgencyRecord;

#[derive(Template)]
#[template(path = "cse_board.html")]
struct BoardPage {
    layout: Layout,
    cases: Vec<CaseSummary>,
    can_see_caseloads: bool,
    /// Open cases per stage, in pathway order, and per RAG rating.
    by_stage: Vec<(&'static str, usize)>,
    by_rag: Vec<(&'static str, usize)>,
    overdue: usize,
}

pub(crate) async fn board(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let cases = cse_http::board(&state, &user, &BoardQuery::default()).await?;
    let can_see_caseloads = crate::access::authorize_service(&user, Action::ViewCaseloads).is_ok();
    let count = |f: &dyn Fn(&CaseSummary) -> bool| cases.iter().filter(|c| f(c)).count();
    let by_stage = frontdoor_core::pathway::Stage::ALL
        .iter()
        .filter(|s| **s != frontdoor_core::pathway::Stage::Closed)
        .map(|s| (s.label(), count(&|c| c.stage == s.as_str())))
        .collect();
    let by_rag = frontdoor_core::pathway::Rag::ALL
        .iter()
        .rev()
        .map(|r| (r.as_str(), count(&|c| c.rag.as_deref() == Some(r.as_str()))))
        .collect();
    let overdue = count(&|c| c.overdue);
    let page = BoardPage {
        layout: Layout::for_user("CSE pathway", &user),
        cases,
        can_see_caseloads,
        by_stage,
        by_rag,
        overdue,
    };
    render(page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "caseloads.html")]
struct CaseloadsPage {
    layout: Layout,
    view: CaseloadsView,
    weights: Caseload,
}

pub(crate) async fn caseloads(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let view = cse_http::caseloads(&state, &user).await?;
    // The page names workers and quotes override reasons about cases: a logged read.
    crate::access::log(
        &state,
        &user,
        Action::ViewCaseloads,
        "caseloads",
        "cse team",
        true,
        "managers see their teams' caseloads",
    )
    .await?;
    let page =
        CaseloadsPage { layout: Layout::for_user("Caseloads", &user), view, weights: state.cfg.caseload.clone() };
    render(page, StatusCode::OK)
}

pub struct WorkerChoice {
    pub id: String,
    pub name: String,
    pub after: f64,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "cse_case.html")]
struct CasePage {
    layout: Layout,
    view: CaseView,
    age: Option<String>,
    /// The steps this user may take now.
    steps: Vec<String>,
    workers: Vec<WorkerChoice>,
    agencies: Vec<AgencyRecord>,
    groups: Vec<&'static str>,
    needs: Vec<(&'static str, &'static str)>,
    levels: Vec<Choice>,
    errors: Vec<FieldError>,
    form: Vec<(String, String)>,
    actions: Vec<crate::actions_http::ActionView>,
    can_assign: bool,
    can_work: bool,
    /// Health bodies, schools and colleges: who a transition notice can go to.
    partner_agencies: Vec<AgencyRecord>,
    /// The referring enquiry is the viewer's to open (the CSE team are rarely its parties).
    can_view_enquiry: bool,
}

impl CasePage {
    fn step_label(&self, s: &str) -> &'static str {
        StepKind::parse(s).map_or("", StepKind::label)
    }
    /// The form sent back with errors was this step's.
    fn was(&self, step: &str) -> bool {
        self.form.iter().any(|(k, v)| k == "step" && v == step)
    }
    /// What was typed in `name` on this step's form (empty for every other form).
    fn fv(&self, step: &str, name: &str) -> String {
        if !self.was(step) {
            return String::new();
        }
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
    /// Whether this step's form had `name` ticked with `value`.
    fn ticked(&self, step: &str, name: &str, value: &str) -> bool {
        self.was(step) && self.form.iter().any(|(k, v)| k == name && v == value)
    }
}

async fn case_page(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    errors: Vec<FieldError>,
    form: Vec<(String, String)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let c = cse_http::case_for(state, user, Action::ViewCseCase, id).await?;
    let view = cse_http::case_view(state, &c).await?;
    let may_allocate = cse_http::allowed(user, Action::AllocateCseCase, &c);
    let may_work = cse_http::allowed(user, Action::WorkCseCase, &c);
    let steps: Vec<String> = c
        .case
        .possible_steps()
        .into_iter()
        .filter(|s| if *s == StepKind::Allocate { may_allocate } else { may_work })
        .map(|s| s.as_str().to_owned())
        .collect();
    let workers = if may_allocate && steps.iter().any(|s| s == "allocate") {
        cse_http::allocation_preview(state, &c)
            .await?
            .into_iter()
            .map(|(w, a)| {
                let (after, status) = match a {
                    Allocation::Fine { after } => (after, "fine"),
                    Allocation::Warn { after } => (after, "warn"),
                    Allocation::Breach { after } => (after, "breach"),
                };
                WorkerChoice { id: w.worker, name: w.name, after, status }
            })
            .collect()
    } else {
        Vec::new()
    };
    let child = state.store.child(c.child_id).await?.ok_or(AppError::NotFound)?;
    let page = CasePage {
        layout: Layout::for_user("CSE case", user),
        age: crate::cse::age_on(child.date_of_birth.as_deref(), Utc::now()).map(|a| format!("aged {a}")),
        view,
        steps,
        workers,
        agencies: state.store.agencies().await?,
        groups: IndicatorGroup::ALL.iter().map(|g| g.as_str()).collect(),
        needs: NEEDS.to_vec(),
        levels: RiskLevel::ALL.iter().map(|l| Choice { value: l.as_str(), label: l.label().to_owned() }).collect(),
        errors,
        form,
        actions: crate::actions_http::of_child(state, user, c.child_id)
            .await?
            .into_iter()
            .filter(|a| a.case_id.as_deref() == Some(id))
            .collect(),
        can_assign: crate::access::authorize_service(user, Action::AssignAction).is_ok(),
        can_work: may_work && c.case.is_open(),
        can_view_enquiry: match c.enquiry_id {
            Some(eid) => state.store.enquiry(eid).await?.is_some_and(|e| {
                frontdoor_core::decide(
                    &user.actor,
                    Action::ViewEnquiry,
                    &frontdoor_core::Resource::Enquiry(e.parties()),
                    crate::access::purpose_for(user, Action::ViewEnquiry),
                )
                .allowed
            }),
            None => false,
        },
        partner_agencies: state
            .store
            .agencies()
            .await?
            .into_iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    frontdoor_core::AgencyKind::Health
                        | frontdoor_core::AgencyKind::Education
                        | frontdoor_core::AgencyKind::School
                )
            })
            .collect(),
    };
    render(page, status)
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    case_page(&state, &user, &id, Vec::new(), Vec::new(), StatusCode::OK).await
}

pub(crate) async fn step(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = StepForm(pairs);
    let result = match form.step(Utc::now().date_naive()) {
        Ok(step) => cse_http::step(&state, &user, &id, step).await.map(|_| ()),
        Err(errors) => {
            // Nothing to take: still only for those who may see the case.
            cse_http::case_for(&state, &user, Action::ViewCseCase, &id).await?;
            Err(AppError::from(ServiceError::Invalid(errors)))
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/cse/cases/{id}")).into_response()),
        Err(AppError::Conflict(message)) => {
            let errors = vec![FieldError { field: "step".into(), message }];
            case_page(&state, &user, &id, errors, form.0, StatusCode::CONFLICT).await
        }
        Err(e) => match e.fields() {
            fields if !fields.is_empty() && e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
                case_page(&state, &user, &id, fields, form.0, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            _ => Err(e.into()),
        },
    }
}

pub(crate) async fn support(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let input = crate::cse::SupportInput { service: get("service"), outcome: get("outcome"), note: get("note") };
    match cse_http::support(&state, &user, &id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/cse/cases/{id}#support")).into_response()),
        Err(AppError::Invalid(errors)) => {
            case_page(&state, &user, &id, errors, pairs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::Conflict(message)) => {
            let errors = vec![FieldError { field: "service".into(), message }];
            case_page(&state, &user, &id, errors, pairs, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn notify(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let input = crate::cse::NotifyInput {
        to_agency: get("to_agency"),
        transition: get("transition"),
        lawful_basis: get("lawful_basis"),
    };
    match cse_http::notify(&state, &user, &id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/cse/cases/{id}#notifications")).into_response()),
        Err(AppError::Invalid(errors)) => {
            case_page(&state, &user, &id, errors, pairs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::Conflict(message)) => {
            let errors = vec![FieldError { field: "to_agency".into(), message }];
            case_page(&state, &user, &id, errors, pairs, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    notifications: Vec<cse_http::NotificationView>,
}

pub(crate) async fn notifications(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let notifications = cse_http::notifications(&state, &user).await?;
    render(NotificationsPage { layout: Layout::for_user("Notifications", &user), notifications }, StatusCode::OK)
}
