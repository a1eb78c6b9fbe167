//! Every route Frontdoor serves, with its guard. The router is built from this list, so a route
//! cannot exist without a declared guard, and the authorization-matrix test walks the same list.

use crate::auth::{self, CurrentUser};
use crate::error::AppError;
use crate::pages::PageError;
use crate::{
    AppState, actions_http, api, audit_http, cse_http, cse_pages, enquiries, enquiry_pages, metrics, pages, public,
    public_concern, reports, security,
};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post, put};
use frontdoor_core::Action;

/// Who may reach a route before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// No sign-in (sign-in itself, health, metrics, the OpenAPI document, static files).
    Public,
    /// A signed-in user whose request the policy allows for this action. Service-level actions
    /// are decided by the guard; record-level ones (a contact, a child) by the handler, per record.
    Signed(Action),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub guard: Guard,
}

impl RouteSpec {
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/")
    }
}

fn spec(method: &'static str, path: &'static str, guard: Guard) -> RouteSpec {
    RouteSpec { method, path, guard }
}

use Guard::{Public, Signed};

/// The route table: (method, path, guard) and the handler.
fn table() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    vec![
        // Infrastructure
        (spec("GET", "/healthz", Public), get(api::healthz)),
        (spec("GET", "/metrics", Public), get(metrics::render)),
        (spec("GET", "/api/openapi.json", Public), get(api::openapi)),
        (spec("GET", "/static/app.css", Public), get(security::stylesheet)),
        // The public site (no sign-in; `/` itself is its start page for anyone not signed in)
        (spec("GET", "/static/public.js", Public), get(public::script)),
        (spec("GET", "/info/{slug}", Public), get(public::info)),
        (spec("GET", "/support", Public), get(public::support)),
        (spec("GET", "/leave", Public), get(public::leave)),
        (spec("GET", "/concern", Public), get(public_concern::start)),
        (spec("GET", "/concern/follow-up", Public), get(public_concern::follow_up_form)),
        (spec("POST", "/concern/follow-up", Public), post(public_concern::follow_up)),
        (spec("POST", "/concern/follow-up/add", Public), post(public_concern::follow_up_add)),
        (spec("GET", "/concern/{step}", Public), get(public_concern::show)),
        (spec("POST", "/concern/{step}", Public), post(public_concern::answer)),
        // Sign-in
        (spec("GET", "/login", Public), get(pages::login_form)),
        (spec("POST", "/login", Public), post(pages::login)),
        (spec("POST", "/logout", Signed(Action::ViewHome)), post(pages::logout)),
        (spec("POST", "/api/v1/auth/token", Public), post(api::token)),
        (spec("POST", "/api/v1/auth/logout", Signed(Action::ViewHome)), post(api::logout)),
        // Pages
        (spec("GET", "/", Signed(Action::ViewHome)), get(pages::home)),
        (spec("GET", "/contacts/new", Signed(Action::CreateContact)), get(pages::contact_form)),
        (spec("POST", "/contacts", Signed(Action::CreateContact)), post(pages::create_contact)),
        (spec("GET", "/contacts/{id}", Signed(Action::ViewContact)), get(pages::contact)),
        (spec("POST", "/contacts/{id}/decision", Signed(Action::DecideContact)), post(pages::decide_contact)),
        (spec("POST", "/contacts/{id}/status-message", Signed(Action::DecideContact)), post(pages::status_message)),
        (spec("POST", "/contacts/{id}/move", Signed(Action::MoveContact)), post(pages::move_contact)),
        (spec("GET", "/refer", Signed(Action::CreateContact)), get(pages::referral_form)),
        (spec("POST", "/refer", Signed(Action::CreateContact)), post(pages::create_referral)),
        (spec("GET", "/worklist", Signed(Action::ViewWorklist)), get(pages::worklist)),
        (spec("GET", "/alerts", Signed(Action::ViewWorklist)), get(pages::alerts)),
        (spec("POST", "/alerts/{id}", Signed(Action::ManageAlerts)), post(pages::update_alert)),
        (spec("POST", "/children/{id}/flags", Signed(Action::FlagChild)), post(pages::flag_child)),
        (spec("POST", "/children/{id}/settings", Signed(Action::FlagChild)), post(pages::record_settings)),
        (spec("GET", "/children/{id}", Signed(Action::ViewChronology)), get(pages::chronology)),
        (spec("GET", "/admin/users", Signed(Action::ManageUsers)), get(pages::users)),
        (spec("POST", "/admin/users", Signed(Action::ManageUsers)), post(pages::add_user)),
        (spec("POST", "/admin/users/{id}/disable", Signed(Action::ManageUsers)), post(pages::disable_user)),
        (spec("GET", "/audit", Signed(Action::ViewAuditTrail)), get(pages::audit)),
        (spec("GET", "/stats", Signed(Action::ViewAggregates)), get(pages::stats)),
        (spec("GET", "/reports/schools", Signed(Action::ViewAggregates)), get(reports::schools_page)),
        (spec("GET", "/links", Signed(Action::ReviewLinks)), get(pages::links)),
        (spec("POST", "/links/decision", Signed(Action::ReviewLinks)), post(pages::link_decision)),
        (spec("POST", "/links/undo", Signed(Action::ReviewLinks)), post(pages::link_undo)),
        (spec("GET", "/enquiries", Signed(Action::ListEnquiries)), get(enquiry_pages::list)),
        (spec("GET", "/enquiries/new", Signed(Action::OpenEnquiry)), get(enquiry_pages::new_form)),
        (spec("POST", "/enquiries", Signed(Action::OpenEnquiry)), post(enquiry_pages::open)),
        (spec("GET", "/enquiries/{id}", Signed(Action::ViewEnquiry)), get(enquiry_pages::show)),
        (
            spec("POST", "/enquiries/{id}/contributions", Signed(Action::ContributeToEnquiry)),
            post(enquiry_pages::contribute),
        ),
        (
            spec("POST", "/enquiries/{id}/contributions/{contribution}", Signed(Action::AmendEnquiryContribution)),
            post(enquiry_pages::amend),
        ),
        (
            spec(
                "POST",
                "/enquiries/{id}/contributions/{contribution}/releases",
                Signed(Action::ReleaseEnquiryInformation),
            ),
            post(enquiry_pages::release),
        ),
        (spec("POST", "/enquiries/{id}/outcome", Signed(Action::ConcludeEnquiry)), post(enquiry_pages::conclude)),
        (spec("GET", "/cse", Signed(Action::ViewCseBoard)), get(cse_pages::board)),
        (spec("GET", "/cse/caseloads", Signed(Action::ViewCaseloads)), get(cse_pages::caseloads)),
        (spec("GET", "/cse/cases/{id}", Signed(Action::ViewCseCase)), get(cse_pages::show)),
        (spec("POST", "/cse/cases/{id}/steps", Signed(Action::WorkCseCase)), post(cse_pages::step)),
        (spec("POST", "/cse/cases/{id}/support", Signed(Action::WorkCseCase)), post(cse_pages::support)),
        (spec("POST", "/cse/cases/{id}/notifications", Signed(Action::WorkCseCase)), post(cse_pages::notify)),
        (spec("GET", "/notifications", Signed(Action::ViewNotifications)), get(cse_pages::notifications)),
        (spec("GET", "/cse/audits", Signed(Action::AuditCases)), get(audit_http::page)),
        (spec("POST", "/cse/audits", Signed(Action::AuditCases)), post(audit_http::draw_page)),
        (spec("GET", "/cse/audits/{id}", Signed(Action::AuditCases)), get(audit_http::show_page)),
        (spec("POST", "/cse/audits/{id}/findings", Signed(Action::AuditCases)), post(audit_http::finding_page)),
        (spec("GET", "/actions", Signed(Action::ListActions)), get(actions_http::page)),
        (spec("GET", "/actions/new", Signed(Action::AssignAction)), get(actions_http::new_page)),
        (spec("POST", "/actions", Signed(Action::AssignAction)), post(actions_http::create_page)),
        (spec("POST", "/actions/{id}/complete", Signed(Action::CompleteAction)), post(actions_http::complete_page)),
        // JSON API
        (spec("GET", "/api/v1/me", Signed(Action::ViewHome)), get(api::me)),
        (spec("POST", "/api/v1/contacts", Signed(Action::CreateContact)), post(api::create_contact)),
        (spec("GET", "/api/v1/contacts/{id}", Signed(Action::ViewContact)), get(api::contact)),
        (spec("GET", "/api/v1/children/{id}/chronology", Signed(Action::ViewChronology)), get(api::chronology)),
        (spec("GET", "/api/v1/users", Signed(Action::ManageUsers)), get(api::users)),
        (spec("GET", "/api/v1/audit/verify", Signed(Action::ViewAuditTrail)), get(api::audit_verify)),
        (spec("GET", "/api/v1/stats/contacts", Signed(Action::ViewAggregates)), get(api::contact_stats)),
        (spec("GET", "/api/v1/reports/schools", Signed(Action::ViewAggregates)), get(reports::schools_api)),
        (spec("GET", "/api/v1/protocols", Signed(Action::CreateContact)), get(api::protocols)),
        (spec("GET", "/api/v1/worklist", Signed(Action::ViewWorklist)), get(api::worklist)),
        (spec("POST", "/api/v1/contacts/{id}/decision", Signed(Action::DecideContact)), post(api::decide)),
        (spec("POST", "/api/v1/contacts/{id}/move", Signed(Action::MoveContact)), post(api::move_contact)),
        (spec("GET", "/api/v1/alerts", Signed(Action::ViewWorklist)), get(api::alerts)),
        (spec("POST", "/api/v1/alerts/{id}", Signed(Action::ManageAlerts)), post(api::update_alert)),
        (spec("POST", "/api/v1/children/{id}/flags", Signed(Action::FlagChild)), post(api::flag_child)),
        (spec("POST", "/api/v1/children/{id}/settings", Signed(Action::FlagChild)), post(api::record_settings)),
        (
            spec("POST", "/api/v1/contacts/{id}/status-message", Signed(Action::DecideContact)),
            post(api::status_message),
        ),
        (spec("POST", "/api/v1/feeds/{kind}", Signed(Action::ImportFeed)), post(api::import_feed)),
        (spec("GET", "/api/v1/contacts/{id}/records", Signed(Action::ViewContact)), get(api::contact_records)),
        (spec("GET", "/api/v1/links/queue", Signed(Action::ReviewLinks)), get(api::link_queue)),
        (spec("POST", "/api/v1/links/decision", Signed(Action::ReviewLinks)), post(api::link_decision)),
        (spec("POST", "/api/v1/links/undo", Signed(Action::ReviewLinks)), post(api::link_undo)),
        (spec("PUT", "/api/v1/people/{source}/{record_id}", Signed(Action::ImportFeed)), put(api::upsert_person)),
        (spec("GET", "/api/v1/agencies", Signed(Action::ViewHome)), get(enquiries::agencies)),
        (spec("GET", "/api/v1/enquiries", Signed(Action::ListEnquiries)), get(enquiries::index)),
        (spec("POST", "/api/v1/enquiries", Signed(Action::OpenEnquiry)), post(enquiries::open)),
        (spec("GET", "/api/v1/enquiries/{id}", Signed(Action::ViewEnquiry)), get(enquiries::show)),
        (
            spec("POST", "/api/v1/enquiries/{id}/contributions", Signed(Action::ContributeToEnquiry)),
            post(enquiries::contribute),
        ),
        (
            spec(
                "PUT",
                "/api/v1/enquiries/{id}/contributions/{contribution}",
                Signed(Action::AmendEnquiryContribution),
            ),
            put(enquiries::amend),
        ),
        (
            spec(
                "POST",
                "/api/v1/enquiries/{id}/contributions/{contribution}/releases",
                Signed(Action::ReleaseEnquiryInformation),
            ),
            post(enquiries::release),
        ),
        (spec("POST", "/api/v1/enquiries/{id}/outcome", Signed(Action::ConcludeEnquiry)), post(enquiries::conclude)),
        (spec("GET", "/api/v1/cse/cases", Signed(Action::ViewCseBoard)), get(cse_http::list)),
        (spec("GET", "/api/v1/cse/cases/{id}", Signed(Action::ViewCseCase)), get(cse_http::show)),
        (spec("POST", "/api/v1/cse/cases/{id}/steps", Signed(Action::WorkCseCase)), post(cse_http::take)),
        (spec("POST", "/api/v1/cse/cases/{id}/support", Signed(Action::WorkCseCase)), post(cse_http::record_support)),
        (spec("POST", "/api/v1/cse/cases/{id}/notifications", Signed(Action::WorkCseCase)), post(cse_http::notify_api)),
        (spec("GET", "/api/v1/notifications", Signed(Action::ViewNotifications)), get(cse_http::notifications_api)),
        (spec("GET", "/api/v1/cse/caseloads", Signed(Action::ViewCaseloads)), get(cse_http::loads)),
        (spec("GET", "/api/v1/cse/audits", Signed(Action::AuditCases)), get(audit_http::index)),
        (spec("POST", "/api/v1/cse/audits", Signed(Action::AuditCases)), post(audit_http::create)),
        (spec("GET", "/api/v1/cse/audits/{id}", Signed(Action::AuditCases)), get(audit_http::show)),
        (spec("POST", "/api/v1/cse/audits/{id}/findings", Signed(Action::AuditCases)), post(audit_http::finding)),
        (spec("GET", "/api/v1/actions", Signed(Action::ListActions)), get(actions_http::index)),
        (spec("POST", "/api/v1/actions", Signed(Action::AssignAction)), post(actions_http::create)),
        (spec("POST", "/api/v1/actions/{id}/complete", Signed(Action::CompleteAction)), post(actions_http::complete)),
    ]
}

