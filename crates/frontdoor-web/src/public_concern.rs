//! Raising a concern online (F14): one question a page (who you are, who it is about, what
//! happened, is anyone in danger now, how to contact you or stay anonymous), check your answers,
//! then a confirmation with a reference. It lands as an F1 contact (channel `online_form`, the
//! CIN source code from who you are) and runs screening and alerts like any other contact.
//!
//! Privacy: the answers live only in this process's memory, under a random token in one
//! cookie scoped to `/concern`, until they are sent or left idle for `form_idle_minutes`. No
//! network address, user agent or other cookie is stored anywhere; the rate limit keys on the
//! address in memory only. An anonymous concern stores nothing about the sender.
//!
//! Abuse: a per-address rate limit on every submission, a honeypot field bots fill in (their
//! "concern" is thanked and dropped), and length limits on every answer.

use crate::AppState;
use crate::public::{MessagePage, PublicLayout, render_page};
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use frontdoor_core::contact::{ChildDraft, ContactDraft, FieldError, ReporterDraft};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::Rng;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The form's cookie: a random token naming the answers held in memory.
const COOKIE: &str = "fd_concern";
const CLEAR_COOKIE: &str = "fd_concern=; Path=/concern; HttpOnly; SameSite=Strict; Max-Age=0";

/// At most this many forms in progress at once (memory is the only place they live).
const MAX_DRAFTS: usize = 100_000;

/// Answer lengths.
const NAME_MAX: usize = 100;
const SHORT_MAX: usize = 200;
const WHAT_MAX: usize = 5_000;

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Who,
    About,
    What,
    Urgent,
    Contact,
    Check,
}

impl Step {
    const ALL: [Step; 6] = [Step::Who, Step::About, Step::What, Step::Urgent, Step::Contact, Step::Check];

    fn slug(self) -> &'static str {
        match self {
            Step::Who => "who",
            Step::About => "about",
            Step::What => "what",
            Step::Urgent => "urgent",
            Step::Contact => "contact",
            Step::Check => "check",
        }
    }

    fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.slug() == s)
    }

    fn next(self) -> Step {
        let i = Step::ALL.iter().position(|x| *x == self).unwrap_or(0);
        Step::ALL[(i + 1).min(Step::ALL.len() - 1)]
    }

    fn title(self) -> &'static str {
        match self {
            Step::Who => "Who are you?",
            Step::About => "Who are you worried about?",
            Step::What => "What has happened?",
            Step::Urgent => "Is a child in danger right now?",
            Step::Contact => "How can we contact you?",
            Step::Check => "Check your answers before sending",
        }
    }
}

/// Who is raising the concern: (value, label, CIN referral source code).
pub const WHO: [(&str, &str, &str); 5] = [
    ("young_person_self", "A young person worried about myself", "1C"),
    ("young_person_friend", "A young person worried about a friend", "1B"),
    ("parent", "A parent, carer or relative", "1A"),
    ("professional", "Someone who works with children", "8"),
    ("someone_else", "Someone else", "1D"),
];

/// The answers so far.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub who: String,
    pub given_name: String,
    pub family_name: String,
    pub age: String,
    pub area: String,
    pub what: String,
    pub urgent: String,
    /// `anonymous` or `contact`.
    pub contact: String,
    pub name: String,
    pub phone: String,
    pub safe_time: String,
}

