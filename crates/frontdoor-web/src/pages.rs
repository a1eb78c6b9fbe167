//! Server-rendered practitioner pages (askama templates, no JavaScript needed). Every form
//! carries the session's CSRF token, checked by the route guard before the handler runs.

use crate::AppState;
use crate::access::{authorize_service, purpose_for};
use crate::api::{self, ChronologyItem, StatsView};
use crate::auth::{self, CurrentUser};
use crate::error::AppError;
use crate::service::{self, NewUser};
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, Utc};
use frontdoor_core::contact::{ChildDraft, ContactDraft, FieldError, ReporterDraft};
use frontdoor_core::{
    Action, AgencyId, AgencyKind, Channel, ChildFlag, DecisionOutcome, Purpose, Resource, Role, SourceCode, UserId,
    decide,
};
use frontdoor_store::AccessEntry;
use serde::Deserialize;
use std::collections::HashMap;

/// An error shown as a page. Not signed in → the sign-in page.
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}
impl From<frontdoor_store::StoreError> for PageError {
    fn from(e: frontdoor_store::StoreError) -> Self {
        PageError(AppError::from(e))
    }
}
impl From<service::ServiceError> for PageError {
    fn from(e: service::ServiceError) -> Self {
        PageError(AppError::from(e))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, AppError::Unauthorized(_)) {
            return Redirect::to("/login").into_response();
        }
        let status = self.0.status();
        let heading = match status.as_u16() {
            403 => "You cannot do that",
            404 => "Page not found",
            422 | 400 => "There is a problem",
            429 => "Too many attempts",
            _ => "Sorry, something went wrong",
        };
        let message = match &self.0 {
            AppError::NotFound => {
                "There is nothing here, or it is not yours to see. If you typed the address, check it.".to_owned()
            }
            other => other.message(),
        };
        let page = ErrorPage { layout: Layout::anonymous(heading), status: status.as_u16(), heading, message };
        match page.render() {
            Ok(html) => (status, axum::response::Html(html)).into_response(),
            Err(_) => (status, heading).into_response(),
        }
    }
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
}

/// What every page's frame needs.
pub struct Layout {
    pub title: String,
    pub signed_in: bool,
    pub display_name: String,
    pub agency: String,
    pub roles: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

impl Layout {
    fn anonymous(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            signed_in: false,
            display_name: String::new(),
            agency: String::new(),
            roles: String::new(),
            csrf: String::new(),
            nav: Vec::new(),
        }
    }

    /// The menu holds exactly the places the policy lets this user go.
    pub(crate) fn for_user(title: &str, user: &CurrentUser) -> Layout {
        let front_door = authorize_service(user, Action::ViewWorklist).is_ok();
        let places = [
            ("/", "Home", Action::ViewHome),
            ("/worklist", "Worklist", Action::ViewWorklist),
            ("/alerts", "Alerts", Action::ViewWorklist),
            ("/links", "Same person?", Action::ReviewLinks),
            ("/enquiries", "Enquiries", Action::ListEnquiries),
            ("/cse", "CSE pathway", Action::ViewCseBoard),
            ("/actions", "Actions", Action::ListActions),
            ("/notifications", "Notifications", Action::ViewNotifications),
            ("/contacts/new", "Log a contact", Action::CreateContact),
            ("/refer", "Make a referral", Action::CreateContact),
            ("/admin/users", "Users", Action::ManageUsers),
            ("/audit", "Audit trail", Action::ViewAuditTrail),
            ("/stats", "Figures", Action::ViewAggregates),
        ];
        Layout {
            title: title.to_owned(),
            signed_in: true,
            display_name: user.user.display_name.clone(),
            agency: user.user.agency.name.clone(),
            roles: user.user.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", "),
            csrf: user.csrf_token.clone(),
            nav: places
                .into_iter()
                .filter(|(_, _, a)| authorize_service(user, *a).is_ok())
                // The front-door team logs contacts; partner agencies refer.
                .filter(|(href, _, _)| match *href {
                    "/contacts/new" => front_door,
                    "/refer" => !front_door,
                    _ => true,
                })
                .map(|(href, label, _)| NavItem { href, label })
                .collect(),
        }
    }
}

pub(crate) fn render(t: impl Template, status: StatusCode) -> Result<Response, PageError> {
    let html = t.render().map_err(AppError::internal)?;
    Ok((status, axum::response::Html(html)).into_response())
}

pub(crate) fn local(t: DateTime<Utc>) -> String {
    t.format("%d %b %Y %H:%M").to_string()
}

// ---- sign-in --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    username: String,
    error: Option<String>,
}

fn login_page(
    state: &AppState,
    jar: CookieJar,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let csrf = auth::random_token();
    let jar = jar.add(auth::build_cookie(auth::login_cookie_name(state.cfg.tls), csrf.clone(), state.cfg.tls));
    let page = LoginPage { layout: Layout::anonymous("Sign in"), csrf, username, error };
    let html = page.render().map_err(AppError::internal)?;
    Ok((status, jar, axum::response::Html(html)).into_response())
}

