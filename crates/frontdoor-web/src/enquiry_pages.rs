//! The enquiry pages (F6): the list a practitioner works from, the form that opens one, and the
//! enquiry itself with the forms to contribute, correct, release and conclude. What each reader
//! sees comes from [`crate::enquiries::load`], the same loader as the API.

use crate::AppState;
use crate::access::authorize_record;
use crate::auth::CurrentUser;
use crate::enquiries::{self, ContributionView, Visible};
use crate::enquiry::{self, ContributionDraft, EnquiryDraft, ReleaseDraft};
use crate::error::AppError;
use crate::pages::{Choice, Layout, PageError, local, render};
use crate::service::ServiceError;
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use frontdoor_core::contact::FieldError;
use frontdoor_core::{Action, ChildId, Confidence, EnquiryOutcome, ReleaseBasis, Resource, Role};
use frontdoor_store::{AgencyRecord, ChildRecord};
use serde::Deserialize;

pub struct ListRow {
    pub id: String,
    pub child: String,
    pub question: String,
    pub lead: String,
    pub due: String,
    pub overdue: bool,
    pub status: String,
}

#[derive(Template)]
#[template(path = "enquiries.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ListRow>,
    can_open: bool,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let rows = enquiries::list(&state, &user)
        .await?
        .into_iter()
        .map(|(e, c)| ListRow {
            id: e.id.to_string(),
            child: match (c, &e.person_of_concern) {
                (Some(c), _) => format!("{} {}", c.given_name, c.family_name),
                (None, Some(p)) => format!("Person of concern: {}", p.name),
                (None, None) => String::new(),
            },
            question: e.question.clone(),
            lead: e.lead_name.clone(),
            due: local(e.due_at),
            overdue: e.is_open() && e.due_at < now,
            status: e.outcome.map_or("Open".to_owned(), |o| o.label().to_owned()),
        })
        .collect();
    let can_open = crate::access::authorize_service(&user, Action::OpenEnquiry).is_ok();
    render(ListPage { layout: Layout::for_user("Enquiries", &user), rows, can_open }, StatusCode::OK)
}

// ---- opening ----------------------------------------------------------------------------------

#[derive(Default)]
pub struct OpenForm {
    pub child_id: String,
    pub person_name: String,
    pub person_date_of_birth: String,
    pub person_description: String,
    pub agencies: Vec<String>,
    pub managers: Vec<String>,
    pub question: String,
    pub due: String,
}

impl OpenForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> OpenForm {
        let mut f = OpenForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "child_id" => f.child_id = v,
                "person_name" => f.person_name = v,
                "person_date_of_birth" => f.person_date_of_birth = v,
                "person_description" => f.person_description = v,
                "agencies" => f.agencies.push(v),
                "managers" if !v.trim().is_empty() => f.managers.push(v),
                "question" => f.question = v,
                "due" => f.due = v,
                _ => {}
            }
        }
        f
    }
}

pub struct ManagerChoice {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "enquiry_new.html")]
struct NewPage {
    layout: Layout,
    /// The child it will be about; none for an enquiry about a suspected perpetrator.
    child: Option<ChildRecord>,
    agencies: Vec<AgencyRecord>,
    managers: Vec<ManagerChoice>,
    form: OpenForm,
    errors: Vec<FieldError>,
    due_days: u32,
}

#[derive(Deserialize)]
pub(crate) struct ChildQuery {
    #[serde(default)]
    child: String,
}

/// The child named in an opening form, if the user may read the child's record (logged).
async fn child_for(state: &AppState, user: &CurrentUser, id: &str) -> Result<ChildRecord, AppError> {
    let child = match id.trim().parse::<ChildId>() {
        Ok(cid) => state.store.child(cid).await?,
        Err(_) => None,
    };
    let resource = match &child {
        Some(c) => Some(Resource::Child { contributing_agencies: state.store.child_agencies(c.id).await? }),
        None => None,
    };
    authorize_record(state, user, Action::ViewChronology, "child", id.trim(), resource).await?;
    child.ok_or(AppError::NotFound)
}

async fn new_page(
    state: &AppState,
    user: &CurrentUser,
    child: Option<ChildRecord>,
    form: OpenForm,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let managers = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.id != user.actor.user_id)
        .filter(|u| u.roles.iter().any(|r| matches!(r, Role::CseManager | Role::SafeguardingLead)))
        .map(|u| ManagerChoice { id: u.id.to_string(), label: format!("{} ({})", u.display_name, u.agency.name) })
        .collect();
    let page = NewPage {
        layout: Layout::for_user("Open a multi-agency enquiry", user),
        agencies: state.store.agencies().await?,
        managers,
        child,
        form,
        errors,
        due_days: state.cfg.enquiry_due_working_days,
    };
    render(page, status)
}