impl Answers {
    pub fn who_label_text(&self) -> &'static str {
        self.who_label()
    }

    fn who_label(&self) -> &'static str {
        WHO.iter().find(|(v, _, _)| *v == self.who).map_or("", |(_, l, _)| l)
    }

    /// The first step not yet answered (Check when all are).
    fn first_missing(&self) -> Step {
        if self.who.is_empty() {
            Step::Who
        } else if self.given_name.is_empty() {
            Step::About
        } else if self.what.is_empty() {
            Step::What
        } else if self.urgent.is_empty() {
            Step::Urgent
        } else if self.contact.is_empty() {
            Step::Contact
        } else {
            Step::Check
        }
    }

    fn anonymous(&self) -> bool {
        self.contact != "contact"
    }

    /// The contact this concern becomes.
    fn draft(&self) -> ContactDraft {
        let source = if self.anonymous() {
            "9"
        } else {
            WHO.iter().find(|(v, _, _)| *v == self.who).map_or("10", |(_, _, code)| code)
        };
        let mut narrative = format!("Raised online by: {}.", self.who_label().to_lowercase());
        if self.urgent == "yes" {
            narrative.push_str(" They said a child is in danger right now (shown the emergency numbers).");
        }
        if !self.age.is_empty() {
            narrative.push_str(&format!(" Age given: {}.", self.age));
        }
        if !self.area.is_empty() {
            narrative.push_str(&format!(" Where they live or go to school: {}.", self.area));
        }
        narrative.push_str("\n\n");
        narrative.push_str(&self.what);
        if !self.anonymous() && !self.safe_time.is_empty() {
            narrative.push_str(&format!("\n\nSafe time to call back: {}.", self.safe_time));
        }
        ContactDraft {
            channel: "online_form".into(),
            source_code: source.into(),
            child: ChildDraft {
                given_name: self.given_name.clone(),
                family_name: if self.family_name.is_empty() {
                    crate::intake::NOT_KNOWN.into()
                } else {
                    self.family_name.clone()
                },
                ..ChildDraft::default()
            },
            narrative,
            anonymous: self.anonymous(),
            reporter: (!self.anonymous()).then(|| ReporterDraft {
                // A call back does not need a name: the number and a safe time are enough.
                name: if self.name.is_empty() { "Not given".into() } else { self.name.clone() },
                relationship: self.who_label().to_owned(),
                phone: self.phone.clone(),
            }),
            ..ContactDraft::default()
        }
    }
}

struct Draft {
    answers: Answers,
    touched: Instant,
    /// Set once sent: the confirmation shows it, then the draft is forgotten.
    reference: Option<String>,
    /// An anonymous sender's follow-up code, shown once with the reference.
    code: Option<String>,
    /// Send was pressed and the contact is being recorded: a second press waits for it.
    sending: bool,
}

/// The forms in progress (in memory only) and the per-address rate limit.
pub struct Concerns {
    drafts: Mutex<HashMap<String, Draft>>,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    idle: Duration,
}