/// Actions decided per record by the handler (through `access::authorize_record`, a denial
/// answering 404), not by the guard.
pub fn is_record_level(action: Action) -> bool {
    matches!(
        action,
        Action::ViewContact
            | Action::ViewChronology
            | Action::DecideContact
            | Action::MoveContact
            | Action::ManageAlerts
            | Action::FlagChild
            | Action::ViewEnquiry
            | Action::ContributeToEnquiry
            | Action::AmendEnquiryContribution
            | Action::ConcludeEnquiry
            | Action::ReleaseEnquiryInformation
            | Action::ViewCseCase
            | Action::WorkCseCase
            | Action::AllocateCseCase
            | Action::CompleteAction
    )
}

/// The declared routes, for tests and documentation.
pub fn specs() -> Vec<RouteSpec> {
    table().into_iter().map(|(s, _)| s).collect()
}

pub(crate) fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (spec, handler) in table() {
        let guarded = handler.route_layer(middleware::from_fn_with_state((state.clone(), spec), guard));
        router = router.route(spec.path, guarded);
    }
    router
        // A route layer sees the matched route template, so metrics never carry ids.
        .route_layer(middleware::from_fn(metrics::track))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.cfg.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), security::headers))
        .with_state(state)
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        AppError::NotFound.into_response()
    } else {
        PageError(AppError::NotFound).into_response()
    }
}