pub(crate) async fn login_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if auth::current_user(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    login_page(&state, jar, String::new(), None, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let tls = state.cfg.tls;
    let expected = jar.get(auth::login_cookie_name(tls)).map(|c| c.value().to_owned()).unwrap_or_default();
    if expected.is_empty() || !auth::tokens_match(&form.csrf, &expected) {
        return login_page(
            &state,
            jar,
            form.username,
            Some("The sign-in form had expired. Please try again.".into()),
            StatusCode::FORBIDDEN,
        );
    }
    match service::authenticate(&state.store, &state.passwords, &state.cfg, &form.username, &form.password, Utc::now())
        .await
    {
        Ok(user) => {
            // Rotation: any session this browser held before is ended; a new id is issued.
            if let Some(old) = jar.get(auth::session_cookie_name(tls)) {
                state.store.delete_session(&auth::hash_token(old.value())).await?;
            }
            let token = auth::start_session(&state, &user, "browser").await?;
            let jar = jar.remove(auth::removal_cookie(auth::login_cookie_name(tls), tls)).add(auth::build_cookie(
                auth::session_cookie_name(tls),
                token,
                tls,
            ));
            Ok((jar, Redirect::to("/")).into_response())
        }
        Err(service::ServiceError::BadCredentials) => login_page(
            &state,
            jar,
            form.username,
            Some("The username or password is not right.".into()),
            StatusCode::UNAUTHORIZED,
        ),
        Err(service::ServiceError::Locked) => login_page(
            &state,
            jar,
            form.username,
            Some("Too many failed sign-ins for this account. Wait a while, then try again.".into()),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    state.store.delete_session(&user.session_hash).await?;
    let tls = state.cfg.tls;
    Ok((jar.remove(auth::removal_cookie(auth::session_cookie_name(tls), tls)), Redirect::to("/login")).into_response())
}

// ---- home -----------------------------------------------------------------------------------

pub struct ContactRow {
    pub id: String,
    pub reference: String,
    pub received: String,
    pub channel: String,
    pub source: String,
    pub child_id: String,
    pub child_name: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    worklist_title: String,
    contacts: Vec<ContactRow>,
    can_log: bool,
    is_admin: bool,
    is_auditor: bool,
    is_analyst: bool,
    /// The front-door team's in-app notifications: lines like "3 alerts for safeguarding leads".
    team: Vec<String>,
    /// Partner agencies refer (`/refer`); the front-door team logs contacts.
    front_door: bool,
    /// What waits for this user or their agency (enquiries, actions, notices, caseload), as
    /// counts with a link: (line, href).
    waiting: Vec<(String, &'static str)>,
}

/// Counts of what waits for the user: no names, so nothing to log until they follow a link.
async fn waiting_for(state: &AppState, user: &CurrentUser) -> Result<Vec<(String, &'static str)>, AppError> {
    let now = Utc::now();
    let a = &user.actor;
    let mut out = Vec::new();
    if authorize_service(user, Action::ListEnquiries).is_ok() {
        let open: Vec<_> =
            state.store.enquiries_for(a.user_id, a.agency_id, 500).await?.into_iter().filter(|e| e.is_open()).collect();
        if !open.is_empty() {
            let overdue = open.iter().filter(|e| e.due_at < now).count();
            out.push((
                format!(
                    "{} open multi-agency enquiries for you or your agency, {overdue} past their answer time",
                    open.len()
                ),
                "/enquiries",
            ));
        }
    }
    if let Ok(d) = authorize_service(user, Action::ListActions) {
        let agency = (d.scope == frontdoor_core::policy::Scope::OwnAgency).then_some(a.agency_id);
        let open: Vec<_> =
            state.store.action_items(agency, 1_000).await?.into_iter().filter(|x| x.completed_at.is_none()).collect();
        if !open.is_empty() {
            let overdue = open.iter().filter(|x| x.due_on < now.date_naive()).count();
            out.push((format!("{} open actions, {overdue} overdue", open.len()), "/actions"));
        }
        // A partner agency's lead is told of every action the agency let go overdue.
        if a.roles.contains(&Role::AgencyLead) {
            let late = open.iter().filter(|x| x.overdue_recorded).count();
            if late > 0 {
                out.push((
                    format!("As your agency's safeguarding lead: {late} actions your agency holds are overdue; please follow them up"),
                    "/actions",
                ));
            }
        }
    }
    if authorize_service(user, Action::ViewWorklist).is_ok() {
        let n = state.store.alerts_addressed_to(a.user_id).await?;
        if n > 0 {
            out.push((format!("{n} alerts addressed to you"), "/alerts"));
        }
    }
    if authorize_service(user, Action::ViewNotifications).is_ok()
        && authorize_service(user, Action::ViewWorklist).is_err()
    {
        let n = state.store.partner_notifications(Some(a.agency_id), None).await?.len();
        if n > 0 {
            out.push((format!("{n} transition notices sent to your agency"), "/notifications"));
        }
    }
    if a.roles.contains(&Role::CseWorker) && authorize_service(user, Action::ViewCseBoard).is_ok() {
        let mine = state.store.cse_cases_of_worker(a.user_id).await?;
        let overdue = mine.iter().filter(|c| c.case.deadlines(&state.cfg.pathway).iter().any(|d| d.due < now)).count();
        let load = state.cfg.caseload.load(mine.iter().map(|c| c.case.level));
        out.push((
            format!(
                "Your caseload: {} CSE cases ({load:.2} weighted of {:.0}), {overdue} with a stage overdue",
                mine.len(),
                state.cfg.caseload.max
            ),
            "/cse",
        ));
    }
    Ok(out)
}

pub(crate) async fn home(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let a = &user.actor;
    // Whether the user reads every agency's contacts is the policy's answer, not a role check here.
    let elsewhere = Resource::Contact { owner_agency: AgencyId::new() };
    let reads_all = decide(a, Action::ViewContact, &elsewhere, purpose_for(&user, Action::ViewContact)).allowed;
    let can_log = authorize_service(&user, Action::CreateContact).is_ok();
    let (title, records) = if reads_all {
        ("Latest contacts".to_owned(), state.store.recent_contacts(50).await?)
    } else if can_log {
        (
            format!("Latest contacts from {}", user.user.agency.name),
            state.store.recent_contacts_of_agency(a.agency_id, 50).await?,
        )
    } else {
        (String::new(), Vec::new())
    };
    let mut contacts = Vec::with_capacity(records.len());
    for c in &records {
        let name = match state.store.child(c.child_id).await? {
            Some(ch) => format!("{} {}", ch.given_name, ch.family_name),
            None => String::new(),
        };
        contacts.push(ContactRow {
            id: c.id.to_string(),
            reference: c.reference.clone(),
            received: local(c.received_at),
            channel: Channel::parse(&c.channel).map(|ch| ch.label()).unwrap_or("").to_owned(),
            source: c.source_code.clone(),
            child_id: c.child_id.to_string(),
            child_name: name,
        });
    }
    if !contacts.is_empty() {
        // A worklist shows children's names: that is a read of personal data, so it is logged.
        state
            .store
            .log_access(AccessEntry {
                at: Utc::now(),
                user_id: a.user_id,
                agency_id: a.agency_id,
                action: Action::ViewContact,
                record_type: "worklist".into(),
                record_id: format!("{} contacts", contacts.len()),
                purpose: purpose_for(&user, Action::ViewContact),
                allowed: true,
                reason: "worklist of recent contacts".into(),
            })
            .await?;
    }
    let front_door = authorize_service(&user, Action::ViewWorklist).is_ok();
    let mut team = Vec::new();
    if front_door {
        let (waiting, overdue) = state.store.undecided(Utc::now()).await?;
        team.push(format!("{waiting} contacts await a decision ({overdue} overdue)."));
        for role in &user.user.roles {
            let (open, urgent, escalated) = state.store.team_alerts(role.as_str()).await?;
            if open > 0 {
                team.push(format!(
                    "{open} open alerts for {} ({urgent} urgent, {escalated} escalated).",
                    role.label().to_lowercase()
                ));
            }
        }
    }
    let page = HomePage {
        layout: Layout::for_user("Home", &user),
        team,
        front_door,
        worklist_title: title,
        contacts,
        can_log,
        is_admin: authorize_service(&user, Action::ManageUsers).is_ok(),
        is_auditor: authorize_service(&user, Action::ViewAuditTrail).is_ok(),
        is_analyst: authorize_service(&user, Action::ViewAggregates).is_ok(),
        waiting: waiting_for(&state, &user).await?,
    };
    render(page, StatusCode::OK)
}

// ---- contacts -------------------------------------------------------------------------------

/// The contact form's fields. Read from the raw pairs so multi-choice answers (one pair per
/// ticked option) survive; protocol answers arrive as `a.QUESTION_ID`.
#[derive(Default, Clone)]
pub(crate) struct ContactForm {
    channel: String,
    source_code: String,
    given_name: String,
    family_name: String,
    date_of_birth: String,
    sex: String,
    postcode: String,
    narrative: String,
    call_type: String,
    anonymous: bool,
    reporter_name: String,
    reporter_relationship: String,
    reporter_phone: String,
    /// Question id → the values given (several for multi-choice).
    answers: HashMap<String, Vec<String>>,
}

impl ContactForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> ContactForm {
        let mut f = ContactForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "channel" => f.channel = v,
                "source_code" => f.source_code = v,
                "given_name" => f.given_name = v,
                "family_name" => f.family_name = v,
                "date_of_birth" => f.date_of_birth = v,
                "sex" => f.sex = v,
                "postcode" => f.postcode = v,
                "narrative" => f.narrative = v,
                "call_type" => f.call_type = v,
                "anonymous" => f.anonymous = !v.is_empty(),
                "reporter_name" => f.reporter_name = v,
                "reporter_relationship" => f.reporter_relationship = v,
                "reporter_phone" => f.reporter_phone = v,
                other => {
                    if let Some(q) = other.strip_prefix("a.") {
                        f.answers.entry(q.to_owned()).or_default().push(v);
                    }
                }
            }
        }
        f
    }

    /// The answers as the contact API takes them: a list for multi-choice, a string otherwise.
    fn answers_json(&self, protocol: Option<&frontdoor_screen::protocol::Protocol>) -> serde_json::Value {
        use frontdoor_screen::protocol::QuestionKind;
        let mut out = serde_json::Map::new();
        for (id, values) in &self.answers {
            let values: Vec<&String> = values.iter().filter(|v| !v.trim().is_empty()).collect();
            if values.is_empty() {
                continue;
            }
            let multi = protocol
                .and_then(|p| p.question(id))
                .is_some_and(|q| matches!(q.kind, QuestionKind::MultiChoice { .. }));
            let value = if multi {
                serde_json::Value::from(values.iter().map(|v| v.to_string()).collect::<Vec<_>>())
            } else {
                serde_json::Value::from(values[0].clone())
            };
            out.insert(id.clone(), value);
        }
        serde_json::Value::Object(out)
    }

    fn answered(&self, id: &str, value: &str) -> bool {
        self.answers.get(id).is_some_and(|v| v.iter().any(|x| x == value))
    }

    fn answer(&self, id: &str) -> String {
        self.answers.get(id).and_then(|v| v.first()).cloned().unwrap_or_default()
    }

    fn draft(&self, protocol: Option<&frontdoor_screen::protocol::Protocol>) -> ContactDraft {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        ContactDraft {
            channel: self.channel.clone(),
            source_code: self.source_code.clone(),
            child: ChildDraft {
                given_name: self.given_name.clone(),
                family_name: self.family_name.clone(),
                date_of_birth: opt(&self.date_of_birth),
                sex: opt(&self.sex),
                postcode: opt(&self.postcode),
            },
            narrative: self.narrative.clone(),
            received_at: None,
            call_type: opt(&self.call_type),
            answers: Some(self.answers_json(protocol)),
            anonymous: self.anonymous,
            reporter: Some(ReporterDraft {
                name: self.reporter_name.clone(),
                relationship: self.reporter_relationship.clone(),
                phone: self.reporter_phone.clone(),
            }),
        }
    }
}

pub struct Choice {
    pub value: &'static str,
    pub label: String,
}

/// A protocol question as the form shows it.
pub struct QuestionField {
    pub id: String,
    pub text: String,
    pub help: String,
    /// yes_no, choice, multi_choice, number, date, text
    pub kind: &'static str,
    pub options: Vec<String>,
    pub required: bool,
}

#[derive(Template)]
#[template(path = "contact_new.html")]
struct ContactFormPage {
    layout: Layout,
    form: ContactForm,
    errors: Vec<FieldError>,
    field_errors: HashMap<String, String>,
    channels: Vec<Choice>,
    sources: Vec<Choice>,
    call_types: Vec<(String, String)>,
    protocol_title: String,
    protocol_description: String,
    questions: Vec<QuestionField>,
    /// A partner agency's professional referral: channel and source are known from the user.
    referral: bool,
    action: &'static str,
}

fn contact_form_page(
    state: &AppState,
    user: &CurrentUser,
    form: ContactForm,
    errors: Vec<FieldError>,
    referral: bool,
    status: StatusCode,
) -> Result<Response, PageError> {
    use frontdoor_screen::protocol::QuestionKind;
    let field_errors = errors
        .iter()
        .map(|e| {
            let f =
                e.field.trim_start_matches("child.").replacen("answers.", "a.", 1).replace("reporter.", "reporter_");
            (f, e.message.clone())
        })
        .collect();
    let protocols = state.screening.protocols();
    let protocol = protocols.get(&form.call_type).or_else(|| protocols.get(crate::screening::DEFAULT_CALL_TYPE));
    let questions = protocol
        .map(|p| {
            p.questions()
                .iter()
                .map(|q| QuestionField {
                    id: q.id.clone(),
                    text: q.text.clone(),
                    help: q.help.clone().unwrap_or_default(),
                    kind: q.kind.name(),
                    options: match &q.kind {
                        QuestionKind::Choice { options } | QuestionKind::MultiChoice { options } => options.clone(),
                        _ => Vec::new(),
                    },
                    required: q.required,
                })
                .collect()
        })
        .unwrap_or_default();
    let page = ContactFormPage {
        layout: Layout::for_user(if referral { "Make a referral" } else { "Log a contact" }, user),
        call_types: protocols.iter().map(|p| (p.id().to_owned(), p.title().to_owned())).collect(),
        protocol_title: protocol.map(|p| p.title().to_owned()).unwrap_or_default(),
        protocol_description: protocol.map(|p| p.description().to_owned()).unwrap_or_default(),
        questions,
        form,
        errors,
        field_errors,
        channels: Channel::ALL.iter().map(|c| Choice { value: c.as_str(), label: c.label().to_owned() }).collect(),
        sources: SourceCode::ALL.iter().map(|(c, l)| Choice { value: c, label: format!("{c} – {l}") }).collect(),
        referral,
        action: if referral { "/refer" } else { "/contacts" },
    };
    render(page, status)
}

#[derive(Deserialize)]
pub(crate) struct CallTypeQuery {
    call_type: Option<String>,
}

pub(crate) async fn contact_form(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    axum::extract::Query(q): axum::extract::Query<CallTypeQuery>,
) -> Result<Response, PageError> {
    let call_type = q.call_type.unwrap_or_else(|| crate::screening::DEFAULT_CALL_TYPE.to_owned());
    let form = ContactForm { channel: "phone".into(), call_type, ..Default::default() };
    contact_form_page(&state, &user, form, Vec::new(), false, StatusCode::OK)
}

pub(crate) async fn create_contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    record_from_form(&state, &user, ContactForm::from_pairs(pairs), false).await
}