impl Concerns {
    pub fn new(settings: &crate::public::PublicSettings) -> Concerns {
        let per_minute = NonZeroU32::new(settings.posts_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Concerns {
            drafts: Mutex::new(HashMap::new()),
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            idle: Duration::from_secs(u64::from(settings.form_idle_minutes.max(1)) * 60),
        }
    }

    /// Forget drafts idle too long, and the rate limiter's stale addresses.
    fn sweep(&self, drafts: &mut HashMap<String, Draft>) {
        let idle = self.idle;
        drafts.retain(|_, d| d.touched.elapsed() < idle);
        self.limiter.retain_recent();
    }
}

/// The draft behind the request's cookie.
enum Found {
    /// The answers, and once sent the reference and any follow-up code.
    Draft(Box<Answers>, Option<(String, Option<String>)>),
    /// A cookie whose answers were forgotten (idle, or the server restarted).
    Expired,
    None,
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    crate::auth::cookie_value(headers, COOKIE).filter(|t| t.len() == 43 || t.len() == 64)
}

fn find(state: &AppState, headers: &HeaderMap) -> Found {
    let Some(token) = token_of(headers) else { return Found::None };
    let c = &state.concerns;
    let mut drafts = c.drafts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    c.sweep(&mut drafts);
    match drafts.get_mut(&crate::auth::hash_token(&token)) {
        Some(d) => {
            d.touched = Instant::now();
            Found::Draft(Box::new(d.answers.clone()), d.reference.clone().map(|r| (r, d.code.clone())))
        }
        None => Found::Expired,
    }
}

/// Keeps the answers under the request's token (a new one if it has none), and returns the
/// token so the cookie is sent again: its lifetime then runs from the last step, like the
/// server's own idle limit. `None` when the server holds too many forms at once.
fn store(state: &AppState, headers: &HeaderMap, answers: Answers) -> Option<String> {
    let c = &state.concerns;
    let mut drafts = c.drafts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    c.sweep(&mut drafts);
    let token = match token_of(headers) {
        Some(t) if drafts.contains_key(&crate::auth::hash_token(&t)) => t,
        _ if drafts.len() >= MAX_DRAFTS => return None,
        _ => crate::auth::random_token(),
    };
    drafts.insert(
        crate::auth::hash_token(&token),
        Draft { answers, touched: Instant::now(), reference: None, code: None, sending: false },
    );
    Some(token)
}

fn forget(state: &AppState, headers: &HeaderMap) {
    if let Some(token) = token_of(headers) {
        let mut drafts = state.concerns.drafts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        drafts.remove(&crate::auth::hash_token(&token));
    }
}

fn cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = if state.cfg.tls { "; Secure" } else { "" };
    let max_age = state.concerns.idle.as_secs();
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/concern; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn with_cookie(state: &AppState, mut resp: Response, token: Option<String>) -> Response {
    if let Some(t) = token {
        resp.headers_mut().insert(header::SET_COOKIE, cookie(state, &t));
    }
    resp
}

#[derive(Template)]
#[template(path = "concern_start.html")]
struct StartPage {
    layout: PublicLayout,
    idle_minutes: u32,
}

/// The start of the form: what happens, the emergency numbers first.
pub(crate) async fn start(State(state): State<AppState>) -> Response {
    let idle_minutes = state.cfg.public.form_idle_minutes;
    render_page(
        StartPage { layout: PublicLayout::new(&state, "Raise a concern about a child"), idle_minutes },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "concern_step.html")]
struct StepPage {
    layout: PublicLayout,
    step: &'static str,
    back: String,
    a: Answers,
    errors: Vec<FieldError>,
    who: Vec<(&'static str, &'static str)>,
    idle_minutes: u32,
}

impl StepPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

fn step_page(state: &AppState, step: Step, a: Answers, errors: Vec<FieldError>) -> Response {
    let title = if errors.is_empty() { step.title().to_owned() } else { format!("Error: {}", step.title()) };
    let back = match Step::ALL.iter().position(|x| *x == step) {
        Some(0) | None => "/concern".to_owned(),
        Some(i) => format!("/concern/{}", Step::ALL[i - 1].slug()),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_page(
        StepPage {
            layout: PublicLayout::new(state, &title),
            step: step.slug(),
            back,
            a,
            errors,
            who: WHO.iter().map(|(v, l, _)| (*v, *l)).collect(),
            idle_minutes: state.cfg.public.form_idle_minutes,
        },
        status,
    )
}

fn expired(state: &AppState) -> Response {
    let minutes = state.cfg.public.form_idle_minutes;
    let mut resp = render_page(
        MessagePage {
            layout: PublicLayout::new(state, "Your answers were deleted"),
            heading: "Your answers were deleted".into(),
            lines: vec![
                format!(
                    "We delete answers that are left for {minutes} minutes, to keep them private. Nothing was sent."
                ),
                "If a child is in danger right now, call 999.".into(),
            ],
            link: Some(("/concern/who".into(), "Start again".into())),
        },
        StatusCode::OK,
    );
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
    resp
}

pub(crate) async fn show(State(state): State<AppState>, headers: HeaderMap, Path(step): Path<String>) -> Response {
    if step == "emergency" {
        return emergency(&state);
    }
    if step == "done" {
        return done(&state, &headers);
    }
    let Some(step) = Step::parse(&step) else { return crate::public::not_found(&state) };
    match find(&state, &headers) {
        Found::Draft(_, Some(_)) => Redirect::to("/concern/done").into_response(),
        Found::Draft(a, None) => {
            // Steps are answered in order: a later one waits for the first unanswered.
            let missing = a.first_missing();
            if Step::ALL.iter().position(|x| *x == step) > Step::ALL.iter().position(|x| *x == missing) {
                return Redirect::to(&format!("/concern/{}", missing.slug())).into_response();
            }
            step_page(&state, step, *a, Vec::new())
        }
        Found::Expired if step != Step::Who => expired(&state),
        Found::Expired | Found::None if step == Step::Who => {
            step_page(&state, Step::Who, Answers::default(), Vec::new())
        }
        _ => Redirect::to("/concern/who").into_response(),
    }
}

fn field(form: &[(String, String)], name: &str) -> String {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

fn check_len(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize, what: &str) {
    if value.chars().count() > max {
        errors.push(FieldError { field: field.into(), message: format!("{what} must be {max} characters or fewer") });
    } else if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.push(FieldError { field: field.into(), message: format!("{what} has characters we cannot read") });
    }
}

/// Apply one step's answers; the problems, each naming its field, when they do not do.
fn apply(step: Step, form: &[(String, String)], a: &mut Answers) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let need = |errors: &mut Vec<FieldError>, field: &str, value: &str, message: &str| {
        if value.is_empty() {
            errors.push(FieldError { field: field.into(), message: message.into() });
        }
    };
    match step {
        Step::Who => {
            a.who = field(form, "who");
            if !WHO.iter().any(|(v, _, _)| *v == a.who) {
                a.who.clear();
                need(&mut errors, "who", "", "Select who you are");
            }
        }
        Step::About => {
            a.given_name = field(form, "given_name");
            a.family_name = field(form, "family_name");
            a.age = field(form, "age");
            a.area = field(form, "area");
            need(&mut errors, "given_name", &a.given_name, "Enter the child's first name, or a name they use");
            check_len(&mut errors, "given_name", &a.given_name, NAME_MAX, "First name");
            check_len(&mut errors, "family_name", &a.family_name, NAME_MAX, "Last name");
            check_len(&mut errors, "age", &a.age, 30, "Age");
            check_len(&mut errors, "area", &a.area, SHORT_MAX, "Where they live or go to school");
        }
        Step::What => {
            a.what = field(form, "what");
            need(&mut errors, "what", &a.what, "Tell us what has happened or what you are worried about");
            check_len(&mut errors, "what", &a.what, WHAT_MAX, "What has happened");
        }
        Step::Urgent => {
            a.urgent = field(form, "urgent");
            if a.urgent != "yes" && a.urgent != "no" {
                a.urgent.clear();
                need(&mut errors, "urgent", "", "Select yes if a child is in danger right now");
            }
        }
        Step::Contact => {
            a.contact = field(form, "contact");
            a.name = field(form, "name");
            a.phone = field(form, "phone");
            a.safe_time = field(form, "safe_time");
            match a.contact.as_str() {
                "anonymous" => {
                    // Nothing about the sender is kept, even if it was typed before choosing.
                    a.name.clear();
                    a.phone.clear();
                    a.safe_time.clear();
                }
                "contact" => {
                    need(&mut errors, "phone", &a.phone, "Enter a phone number that is safe for us to call");
                    let digits = a.phone.chars().filter(char::is_ascii_digit).count();
                    if !a.phone.is_empty()
                        && (!(10..=13).contains(&digits)
                            || !a.phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)))
                    {
                        errors.push(FieldError {
                            field: "phone".into(),
                            message: "Enter a phone number, like 07700 900 982 or 01632 960 001".into(),
                        });
                    }
                    check_len(&mut errors, "name", &a.name, NAME_MAX, "Your name");
                    check_len(&mut errors, "safe_time", &a.safe_time, SHORT_MAX, "A safe time to call");
                }
                _ => {
                    a.contact.clear();
                    need(
                        &mut errors,
                        "contact",
                        "",
                        "Select how we can contact you, or that you want to stay anonymous",
                    );
                }
            }
        }
        Step::Check => {}
    }
    errors
}