pub(crate) async fn new_form(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<ChildQuery>,
) -> Result<Response, PageError> {
    let child = match q.child.trim() {
        "" => None,
        id => Some(child_for(&state, &user, id).await?),
    };
    let form =
        OpenForm { child_id: child.as_ref().map(|c| c.id.to_string()).unwrap_or_default(), ..OpenForm::default() };
    new_page(&state, &user, child, form, Vec::new(), StatusCode::OK).await
}

pub(crate) async fn open(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = OpenForm::from_pairs(pairs);
    let child = match form.child_id.trim() {
        "" => None,
        id => Some(child_for(&state, &user, id).await?),
    };
    let draft = EnquiryDraft {
        child_id: form.child_id.clone(),
        person_name: form.person_name.clone(),
        person_date_of_birth: form.person_date_of_birth.clone(),
        person_description: form.person_description.clone(),
        agencies: form.agencies.clone(),
        managers: form.managers.clone(),
        question: form.question.clone(),
        due: form.due.clone(),
    };
    match enquiry::open_enquiry(&state.store, &user.actor, &draft, state.cfg.enquiry_due_working_days, Utc::now()).await
    {
        Ok(id) => Ok(Redirect::to(&format!("/enquiries/{id}")).into_response()),
        Err(ServiceError::Invalid(errors)) => {
            new_page(&state, &user, child, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- one enquiry ------------------------------------------------------------------------------

pub struct ShownContribution {
    pub view: ContributionView,
    pub recorded: String,
    pub can_amend: bool,
    pub confidence_label: String,
}

/// Which form on the page an error belongs to, and what was typed in it.
#[derive(Default)]
pub struct Forms {
    pub which: &'static str,
    /// The contribution a correction or release was about.
    pub contribution: String,
    pub errors: Vec<FieldError>,
    pub text: String,
    pub known_on: String,
    pub source: String,
    pub confidence: String,
    pub outcome: String,
    pub reasons: String,
    pub to_agency: String,
    pub basis: String,
    pub lawful_basis: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "enquiry.html")]
struct EnquiryPage {
    layout: Layout,
    id: String,
    child: Option<ChildRecord>,
    person: Option<frontdoor_core::PersonOfConcern>,
    question: String,
    lead: String,
    opened: String,
    due: String,
    overdue: bool,
    asked: Vec<String>,
    whole: bool,
    status: String,
    outcome_reasons: String,
    contributions: Vec<ShownContribution>,
    more_held_elsewhere: bool,
    can_contribute: bool,
    can_lead: bool,
    outcomes: Vec<Choice>,
    confidences: Vec<Choice>,
    bases: Vec<Choice>,
    agencies: Vec<AgencyRecord>,
    forms: Forms,
}

async fn enquiry_page(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    forms: Forms,
    status: StatusCode,
) -> Result<Response, PageError> {
    let v: Visible = enquiries::load(state, user, id).await?;
    let names = enquiries::agency_names(state).await?;
    let e = &v.enquiry;
    let contributions = v
        .contributions
        .iter()
        .map(|c| ShownContribution {
            view: enquiries::contribution_view(&v, user, c),
            recorded: match c.amended_at {
                Some(a) => format!("{} (corrected {})", local(c.recorded_at), local(a)),
                None => local(c.recorded_at),
            },
            can_amend: v.can_amend(user, c),
            confidence_label: c.contribution.confidence.label().to_owned(),
        })
        .collect();
    let choices = |all: &[(&'static str, &'static str)]| {
        all.iter().map(|(value, label)| Choice { value, label: (*label).to_owned() }).collect::<Vec<_>>()
    };
    let page = EnquiryPage {
        layout: Layout::for_user("Multi-agency enquiry", user),
        id: e.id.to_string(),
        question: e.question.clone(),
        lead: e.lead_name.clone(),
        opened: local(e.opened_at),
        due: local(e.due_at),
        overdue: e.is_open() && e.due_at < Utc::now(),
        asked: e.agencies.iter().map(|a| names.get(a).cloned().unwrap_or_default()).collect(),
        whole: v.scope == frontdoor_core::policy::Scope::All,
        status: e.outcome.map_or("Open".to_owned(), |o| o.label().to_owned()),
        outcome_reasons: e
            .outcome_reasons
            .clone()
            .filter(|_| v.scope == frontdoor_core::policy::Scope::All)
            .unwrap_or_default(),
        contributions,
        more_held_elsewhere: v.more_held_elsewhere,
        can_contribute: v.can_contribute(user),
        can_lead: v.can_lead(user),
        outcomes: choices(&EnquiryOutcome::ALL.iter().map(|o| (o.as_str(), o.label())).collect::<Vec<_>>()),
        confidences: choices(&Confidence::ALL.iter().map(|o| (o.as_str(), o.label())).collect::<Vec<_>>()),
        bases: choices(&ReleaseBasis::ALL.iter().map(|o| (o.as_str(), o.label())).collect::<Vec<_>>()),
        agencies: state.store.agencies().await?,
        person: v.enquiry.person_of_concern.clone(),
        child: v.child,
        forms,
    };
    render(page, status)
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    enquiry_page(&state, &user, &id, Forms::default(), StatusCode::OK).await
}

#[derive(Deserialize, Default)]
pub(crate) struct ContributionForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    known_on: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    confidence: String,
}

impl ContributionForm {
    fn draft(&self) -> ContributionDraft {
        ContributionDraft {
            text: self.text.clone(),
            known_on: self.known_on.clone(),
            source: self.source.clone(),
            confidence: self.confidence.clone(),
        }
    }
    fn forms(self, which: &'static str, contribution: String, errors: Vec<FieldError>) -> Forms {
        Forms {
            which,
            contribution,
            errors,
            text: self.text,
            known_on: self.known_on,
            source: self.source,
            confidence: self.confidence,
            ..Forms::default()
        }
    }
}

/// After a change: back to the enquiry; a form's errors: the page again, with what was typed.
async fn settle(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    result: Result<(), ServiceError>,
    forms: impl FnOnce(Vec<FieldError>) -> Forms,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/enquiries/{id}")).into_response()),
        Err(ServiceError::Invalid(errors)) => {
            enquiry_page(state, user, id, forms(errors), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn contribute(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<ContributionForm>,
) -> Result<Response, PageError> {
    let (e, _) = enquiries::authorize(&state, &user, Action::ContributeToEnquiry, &id).await?;
    let result = enquiry::contribute(&state.store, &user.actor, &e, &form.draft(), Utc::now()).await.map(|_| ());
    settle(&state, &user, &id, result, |errors| form.forms("contribute", String::new(), errors)).await
}

pub(crate) async fn amend(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path((id, cid)): Path<(String, String)>,
    Form(form): Form<ContributionForm>,
) -> Result<Response, PageError> {
    let (e, c) =
        enquiries::contribution_for(&state, &user, Action::ViewEnquiry, Action::AmendEnquiryContribution, &id, &cid)
            .await?;
    let result = enquiry::amend(&state.store, &user.actor, &e, &c, &form.draft(), Utc::now()).await;
    settle(&state, &user, &id, result, |errors| form.forms("amend", cid.clone(), errors)).await
}

#[derive(Deserialize, Default)]
pub(crate) struct ReleaseForm {
    #[serde(default)]
    to_agency: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    lawful_basis: String,
    #[serde(default)]
    reason: String,
}

pub(crate) async fn release(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path((id, cid)): Path<(String, String)>,
    Form(form): Form<ReleaseForm>,
) -> Result<Response, PageError> {
    let (e, c) = enquiries::contribution_for(
        &state,
        &user,
        Action::ReleaseEnquiryInformation,
        Action::ViewEnquiryContribution,
        &id,
        &cid,
    )
    .await?;
    let draft = ReleaseDraft {
        to_agency: form.to_agency.clone(),
        basis: form.basis.clone(),
        lawful_basis: form.lawful_basis.clone(),
        reason: form.reason.clone(),
    };
    let result = enquiry::release(&state.store, &user.actor, &e, &c, &draft, Utc::now()).await;
    settle(&state, &user, &id, result, |errors| Forms {
        which: "release",
        contribution: cid.clone(),
        errors,
        to_agency: form.to_agency,
        basis: form.basis,
        lawful_basis: form.lawful_basis,
        reason: form.reason,
        ..Forms::default()
    })
    .await
}

#[derive(Deserialize, Default)]
pub(crate) struct OutcomeForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reasons: String,
}

pub(crate) async fn conclude(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> Result<Response, PageError> {
    let (e, _) = enquiries::authorize(&state, &user, Action::ConcludeEnquiry, &id).await?;
    let result =
        enquiry::conclude(&state.store, &user.actor, &e, &form.outcome, &form.reasons, Utc::now()).await.map(|_| ());
    settle(&state, &user, &id, result, |errors| Forms {
        which: "conclude",
        errors,
        outcome: form.outcome,
        reasons: form.reasons,
        ..Forms::default()
    })
    .await
}