async fn record_from_form(
    state: &AppState,
    user: &CurrentUser,
    form: ContactForm,
    referral: bool,
) -> Result<Response, PageError> {
    let draft = form.draft(state.screening.protocol(&form.call_type));
    let purpose = purpose_for(user, Action::CreateContact);
    match service::record_contact(&state.store, &state.screening, &user.actor, purpose, &draft, Utc::now()).await {
        Ok(r) => {
            ::metrics::counter!("frontdoor_contacts_recorded_total").increment(1);
            Ok(Redirect::to(&format!("/contacts/{}?recorded=1", r.contact_id)).into_response())
        }
        Err(service::ServiceError::Invalid(errors)) => {
            contact_form_page(state, user, form, errors, referral, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

/// The DfE source code a partner agency's referral carries.
fn source_of(kind: AgencyKind) -> &'static str {
    match kind {
        AgencyKind::Police => "6",
        AgencyKind::Health => "3F",
        AgencyKind::School => "2A",
        AgencyKind::Education => "2B",
        AgencyKind::Housing => "4",
        AgencyKind::ChildrensServices => "5A",
        AgencyKind::Probation | AgencyKind::Licensing => "7",
        AgencyKind::Voluntary | AgencyKind::Other => "8",
    }
}

/// A partner agency's professional referral: the referrer is the signed-in user, so the form
/// asks only about the child and the concern.
pub(crate) async fn referral_form(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    axum::extract::Query(q): axum::extract::Query<CallTypeQuery>,
) -> Result<Response, PageError> {
    let call_type = q.call_type.unwrap_or_else(|| crate::screening::DEFAULT_CALL_TYPE.to_owned());
    let form = ContactForm { call_type, ..Default::default() };
    contact_form_page(&state, &user, form, Vec::new(), true, StatusCode::OK)
}

pub(crate) async fn create_referral(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mut form = ContactForm::from_pairs(pairs);
    form.channel = Channel::ProfessionalReferral.as_str().to_owned();
    form.source_code = source_of(user.user.agency.kind).to_owned();
    form.anonymous = false;
    form.reporter_name = format!("{} ({})", user.user.display_name, user.user.agency.name);
    form.reporter_relationship = "professional".into();
    form.reporter_phone.clear();
    record_from_form(&state, &user, form, true).await
}

/// A run of narrative text, highlighted when it is an indicator mention.
pub struct Segment {
    pub text: String,
    /// "" for plain text, "ind" for a mention that counts, "ind-neg" for a negated or hypothetical one.
    pub class: &'static str,
    pub title: String,
}

/// Cut the narrative at the mentions' byte spans (which the matcher guarantees are in order,
/// non-overlapping and on character boundaries; anything else is shown unhighlighted).
fn segments(narrative: &str, indicators: &[api::IndicatorView]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = 0;
    for i in indicators {
        let (Some(before), Some(mention)) = (narrative.get(at..i.start), narrative.get(i.start..i.end)) else {
            continue;
        };
        if i.start < at {
            continue;
        }
        if !before.is_empty() {
            out.push(Segment { text: before.to_owned(), class: "", title: String::new() });
        }
        let flagged = i.negated || i.hypothetical;
        let how = if i.negated {
            ", negated"
        } else if i.hypothetical {
            ", hypothetical"
        } else {
            ""
        };
        out.push(Segment {
            text: mention.to_owned(),
            class: if flagged { "ind-neg" } else { "ind" },
            title: format!("{} ({}{how})", i.term, i.group.replace('_', " ")),
        });
        at = i.end;
    }
    if let Some(rest) = narrative.get(at..)
        && !rest.is_empty()
    {
        out.push(Segment { text: rest.to_owned(), class: "", title: String::new() });
    }
    out
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    layout: Layout,
    contact: api::ContactView,
    segments: Vec<Segment>,
    received: String,
    channel: String,
    child_name: String,
    recorded_by: String,
    just_recorded: bool,
    level_name: &'static str,
    call_type_title: String,
    decision_due: String,
    overdue: bool,
    can_decide: bool,
    /// May leave the anonymous online sender a message (the front-door team).
    can_message: bool,
    can_manage_alerts: bool,
    outcomes: Vec<Choice>,
    alerts: Vec<AlertRow>,
    /// Decision form values and errors, when a decision was refused.
    decision_form: DecisionForm,
    decision_errors: Vec<FieldError>,
    /// May move the contact to another record of the same child (the front-door team).
    can_move: bool,
    /// Why a move was refused (`to_child`, `move_reason`), the child it was for and the reason
    /// given.
    move_errors: Vec<FieldError>,
    move_to: String,
    move_reason: String,
    /// Why the contact cannot move, when the viewer could otherwise move it.
    move_blocked: String,
    show_context: bool,
    /// What the source systems hold about the child (as far as the viewer may see).
    record_check: crate::records::RecordCheck,
}

/// An alert as a table row, with what the viewer may do to it.
pub struct AlertRow {
    pub alert: api::AlertView,
    pub kind_label: String,
    pub raised: String,
    pub due: String,
    pub overdue: bool,
    pub reference: String,
    pub child_name: String,
    /// "you", or the name of the person it is addressed to; empty when it is the team's.
    pub addressed_to: String,
}

impl AlertRow {
    fn new(a: &frontdoor_store::AlertRecord, now: DateTime<Utc>) -> AlertRow {
        AlertRow {
            alert: api::AlertView::from(a),
            kind_label: a.kind.replace('_', " "),
            raised: local(a.raised_at),
            due: local(a.due_at),
            overdue: a.due_at < now && !a.state.is_closed(),
            reference: String::new(),
            child_name: String::new(),
            addressed_to: String::new(),
        }
    }

    /// Fill in who the alert is addressed to, as the viewer should read it.
    async fn address(
        &mut self,
        a: &frontdoor_store::AlertRecord,
        state: &AppState,
        viewer: &CurrentUser,
    ) -> Result<(), AppError> {
        self.addressed_to = match a.for_user {
            None => String::new(),
            Some(u) if u == viewer.actor.user_id => "you".to_owned(),
            Some(u) => state.store.user(u).await?.map_or_else(|| "a former user".to_owned(), |r| r.display_name),
        };
        Ok(())
    }
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reasons: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct MoveForm {
    #[serde(default)]
    to_child: String,
    #[serde(default)]
    move_reason: String,
}

#[derive(Deserialize)]
pub(crate) struct ContactQuery {
    recorded: Option<String>,
}

pub(crate) async fn contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ContactQuery>,
) -> Result<Response, PageError> {
    let c = api::load_contact(&state, &user, &id).await?;
    contact_page(
        &state,
        &user,
        c,
        q.recorded.is_some(),
        DecisionForm::default(),
        Vec::new(),
        Default::default(),
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn contact_page(
    state: &AppState,
    user: &CurrentUser,
    c: frontdoor_store::ContactRecord,
    just_recorded: bool,
    decision_form: DecisionForm,
    decision_errors: Vec<FieldError>,
    (move_to, move_reason): (String, String),
    status: StatusCode,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let child = state.store.child(c.child_id).await?;
    let child_name = child.as_ref().map(|ch| format!("{} {}", ch.given_name, ch.family_name)).unwrap_or_default();
    let record_check = match &child {
        Some(ch) => crate::records::check_child(state, user, ch).await?,
        None => crate::records::RecordCheck::default(),
    };
    let contact = api::ContactView::load(state, user, &c).await?;
    let segments = segments(&contact.narrative, &contact.indicators);
    let recorded_by = match c.recorded_by {
        Some(u) => {
            state.store.user(u).await?.map(|u| format!("{} ({})", u.display_name, u.agency.name)).unwrap_or_default()
        }
        None => "system".into(),
    };
    let a = &user.actor;
    let can_message =
        decide(a, Action::DecideContact, &Resource::Contact { owner_agency: c.owner_agency }, Purpose::Triage).allowed;
    let can_decide = contact.decision.is_none() && can_message;
    let may_move =
        decide(a, Action::MoveContact, &Resource::Contact { owner_agency: c.owner_agency }, Purpose::Triage).allowed;
    let opened_case =
        may_move && state.store.cse_cases_of_child(c.child_id).await?.iter().any(|case| case.contact_id == Some(c.id));
    let can_move = may_move && !opened_case;
    let move_blocked = if opened_case {
        "This contact referred the child to the CSE pathway: it stays with the case's record.".to_owned()
    } else {
        String::new()
    };
    let (move_errors, decision_errors): (Vec<FieldError>, Vec<FieldError>) =
        decision_errors.into_iter().partition(|e| e.field == "to_child" || e.field == "move_reason");
    let child_resource = Resource::Child { contributing_agencies: state.store.child_agencies(c.child_id).await? };
    let can_manage_alerts = decide(a, Action::ManageAlerts, &child_resource, Purpose::Triage).allowed;
    let mut alerts = Vec::new();
    for al in state.store.alerts_for_contact(c.id).await? {
        let mut row = AlertRow::new(&al, now);
        row.address(&al, state, user).await?;
        alerts.push(row);
    }
    let page = ContactPage {
        layout: Layout::for_user(&format!("Contact {}", c.reference), user),
        received: local(c.received_at),
        channel: Channel::parse(&c.channel).map(|ch| ch.label()).unwrap_or("").to_owned(),
        level_name: frontdoor_screen::protocol::level_name(contact.level_of_need),
        call_type_title: contact
            .call_type
            .as_deref()
            .map(|t| state.screening.protocol(t).map(|p| p.title().to_owned()).unwrap_or_else(|| t.to_owned()))
            .unwrap_or_default(),
        decision_due: contact.decision_due.map(local).unwrap_or_default(),
        overdue: contact.decision.is_none() && contact.decision_due.is_some_and(|d| d < now),
        contact,
        segments,
        child_name,
        recorded_by,
        just_recorded,
        can_decide,
        can_message,
        can_manage_alerts,
        outcomes: DecisionOutcome::ALL
            .iter()
            .map(|o| Choice { value: o.as_str(), label: o.label().to_owned() })
            .collect(),
        alerts,
        decision_form,
        decision_errors,
        can_move,
        move_errors,
        move_to,
        move_reason,
        move_blocked,
        show_context: false,
        record_check,
    };
    render(page, status)
}

/// What a contact-page form's service call came to: `None` when it was done, else the problems
/// to show on the page again and its status (a conflict is shown against `conflict_field`).
fn refused<T>(
    r: Result<T, service::ServiceError>,
    conflict_field: &str,
) -> Result<Option<(Vec<FieldError>, StatusCode)>, PageError> {
    match r {
        Ok(_) => Ok(None),
        Err(service::ServiceError::Invalid(errors)) => Ok(Some((errors, StatusCode::UNPROCESSABLE_ENTITY))),
        Err(service::ServiceError::Conflict(m)) => {
            Ok(Some((vec![FieldError { field: conflict_field.into(), message: m }], StatusCode::CONFLICT)))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn decide_contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let c = api::contact_for(&state, &user, Action::DecideContact, &id).await?;
    let done =
        crate::intake::decide_contact(&state.store, &user.actor, c.id, &form.outcome, &form.reasons, Utc::now()).await;
    let Some((errors, status)) = refused(done, "outcome")? else {
        return Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response());
    };
    contact_page(&state, &user, c, false, form, errors, Default::default(), status).await
}

pub(crate) async fn move_contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let c = api::contact_for(&state, &user, Action::MoveContact, &id).await?;
    let cfg = &state.screening.cfg;
    let done = crate::intake::move_contact(
        &state.store,
        cfg,
        &user.actor,
        c.id,
        &form.to_child,
        &form.move_reason,
        Utc::now(),
    )
    .await;
    let Some((errors, status)) = refused(done, "to_child")? else {
        return Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response());
    };
    let typed = (form.to_child, form.move_reason);
    contact_page(&state, &user, c, false, DecisionForm::default(), errors, typed, status).await
}

pub(crate) async fn status_message(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let c = api::contact_for(&state, &user, Action::DecideContact, &id).await?;
    let message = form.iter().find(|(k, _)| k == "message").map(|(_, v)| v.as_str()).unwrap_or_default();
    let done = crate::intake::leave_status_message(&state.store, &user.actor, c.id, message, Utc::now()).await;
    let Some((errors, status)) = refused(done, "message")? else {
        return Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response());
    };
    contact_page(&state, &user, c, false, DecisionForm::default(), errors, Default::default(), status).await
}

#[derive(Deserialize)]
pub(crate) struct AlertForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    /// Where to go back to: the contact page or the alerts page.
    #[serde(default)]
    back: String,
}

pub(crate) async fn update_alert(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<AlertForm>,
) -> Result<Response, PageError> {
    let alert = api::alert_for(&state, &user, &id).await?;
    let action = crate::intake::AlertAction::parse(&form.action, &form.note)?;
    crate::intake::update_alert(&state.store, &user.actor, &alert, action, Utc::now()).await?;
    // Only our own pages are places to return to.
    let back = match (form.back.as_str(), alert.contact_id) {
        ("contact", Some(c)) => format!("/contacts/{c}"),
        _ => "/alerts".to_owned(),
    };
    Ok(Redirect::to(&back).into_response())
}

// ---- worklist and alerts ---------------------------------------------------------------------

pub struct WorklistRow {
    pub entry: api::WorklistEntry,
    pub received: String,
    pub due: String,
    pub level_name: &'static str,
    pub call_type_title: String,
}

#[derive(Template)]
#[template(path = "worklist.html")]
struct WorklistPage {
    layout: Layout,
    rows: Vec<WorklistRow>,
    overdue: usize,
}

pub(crate) async fn worklist(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let items = api::load_worklist(&state, &user).await?;
    let rows: Vec<WorklistRow> = items
        .iter()
        .map(|w| WorklistRow {
            entry: api::WorklistEntry::new(w, now),
            received: local(w.contact.received_at),
            due: local(w.decision_due),
            level_name: frontdoor_screen::protocol::level_name(w.level_of_need),
            call_type_title: state.screening.protocol(&w.call_type).map(|p| p.title().to_owned()).unwrap_or_default(),
        })
        .collect();
    let overdue = rows.iter().filter(|r| r.entry.overdue).count();
    render(WorklistPage { layout: Layout::for_user("Worklist", &user), rows, overdue }, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    layout: Layout,
    alerts: Vec<AlertRow>,
    can_manage_alerts: bool,
    show_context: bool,
}

pub(crate) async fn alerts(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let mut alerts = api::load_alerts(&state, &user).await?;
    // Those addressed to the viewer first; otherwise the store's order (urgent, then due).
    alerts.sort_by_key(|a| a.for_user != Some(user.actor.user_id));
    let mut rows = Vec::with_capacity(alerts.len());
    for a in &alerts {
        let mut row = AlertRow::new(a, now);
        row.address(a, &state, &user).await?;
        if let Some(c) = a.contact_id
            && let Some(c) = state.store.contact(c).await?
        {
            row.reference = c.reference;
        }
        if let Some(ch) = state.store.child(a.child_id).await? {
            row.child_name = format!("{} {}", ch.given_name, ch.family_name);
        }
        rows.push(row);
    }
    let any_child = Resource::Child { contributing_agencies: Vec::new() };
    let can_manage_alerts = decide(&user.actor, Action::ManageAlerts, &any_child, Purpose::Triage).allowed;
    render(
        AlertsPage { layout: Layout::for_user("Alerts", &user), alerts: rows, can_manage_alerts, show_context: true },
        StatusCode::OK,
    )
}

pub struct ChildEnquiry {
    pub id: String,
    pub question: String,
    pub opened: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "child.html")]
struct ChildPage {
    layout: Layout,
    child: frontdoor_store::ChildRecord,
    own_agency_only: bool,
    more_held_elsewhere: bool,
    entries: Vec<(String, ChronologyItem)>,
    flags: Vec<api::FlagView>,
    can_flag: bool,
    all_flags: Vec<Choice>,
    flag_errors: Vec<FieldError>,
    /// The child's GP practice and school or college (names; empty: not recorded).
    gp_name: String,
    setting_name: String,
    /// Choices for recording them: (agency id, name).
    health_agencies: Vec<(String, String)>,
    education_agencies: Vec<(String, String)>,
    enquiries: Vec<ChildEnquiry>,
    can_open_enquiry: bool,
    actions: Vec<crate::actions_http::ActionView>,
    can_assign: bool,
    entry_types: Vec<(&'static str, &'static str)>,
    entry_agencies: Vec<(String, String)>,
    filter_type: String,
    filter_agency: String,
}

pub(crate) async fn chronology(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    axum::extract::Query(filter): axum::extract::Query<api::ChronologyFilter>,
) -> Result<Response, PageError> {
    child_page(&state, &user, &id, filter, Vec::new(), StatusCode::OK).await
}

async fn child_page(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    filter: api::ChronologyFilter,
    flag_errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let mut c = api::load_chronology(state, user, id).await?;
    // The agencies the viewer's entries come from, for the filter (before filtering).
    let mut entry_agencies: Vec<(String, String)> =
        c.entries.iter().filter_map(|e| Some((e.agency_id?.to_string(), e.agency_name.clone()?))).collect();
    entry_agencies.sort_by(|a, b| a.1.cmp(&b.1));
    entry_agencies.dedup();
    c.entries.retain(|e| filter.keeps(e));
    let resource = Resource::Child { contributing_agencies: state.store.child_agencies(c.child.id).await? };
    let flags = api::flag_views(state, user, c.child.id).await?;
    let child_id = c.child.id;
    let agencies = state.store.agencies().await?;
    let name_of = |id: Option<AgencyId>| {
        id.and_then(|id| agencies.iter().find(|a| a.id == id)).map(|a| a.name.clone()).unwrap_or_default()
    };
    let (gp_name, setting_name) = (name_of(c.child.gp_practice), name_of(c.child.education_setting));
    let of_kind = |kinds: &[AgencyKind]| -> Vec<(String, String)> {
        agencies.iter().filter(|a| kinds.contains(&a.kind)).map(|a| (a.id.to_string(), a.name.clone())).collect()
    };
    let page = ChildPage {
        layout: Layout::for_user(&format!("{} {}", c.child.given_name, c.child.family_name), user),
        own_agency_only: c.scope == frontdoor_core::policy::Scope::OwnAgency,
        more_held_elsewhere: c.more_held_elsewhere,
        entries: c.entries.iter().map(|e| (local(e.occurred_at), api::chronology_item(e))).collect(),
        child: c.child,
        flags,
        can_flag: decide(&user.actor, Action::FlagChild, &resource, Purpose::Triage).allowed,
        enquiries: state
            .store
            .enquiries_of_child(child_id)
            .await?
            .into_iter()
            .filter(|e| {
                let r = Resource::Enquiry(e.parties());
                decide(&user.actor, Action::ViewEnquiry, &r, purpose_for(user, Action::ViewEnquiry)).allowed
            })
            .map(|e| ChildEnquiry {
                id: e.id.to_string(),
                question: e.question.clone(),
                opened: local(e.opened_at),
                status: e.outcome.map_or("Open".to_owned(), |o| o.label().to_owned()),
            })
            .collect(),
        can_open_enquiry: authorize_service(user, Action::OpenEnquiry).is_ok(),
        actions: crate::actions_http::of_child(state, user, child_id).await?,
        can_assign: authorize_service(user, Action::AssignAction).is_ok(),
        entry_types: api::ENTRY_TYPES.to_vec(),
        entry_agencies,
        filter_type: filter.kind.trim().to_owned(),
        filter_agency: filter.agency.trim().to_owned(),
        all_flags: ChildFlag::ALL.iter().map(|f| Choice { value: f.as_str(), label: f.label().to_owned() }).collect(),
        flag_errors,
        gp_name,
        setting_name,
        health_agencies: of_kind(&[AgencyKind::Health]),
        education_agencies: of_kind(&[AgencyKind::School, AgencyKind::Education]),
    };
    render(page, status)
}

#[derive(Deserialize)]
pub(crate) struct FlagForm {
    #[serde(default)]
    flag: String,
    /// "set" or "clear"
    #[serde(default)]
    change: String,
    #[serde(default)]
    note: String,
}

pub(crate) async fn flag_child(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<FlagForm>,
) -> Result<Response, PageError> {
    let child = api::child_for(&state, &user, Action::FlagChild, &id).await?;
    let set = form.change != "clear";
    match crate::intake::flag_child(&state.store, &user.actor, child.id, &form.flag, set, &form.note, Utc::now()).await
    {
        Ok(_) => Ok(Redirect::to(&format!("/children/{}", child.id)).into_response()),
        Err(service::ServiceError::Invalid(errors)) => {
            child_page(&state, &user, &id, api::ChronologyFilter::default(), errors, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn record_settings(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let child = api::child_for(&state, &user, Action::FlagChild, &id).await?;
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let input =
        crate::cse::SettingsInput { gp_practice: field("gp_practice"), education_setting: field("education_setting") };
    match crate::cse::record_settings(&state.store, &user.actor, &child, &input, Utc::now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/children/{}", child.id)).into_response()),
        Err(service::ServiceError::Invalid(errors)) => {
            child_page(&state, &user, &id, api::ChronologyFilter::default(), errors, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- administration -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub(crate) struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<frontdoor_store::UserRecord>,
    agencies: Vec<frontdoor_store::AgencyRecord>,
    roles: Vec<Role>,
    errors: Vec<FieldError>,
    form: UserForm,
    created: Option<(String, String)>,
}

async fn users_page(
    state: &AppState,
    user: &CurrentUser,
    form: UserForm,
    errors: Vec<FieldError>,
    created: Option<(String, String)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let page = UsersPage {
        layout: Layout::for_user("Users", user),
        users: state.store.users().await?,
        agencies: state.store.agencies().await?,
        roles: Role::ALL.to_vec(),
        errors,
        form,
        created,
    };
    render(page, status)
}

pub(crate) async fn users(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    users_page(&state, &user, UserForm::default(), Vec::new(), None, StatusCode::OK).await
}

pub(crate) async fn add_user(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let mut errors = Vec::new();
    let agency_id = form.agency.parse::<AgencyId>().ok();
    if agency_id.is_none() {
        errors.push(FieldError { field: "agency".into(), message: "choose an agency".into() });
    }
    let role = form.role.parse::<Role>().ok();
    if role.is_none() {
        errors.push(FieldError { field: "role".into(), message: "choose a role".into() });
    }
    if let (Some(agency_id), Some(role), true) = (agency_id, role, errors.is_empty()) {
        let password = crate::passwords::generate_password();
        let new = NewUser {
            username: form.username.clone(),
            display_name: form.display_name.clone(),
            agency_id,
            roles: vec![role],
        };
        match service::register_user(&state.store, &state.passwords, new, &password, Some(&user.actor), Utc::now())
            .await
        {
            Ok(_) => {
                let username = form.username.trim().to_ascii_lowercase();
                return users_page(
                    &state,
                    &user,
                    UserForm::default(),
                    Vec::new(),
                    Some((username, password)),
                    StatusCode::CREATED,
                )
                .await;
            }
            Err(service::ServiceError::Invalid(e)) => errors = e,
            Err(service::ServiceError::Conflict(m)) => errors.push(FieldError { field: "username".into(), message: m }),
            Err(e) => return Err(e.into()),
        }
    }
    users_page(&state, &user, form, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Deserialize)]
pub(crate) struct DisableForm {
    #[serde(default)]
    reason: String,
}

pub(crate) async fn disable_user(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<DisableForm>,
) -> Result<Response, PageError> {
    let target = match id.parse::<UserId>() {
        Ok(uid) => state.store.user(uid).await?,
        Err(_) => None,
    }
    .ok_or(PageError(AppError::NotFound))?;
    let reason = if form.reason.trim().is_empty() { "disabled by an administrator".to_owned() } else { form.reason };
    match service::disable_user(&state.store, &target.username, &reason, Some(&user.actor), Utc::now()).await {
        Ok(()) => Ok(Redirect::to("/admin/users").into_response()),
        Err(service::ServiceError::Conflict(m)) => {
            let errors = vec![FieldError { field: "status".into(), message: m }];
            users_page(&state, &user, UserForm::default(), errors, None, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- audit and figures ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    report: frontdoor_store::VerifyReport,
    entries: Vec<(String, frontdoor_store::AccessLogRow)>,
}

pub(crate) async fn audit(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let report = state.store.verify_chains().await?;
    let entries = state.store.access_log(200).await?.into_iter().map(|e| (local(e.at), e)).collect();
    render(AuditPage { layout: Layout::for_user("Audit trail", &user), report, entries }, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "links.html")]
struct LinksPage {
    layout: Layout,
    queue: Vec<crate::records::QueuedLink>,
    decided: Vec<crate::records::DecidedLink>,
    errors: Vec<FieldError>,
}

pub(crate) async fn links(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    links_page(&state, &user, Vec::new(), StatusCode::OK).await
}

async fn links_page(
    state: &AppState,
    user: &CurrentUser,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let queue = crate::records::queue(state, user, 50).await?;
    let decided = crate::records::decided(state, 30).await?;
    render(LinksPage { layout: Layout::for_user("Are these the same person?", user), queue, decided, errors }, status)
}

#[derive(Deserialize, Default)]
pub(crate) struct LinkForm {
    #[serde(default)]
    a_source: String,
    #[serde(default)]
    a_record: String,
    #[serde(default)]
    b_source: String,
    #[serde(default)]
    b_record: String,
    /// `same` or `different` (decisions only).
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
}

impl LinkForm {
    fn pair(&self) -> (crate::records::RecordRefView, crate::records::RecordRefView) {
        use crate::records::RecordRefView as R;
        (
            R { source: self.a_source.clone(), record_id: self.a_record.clone() },
            R { source: self.b_source.clone(), record_id: self.b_record.clone() },
        )
    }
}

pub(crate) async fn link_decision(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    let same = match form.verdict.as_str() {
        "same" => true,
        "different" => false,
        _ => {
            let errors =
                vec![FieldError { field: "verdict".into(), message: "choose: the same person, or two people".into() }];
            return links_page(&state, &user, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let (a, b) = form.pair();
    match crate::records::decide_link(&state, &user, a, b, same, &form.reason).await {
        Ok(()) => Ok(Redirect::to("/links").into_response()),
        Err(AppError::Invalid(errors)) => links_page(&state, &user, errors, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn link_undo(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    let (a, b) = form.pair();
    match crate::records::undo_link(&state, &user, a, b, &form.reason).await {
        Ok(()) => Ok(Redirect::to("/links").into_response()),
        Err(AppError::Invalid(errors)) => links_page(&state, &user, errors, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(AppError::Conflict(message)) => {
            links_page(&state, &user, vec![FieldError { field: "reason".into(), message }], StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    layout: Layout,
    stats: StatsView,
    suppress_below: i64,
}

pub(crate) async fn stats(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let stats = api::stats(&state).await?;
    render(
        StatsPage { layout: Layout::for_user("Figures", &user), stats, suppress_below: api::SUPPRESS_BELOW },
        StatusCode::OK,
    )
}