/// Too many submissions from one address: say so, store nothing.
fn limited(state: &AppState, peer: SocketAddr) -> Option<Response> {
    if state.concerns.limiter.check_key(&peer.ip()).is_ok() {
        return None;
    }
    let mut resp = render_page(
        MessagePage {
            layout: PublicLayout::new(state, "Too many tries"),
            heading: "Please wait a minute and try again".into(),
            lines: vec![
                "We have had a lot of forms from your connection in the last minute. Your answers are kept: go back and send again in a minute.".into(),
                "If a child is in danger right now, call 999.".into(),
            ],
            link: None,
        },
        StatusCode::TOO_MANY_REQUESTS,
    );
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    Some(resp)
}

pub(crate) async fn answer(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(step): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some(step) = Step::parse(&step) else { return crate::public::not_found(&state) };
    if let Some(resp) = limited(&state, peer) {
        return resp;
    }
    let mut a = match find(&state, &headers) {
        Found::Draft(_, Some(_)) => return Redirect::to("/concern/done").into_response(),
        Found::Draft(a, None) => *a,
        // Starting again after the answers were forgotten: a fresh form.
        Found::Expired | Found::None if step == Step::Who => Answers::default(),
        Found::Expired => return expired(&state),
        Found::None => return Redirect::to("/concern/who").into_response(),
    };
    if step == Step::Check {
        // The honeypot: a field people never see, checked when sending (autofill on an earlier
        // step must not throw a real concern away). What filled it in is sent nowhere.
        if !field(&form, "website").is_empty() {
            forget(&state, &headers);
            return not_sent(&state);
        }
        return send(&state, &headers, a).await;
    }
    let before = a.clone();
    let errors = apply(step, &form, &mut a);
    if !errors.is_empty() {
        // What was typed is shown again; what is kept is only what was valid before.
        let Some(token) = store(&state, &headers, before) else { return busy(&state) };
        return with_cookie(&state, step_page(&state, step, a, errors), Some(token));
    }
    let next = if step == Step::Urgent && a.urgent == "yes" {
        "/concern/emergency".to_owned()
    } else if a.first_missing() == Step::Check {
        "/concern/check".to_owned()
    } else {
        format!("/concern/{}", step.next().slug())
    };
    let Some(token) = store(&state, &headers, a) else { return busy(&state) };
    with_cookie(&state, Redirect::to(&next).into_response(), Some(token))
}