/// Authenticate, check CSRF on cookie-borne writes, and decide service-level actions.
async fn guard(State((state, spec)): State<(AppState, RouteSpec)>, req: Request, next: Next) -> Response {
    let Guard::Signed(action) = spec.guard else {
        return next.run(req).await;
    };
    let fail = |e: AppError| if spec.is_api() { e.into_response() } else { PageError(e).into_response() };
    let user = match auth::current_user(&state, req.headers()).await {
        Ok(Some(u)) => u,
        Ok(None) if spec.is_api() => {
            return AppError::Unauthorized("sign in first: send Authorization: Bearer TOKEN".into()).into_response();
        }
        // The site's root is the public start page for anyone not signed in.
        Ok(None) if spec.path == "/" => return public::start_page(&state),
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return fail(e),
    };
    let (req, csrf_ok) = match check_csrf(&state, &user, req).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if !csrf_ok {
        return fail(AppError::Forbidden(
            "the form's security token is missing or out of date; reload the page and try again".into(),
        ));
    }
    let record_level = is_record_level(action);
    if !record_level && let Err(e) = crate::access::authorize_service(&user, action) {
        return fail(e);
    }
    let mut req = req;
    req.extensions_mut().insert(user);
    next.run(req).await
}

/// Writes made with a session cookie must carry the session's CSRF token: a form field `csrf`
/// or the `X-CSRF-Token` header. Bearer-token requests cannot be forged by a browser.
async fn check_csrf(state: &AppState, user: &CurrentUser, req: Request) -> Result<(Request, bool), AppError> {
    if !user.via_cookie || matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok((req, true));
    }
    if let Some(h) = req.headers().get("x-csrf-token") {
        let ok = h.to_str().is_ok_and(|t| auth::tokens_match(t, &user.csrf_token));
        return Ok((req, ok));
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, state.cfg.max_body_bytes)
        .await
        .map_err(|_| AppError::PayloadTooLarge(state.cfg.max_body_bytes))?;
    let ok = form_field(&bytes, "csrf").is_some_and(|t| auth::tokens_match(&t, &user.csrf_token));
    Ok((Request::from_parts(parts, Body::from(bytes)), ok))
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body).ok()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| urlencoding::decode(&v.replace('+', " ")).map(|s| s.into_owned()).unwrap_or_default())
    })
}
