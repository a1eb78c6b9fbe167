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
use frontdoor_core::contact::{ChildDraft, ContactDraft, FieldError};
use frontdoor_core::{Action, AgencyId, Channel, Resource, Role, SourceCode, UserId, decide};
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
    fn for_user(title: &str, user: &CurrentUser) -> Layout {
        let places = [
            ("/", "Home", Action::ViewHome),
            ("/contacts/new", "Log a contact", Action::CreateContact),
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
                .map(|(href, label, _)| NavItem { href, label })
                .collect(),
        }
    }
}

fn render(t: impl Template, status: StatusCode) -> Result<Response, PageError> {
    let html = t.render().map_err(AppError::internal)?;
    Ok((status, axum::response::Html(html)).into_response())
}

fn local(t: DateTime<Utc>) -> String {
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
    let page = HomePage {
        layout: Layout::for_user("Home", &user),
        worklist_title: title,
        contacts,
        can_log,
        is_admin: authorize_service(&user, Action::ManageUsers).is_ok(),
        is_auditor: authorize_service(&user, Action::ViewAuditTrail).is_ok(),
        is_analyst: authorize_service(&user, Action::ViewAggregates).is_ok(),
    };
    render(page, StatusCode::OK)
}

// ---- contacts -------------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
pub(crate) struct ContactForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    source_code: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    narrative: String,
}

pub struct Choice {
    pub value: &'static str,
    pub label: String,
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
}

fn contact_form_page(
    user: &CurrentUser,
    form: ContactForm,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let field_errors =
        errors.iter().map(|e| (e.field.trim_start_matches("child.").to_owned(), e.message.clone())).collect();
    let page = ContactFormPage {
        layout: Layout::for_user("Log a contact", user),
        form,
        errors,
        field_errors,
        channels: Channel::ALL.iter().map(|c| Choice { value: c.as_str(), label: c.label().to_owned() }).collect(),
        sources: SourceCode::ALL.iter().map(|(c, l)| Choice { value: c, label: format!("{c} – {l}") }).collect(),
    };
    render(page, status)
}

pub(crate) async fn contact_form(Extension(user): Extension<CurrentUser>) -> Result<Response, PageError> {
    let form = ContactForm { channel: "phone".into(), ..Default::default() };
    contact_form_page(&user, form, Vec::new(), StatusCode::OK)
}

pub(crate) async fn create_contact(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Form(form): Form<ContactForm>,
) -> Result<Response, PageError> {
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    let draft = ContactDraft {
        channel: form.channel.clone(),
        source_code: form.source_code.clone(),
        child: ChildDraft {
            given_name: form.given_name.clone(),
            family_name: form.family_name.clone(),
            date_of_birth: opt(&form.date_of_birth),
            sex: opt(&form.sex),
            postcode: opt(&form.postcode),
        },
        narrative: form.narrative.clone(),
        received_at: None,
    };
    let purpose = purpose_for(&user, Action::CreateContact);
    match service::record_contact(&state.store, &state.screening, &user.actor, purpose, &draft, Utc::now()).await {
        Ok(r) => {
            ::metrics::counter!("frontdoor_contacts_recorded_total").increment(1);
            Ok(Redirect::to(&format!("/contacts/{}?recorded=1", r.contact_id)).into_response())
        }
        Err(service::ServiceError::Invalid(errors)) => {
            contact_form_page(&user, form, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
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
    let child_name = match state.store.child(c.child_id).await? {
        Some(ch) => format!("{} {}", ch.given_name, ch.family_name),
        None => String::new(),
    };
    let indicators = state.store.contact_screening(c.id).await?.unwrap_or_default();
    let contact = api::ContactView::new(&c, indicators);
    let segments = segments(&contact.narrative, &contact.indicators);
    let recorded_by = match c.recorded_by {
        Some(u) => {
            state.store.user(u).await?.map(|u| format!("{} ({})", u.display_name, u.agency.name)).unwrap_or_default()
        }
        None => "system".into(),
    };
    let page = ContactPage {
        layout: Layout::for_user(&format!("Contact {}", c.reference), &user),
        received: local(c.received_at),
        channel: Channel::parse(&c.channel).map(|ch| ch.label()).unwrap_or("").to_owned(),
        contact,
        segments,
        child_name,
        recorded_by,
        just_recorded: q.recorded.is_some(),
    };
    render(page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "child.html")]
struct ChildPage {
    layout: Layout,
    child: frontdoor_store::ChildRecord,
    own_agency_only: bool,
    more_held_elsewhere: bool,
    entries: Vec<(String, ChronologyItem)>,
}

pub(crate) async fn chronology(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let c = api::load_chronology(&state, &user, &id).await?;
    let page = ChildPage {
        layout: Layout::for_user(&format!("{} {}", c.child.given_name, c.child.family_name), &user),
        own_agency_only: c.scope == frontdoor_core::policy::Scope::OwnAgency,
        more_held_elsewhere: c.more_held_elsewhere,
        entries: c.entries.iter().map(|e| (local(e.occurred_at), api::chronology_item(e))).collect(),
        child: c.child,
    };
    render(page, StatusCode::OK)
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