/// The server holds as many forms as it will: say so, and how else to tell us.
fn busy(state: &AppState) -> Response {
    let p = &state.cfg.public;
    render_page(
        MessagePage {
            layout: PublicLayout::new(state, "Sorry, we are very busy"),
            heading: "Sorry, we cannot take your form just now".into(),
            lines: vec![
                "Please try again in a few minutes.".into(),
                format!("Or call us: {}. Out of hours: {}.", p.phone, p.out_of_hours_phone),
                "If a child is in danger right now, call 999.".into(),
            ],
            link: None,
        },
        StatusCode::SERVICE_UNAVAILABLE,
    )
}

fn emergency(state: &AppState) -> Response {
    render_page(
        MessagePage {
            layout: PublicLayout::new(state, "Call 999 now"),
            heading: "If a child is in danger right now, call 999 now".into(),
            lines: vec![
                "Ask for the police. Tell them where the child is and what is happening.".into(),
                "If you cannot talk, call 999 and then press 55 when asked: the police will know it is an emergency."
                    .into(),
                format!("Out of hours you can also call our duty team: {}.", state.cfg.public.out_of_hours_phone),
                "When the child is safe, you can carry on and send us your concern too.".into(),
            ],
            link: Some(("/concern/contact".into(), "Carry on with the form".into())),
        },
        StatusCode::OK,
    )
}

/// What a filled-in honeypot gets: nothing is sent, and nothing claims it was.
fn not_sent(state: &AppState) -> Response {
    let p = &state.cfg.public;
    render_page(
        MessagePage {
            layout: PublicLayout::new(state, "Not sent"),
            heading: "Your form was not sent".into(),
            lines: vec![
                "Something filled in a field that people do not see, so we could not send this form.".into(),
                format!("Please call us instead: {}. Out of hours: {}.", p.phone, p.out_of_hours_phone),
                "If a child is in danger right now, call 999.".into(),
            ],
            link: Some(("/concern/who".into(), "Start again".into())),
        },
        StatusCode::OK,
    )
}

/// Sends the concern: it becomes a contact, screened and alerted like any other.
async fn send(state: &AppState, headers: &HeaderMap, a: Answers) -> Response {
    if a.first_missing() != Step::Check {
        return Redirect::to(&format!("/concern/{}", a.first_missing().slug())).into_response();
    }
    // Send pressed twice: the second press waits for the first and shows its reference.
    let key = token_of(headers).map(|t| crate::auth::hash_token(&t));
    let already = {
        let mut drafts = state.concerns.drafts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match key.as_ref().and_then(|k| drafts.get_mut(k)) {
            Some(d) if d.sending => true,
            Some(d) => {
                d.sending = true;
                false
            }
            None => return expired(state),
        }
    };
    if already {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if matches!(find(state, headers), Found::Draft(_, Some(_)) | Found::Expired | Found::None) {
                break;
            }
        }
        return Redirect::to("/concern/done").into_response();
    }
    let response = send_once(state, headers, a).await;
    if let Some(k) = key {
        let mut drafts = state.concerns.drafts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(d) = drafts.get_mut(&k) {
            d.sending = false;
        }
    }
    response
}

async fn send_once(state: &AppState, headers: &HeaderMap, a: Answers) -> Response {
    let owner = match state.store.agencies().await {
        Ok(list) => list.into_iter().find(|x| x.kind == frontdoor_core::AgencyKind::ChildrensServices),
        Err(e) => {
            tracing::error!(error = %e, "agencies unavailable for an online concern");
            None
        }
    };
    let Some(owner) = owner else { return sorry(state) };
    // An anonymous sender gets a code to come back with; only its hash is stored.
    let code = a.anonymous().then(follow_up_code);
    let hash = code.as_deref().map(|c| crate::auth::hash_token(&normalise_code(c)));
    match crate::intake::record_online(&state.store, &state.screening, owner.id, &a.draft(), hash, chrono::Utc::now())
        .await
    {
        Ok(recorded) => {
            if let Some(token) = token_of(headers) {
                let mut drafts = state.concerns.drafts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(d) = drafts.get_mut(&crate::auth::hash_token(&token)) {
                    // Forget the answers at once; keep only the reference to show.
                    d.answers = Answers { contact: a.contact.clone(), ..Answers::default() };
                    d.reference = Some(recorded.reference);
                    d.code = code;
                }
            }
            Redirect::to("/concern/done").into_response()
        }
        Err(crate::service::ServiceError::Invalid(errors)) => {
            // The form's own checks should have caught these; show them on the check page.
            render_check(state, a, errors)
        }
        Err(e) => {
            tracing::error!(error = %e, "an online concern could not be recorded");
            sorry(state)
        }
    }
}

fn sorry(state: &AppState) -> Response {
    render_page(
        MessagePage {
            layout: PublicLayout::new(state, "Sorry, there is a problem"),
            heading: "Sorry, your concern could not be sent".into(),
            lines: vec![
                "Your answers are kept for now. Please try again in a few minutes.".into(),
                format!(
                    "Or call us: {}. Out of hours: {}.",
                    state.cfg.public.phone, state.cfg.public.out_of_hours_phone
                ),
                "If a child is in danger right now, call 999.".into(),
            ],
            link: Some(("/concern/check".into(), "Try again".into())),
        },
        StatusCode::SERVICE_UNAVAILABLE,
    )
}

fn render_check(state: &AppState, a: Answers, errors: Vec<FieldError>) -> Response {
    step_page(state, Step::Check, a, errors)
}

#[derive(Template)]
#[template(path = "concern_done.html")]
struct DonePage {
    layout: PublicLayout,
    reference: String,
    anonymous: bool,
    code: String,
}

fn done(state: &AppState, headers: &HeaderMap) -> Response {
    match find(state, headers) {
        Found::Draft(a, Some((reference, code))) => {
            // Shown once: the form's memory of it goes now.
            forget(state, headers);
            let mut resp = render_page(
                DonePage {
                    layout: PublicLayout::new(state, "Concern sent"),
                    reference,
                    anonymous: a.anonymous(),
                    code: code.unwrap_or_default(),
                },
                StatusCode::OK,
            );
            resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
            resp
        }
        _ => Redirect::to("/concern").into_response(),
    }
}

/// Letters and digits that cannot be mistaken for each other (no 0/O, 1/I).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A follow-up code: 12 characters of a 32-letter alphabet (60 bits), as `XXXX-XXXX-XXXX`.
fn follow_up_code() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> =
        (0..12).map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())])).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// A code as typed, in the one form that is hashed: upper case, no spaces or hyphens.
fn normalise_code(typed: &str) -> String {
    typed.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

#[derive(Template)]
#[template(path = "concern_follow_up.html")]
struct FollowUpPage {
    layout: PublicLayout,
    /// Shown after a good reference and code: the status and the add-information form.
    found: Option<FollowUpView>,
    reference: String,
    code: String,
    errors: Vec<FieldError>,
    added: bool,
    /// What the sender typed to add, shown again when it could not be added.
    more: String,
}

struct FollowUpView {
    message: String,
    since: String,
}

impl FollowUpPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

/// Where an anonymous sender comes back: their reference and code.
pub(crate) async fn follow_up_form(State(state): State<AppState>) -> Response {
    let page = FollowUpPage {
        layout: PublicLayout::new(&state, "Check on a concern you raised"),
        found: None,
        reference: String::new(),
        code: String::new(),
        errors: Vec::new(),
        added: false,
        more: String::new(),
    };
    render_page(page, StatusCode::OK)
}

/// The follow-up a reference and code open, or one error that says only that they do not
/// match (never which one is wrong).
async fn open_follow_up(
    state: &AppState,
    form: &[(String, String)],
) -> Result<(frontdoor_store::FollowUp, String, String), FollowUpPage> {
    let reference = field(form, "reference").to_uppercase();
    let code = field(form, "code");
    let mut errors = Vec::new();
    if reference.is_empty() {
        errors.push(FieldError {
            field: "reference".into(),
            message: "Enter the reference, like FD-ABCD-EFGH-JKLM".into(),
        });
    }
    if code.is_empty() {
        errors.push(FieldError { field: "code".into(), message: "Enter the follow-up code you were given".into() });
    }
    let mut found = None;
    if errors.is_empty() {
        let hash = crate::auth::hash_token(&normalise_code(&code));
        match state.store.follow_up_by_code(&hash).await {
            Ok(Some(f)) if normalise_code(&f.reference) == normalise_code(&reference) => found = Some(f),
            Ok(_) => errors.push(FieldError {
                field: "reference".into(),
                message: "We could not find a concern with that reference and code. Check both and try again".into(),
            }),
            Err(e) => {
                tracing::error!(error = %e, "follow-up lookup failed");
                errors.push(FieldError {
                    field: "reference".into(),
                    message: "Sorry, please try again in a few minutes".into(),
                });
            }
        }
    }
    match found {
        Some(f) => Ok((f, reference, code)),
        None => Err(FollowUpPage {
            layout: PublicLayout::new(state, "Error: Check on a concern you raised"),
            found: None,
            reference,
            code: String::new(),
            errors,
            added: false,
            more: String::new(),
        }),
    }
}

fn found_page(state: &AppState, f: &frontdoor_store::FollowUp, reference: String, code: String) -> FollowUpPage {
    FollowUpPage {
        layout: PublicLayout::new(state, "Your concern"),
        found: Some(FollowUpView {
            message: f.status_message.clone().unwrap_or_default(),
            since: f.status_at.map(|t| t.format("%d %B %Y").to_string()).unwrap_or_default(),
        }),
        reference,
        code,
        errors: Vec::new(),
        added: false,
        more: String::new(),
    }
}

pub(crate) async fn follow_up(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(resp) = limited(&state, peer) {
        return resp;
    }
    match open_follow_up(&state, &form).await {
        Ok((f, reference, code)) => render_page(found_page(&state, &f, reference, code), StatusCode::OK),
        Err(page) => render_page(page, StatusCode::UNPROCESSABLE_ENTITY),
    }
}

/// An anonymous sender adds to their concern: it joins the contact (and the child's
/// chronology) with no actor, and the advisor sees it on the contact.
pub(crate) async fn follow_up_add(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(resp) = limited(&state, peer) {
        return resp;
    }
    if !field(&form, "website").is_empty() {
        return not_sent(&state);
    }
    let (f, reference, code) = match open_follow_up(&state, &form).await {
        Ok(x) => x,
        Err(page) => return render_page(page, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let text = field(&form, "more");
    let mut errors = Vec::new();
    if text.is_empty() {
        errors.push(FieldError { field: "more".into(), message: "Tell us what you want to add".into() });
    }
    check_len(&mut errors, "more", &text, WHAT_MAX, "What you want to add");
    if !errors.is_empty() {
        let mut page = found_page(&state, &f, reference, code);
        page.errors = errors;
        page.more = text;
        return render_page(page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let owner = state.store.contact(f.contact_id).await.ok().flatten().map(|c| c.owner_agency);
    let meta = frontdoor_store::Meta {
        actor_user: None,
        actor_agency: owner,
        purpose: frontdoor_core::Purpose::Referral.as_str().to_owned(),
        at: chrono::Utc::now(),
    };
    // What the sender adds reaches the front door as an alert on the contact, in one commit.
    let added = frontdoor_core::Event::ContactInformationAdded {
        contact_id: f.contact_id,
        child_id: f.child_id,
        text: text.clone(),
    };
    let alert = frontdoor_core::Event::AlertRaised {
        alert_id: frontdoor_core::AlertId::new(),
        alert_kind: "sender_added_information".into(),
        child_id: f.child_id,
        contact_id: Some(f.contact_id),
        urgent: false,
        owner_role: frontdoor_core::Role::FrontDoorAdvisor,
        due_at: meta.at,
        reason: format!("The anonymous sender of {} added information online", f.reference),
        for_user: None,
    };
    let events = vec![
        frontdoor_store::NewEvent { event: added, expected: frontdoor_store::Expected::Any, meta: meta.clone() },
        frontdoor_store::NewEvent { event: alert, expected: frontdoor_store::Expected::NoStream, meta },
    ];
    if let Err(e) = state.store.append(events, vec![], vec![]).await {
        tracing::error!(error = %e, "an anonymous addition could not be recorded");
        let mut page = found_page(&state, &f, reference, code);
        page.errors = vec![FieldError {
            field: "more".into(),
            message: "Sorry, we could not add this just now. Please try again in a few minutes".into(),
        }];
        page.more = text;
        return render_page(page, StatusCode::SERVICE_UNAVAILABLE);
    }
    let mut page = found_page(&state, &f, reference, code);
    page.added = true;
    render_page(page, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_left_idle_is_forgotten_and_a_busy_one_kept() {
        let settings = crate::public::PublicSettings::default();
        let mut c = Concerns::new(&settings);
        c.idle = Duration::from_millis(50);
        let mut drafts = HashMap::new();
        let draft =
            |touched| Draft { answers: Answers::default(), touched, reference: None, code: None, sending: false };
        drafts.insert("old".to_owned(), draft(Instant::now()));
        std::thread::sleep(Duration::from_millis(80));
        drafts.insert("new".to_owned(), draft(Instant::now()));
        c.sweep(&mut drafts);
        assert!(drafts.contains_key("new") && !drafts.contains_key("old"));
    }

    #[test]
    fn an_anonymous_concern_names_nobody_and_takes_code_9() {
        let a = Answers {
            who: "parent".into(),
            given_name: "Kai".into(),
            what: "Worried".into(),
            urgent: "yes".into(),
            contact: "anonymous".into(),
            ..Answers::default()
        };
        let d = a.draft();
        assert_eq!(d.source_code, "9");
        assert!(d.anonymous && d.reporter.is_none());
        assert_eq!(d.child.family_name, crate::intake::NOT_KNOWN);
        assert!(d.narrative.contains("in danger right now"));
        let named = Answers { contact: "contact".into(), phone: "07700 900 123".into(), ..a };
        assert_eq!(named.draft().source_code, "1A");
        assert_eq!(named.draft().reporter.unwrap().phone, "07700 900 123");
    }

    #[test]
    fn follow_up_codes_are_long_unambiguous_and_typed_loosely() {
        let code = follow_up_code();
        assert_eq!(code.len(), 14);
        assert!(code.chars().all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8))), "{code}");
        assert_ne!(code, follow_up_code());
        assert_eq!(normalise_code(" abcd-efgh jkLM "), "ABCDEFGHJKLM");
    }
}
