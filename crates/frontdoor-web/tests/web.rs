//! The HTTP edge, tested through a real server on port 0, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use chrono::Utc;
use frontdoor_core::EnquiryParties;
use frontdoor_core::policy::default_purpose;
use frontdoor_core::{Action, Actor, AgencyId, AgencyKind, ContactDraft, Resource, Role, UserId, decide};
use frontdoor_store::Store;
use frontdoor_store::testing::{self, TestStore};
use frontdoor_web::enquiry::{self, ContributionDraft, EnquiryDraft};
use frontdoor_web::routes::{Guard, RouteSpec, is_record_level, specs};
use frontdoor_web::screening::Screening;
use frontdoor_web::service::{self, NewUser};
use frontdoor_web::{Application, Config, passwords::Passwords};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use std::collections::HashMap;

const PASSWORD: &str = "a long test password";

struct TestApp {
    base: String,
    store: Store,
    cfg: Config,
    ts: TestStore,
    /// username -> (user id, agency id, actor)
    users: HashMap<String, Actor>,
    agencies: HashMap<&'static str, AgencyId>,
    screening: Screening,
}

fn test_config(tls: bool) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        tls,
        ..Config::default()
    }
}

/// Agencies of several kinds and one user per role, each in the agency that role belongs to.
const PEOPLE: [(&str, Role, &str); 11] = [
    ("advisor", Role::FrontDoorAdvisor, "cs"),
    ("lead", Role::SafeguardingLead, "cs"),
    ("cseworker", Role::CseWorker, "cs"),
    ("csemanager", Role::CseManager, "cs"),
    ("police", Role::AgencyPractitioner, "police"),
    ("health", Role::AgencyPractitioner, "health"),
    ("healthlead", Role::AgencyLead, "health"),
    ("submitter", Role::IntelligenceSubmitter, "licensing"),
    ("analyst", Role::Analyst, "cs"),
    ("admin", Role::Administrator, "cs"),
    ("auditor", Role::Auditor, "cs"),
];

impl TestApp {
    async fn start(ts: TestStore, tls: bool) -> TestApp {
        let store = ts.store.clone();
        let cfg = test_config(tls);
        let now = Utc::now();
        let mut agencies = HashMap::new();
        for (key, name, kind) in [
            ("cs", "Children's Services", AgencyKind::ChildrensServices),
            ("police", "Police", AgencyKind::Police),
            ("health", "Health Trust", AgencyKind::Health),
            ("licensing", "Licensing", AgencyKind::Licensing),
            ("college", "Wrenhollow College", AgencyKind::Education),
        ] {
            agencies.insert(key, service::register_agency(&store, name, kind, None, now).await.unwrap());
        }
        let passwords = Passwords::new(&cfg).unwrap();
        let mut users = HashMap::new();
        for (username, role, agency) in PEOPLE {
            let agency_id = agencies[agency];
            let new = NewUser {
                username: username.into(),
                display_name: format!("{username} user"),
                agency_id,
                roles: vec![role],
            };
            let user_id = service::register_user(&store, &passwords, new, PASSWORD, None, now).await.unwrap();
            let kind = store.agencies().await.unwrap().into_iter().find(|a| a.id == agency_id).unwrap().kind;
            users.insert(username.to_owned(), Actor { user_id, agency_id, agency_kind: kind, roles: vec![role] });
        }
        let app = Application::build(cfg.clone(), store.clone()).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until_stopped());
        TestApp { base, store, cfg, ts, users, agencies, screening: Screening::built_in().unwrap() }
    }

    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(Policy::none()).cookie_store(true).build().unwrap()
    }

    async fn token(&self, username: &str) -> String {
        let r = self
            .client()
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "sign in {username}");
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// A session made directly in the store (fast; the matrix needs hundreds).
    async fn quick_token(&self, username: &str) -> String {
        let token = format!("{:064x}", rand_u128());
        let hash = hex_sha256(&token);
        let now = Utc::now();
        self.store
            .create_session(&hash, self.users[username].user_id, "api", "csrf", now, now + chrono::Duration::hours(1))
            .await
            .unwrap();
        token
    }

    fn actor(&self, username: &str) -> &Actor {
        &self.users[username]
    }

    /// Who records a contact "owned" by `owner`: them if they may record, else the advisor.
    fn maker<'a>(&self, owner: &'a str) -> &'a str {
        if self.actor(owner).roles.iter().any(|r| matches!(r, Role::AgencyPractitioner | Role::FrontDoorAdvisor)) {
            owner
        } else {
            "advisor"
        }
    }

    /// A missing-child contact by `username`, which raises a `missing_episode` alert: (alert id, contact id).
    async fn alert_by(&self, username: &str, given: &str) -> (String, String) {
        let mut draft = draft(given);
        draft.call_type = Some("missing_child".into());
        draft.answers = Some(json!({"police_category": "missing", "returned": true}));
        let purpose = default_purpose(Action::CreateContact, self.actor(username));
        let r =
            service::record_contact(&self.store, &self.screening, self.actor(username), purpose, &draft, Utc::now())
                .await
                .unwrap();
        let alerts = self.store.alerts_for_contact(r.contact_id).await.unwrap();
        let alert = alerts.iter().find(|a| a.kind == "missing_episode").expect("a missing_episode alert");
        (alert.id.to_string(), r.contact_id.to_string())
    }

    /// Person records in a source system (source, record id, given, family, date of birth).
    async fn people(&self, rows: &[(&str, &str, &str, &str, &str)]) {
        let today = Utc::now().date_naive();
        let events = rows
            .iter()
            .map(|(source, id, given, family, dob)| frontdoor_store::NewEvent {
                event: frontdoor_core::Event::PersonRecordImported {
                    source: (*source).into(),
                    record_id: (*id).into(),
                    given_name: frontdoor_core::PersonName::parse(given).ok(),
                    family_name: frontdoor_core::PersonName::parse(family).ok(),
                    date_of_birth: frontdoor_core::DateOfBirth::parse(dob, today).ok(),
                    sex: None,
                    postcode: None,
                    address: None,
                    phone: None,
                },
                expected: frontdoor_store::Expected::Any,
                meta: frontdoor_store::Meta::system("administration", Utc::now()),
            })
            .collect();
        self.store.append(events, vec![], vec![]).await.unwrap();
    }

    /// One event recorded by the system (no user).
    async fn append_system(&self, event: frontdoor_core::Event) {
        let meta = frontdoor_store::Meta::system("administration", Utc::now());
        let new = frontdoor_store::NewEvent { event, expected: frontdoor_store::Expected::Any, meta };
        self.store.append(vec![new], vec![], vec![]).await.unwrap();
    }

    /// A model trained on `rows` (as `people` takes them), stored as a finished `link dedupe`
    /// run stores it: intake and the record check weigh children by it.
    async fn store_link_model(&self, rows: &[(&str, &str, &str, &str, &str)]) -> frontdoor_link::Model {
        use frontdoor_link::{Index, Nicknames, Person, Settings};
        let people: Vec<Person> = rows
            .iter()
            .map(|(source, id, given, family, dob)| Person {
                source: (*source).into(),
                record_id: (*id).into(),
                given_name: Some((*given).into()),
                family_name: Some((*family).into()),
                date_of_birth: chrono::NaiveDate::parse_from_str(dob, "%Y-%m-%d").ok(),
                ..Person::default()
            })
            .collect();
        let settings = Settings::default();
        let model = Index::build(&people, Nicknames::builtin(), &settings).train(&settings);
        let (run, records) = ("web-test".to_owned(), people.len() as u64);
        let json = serde_json::to_string(&model).unwrap();
        let started =
            frontdoor_core::Event::PersonDedupeStarted { run: run.clone(), records, last_record_seq: 0, model: json };
        self.append_system(started).await;
        let finished =
            frontdoor_core::Event::PersonDedupeFinished { run, records, clusters: records, auto_linked: 0, queued: 0 };
        self.append_system(finished).await;
        model
    }

    /// Registers a source system run by `agency` (a key of `agencies`).
    async fn source(&self, name: &str, agency: &str) {
        let event = frontdoor_core::Event::PersonSourceRegistered {
            name: name.into(),
            label: format!("{name} system"),
            agency_id: self.agencies[agency],
            fields: vec!["given_name".into(), "family_name".into(), "date_of_birth".into()],
        };
        self.append_system(event).await;
    }

    /// A person's decision that two "matrix" records are the same person.
    async fn decide_pair(&self, a: &str, b: &str) {
        let r = |id: &str| frontdoor_core::RecordRef { source: "matrix".into(), record_id: id.into() };
        let (a, b) = if r(a) < r(b) { (r(a), r(b)) } else { (r(b), r(a)) };
        let event = frontdoor_core::Event::PersonLinkDecided { a, b, same: true, reason: "set up".into() };
        self.append_system(event).await;
    }

    /// An enquiry led by `lead` about a new child, asking `asked`'s agency: (enquiry, child, parties).
    async fn enquiry_asking(&self, asked: &str, given: &str) -> (String, String, EnquiryParties) {
        let (_, child) = self.contact_by("advisor", given).await;
        let draft = EnquiryDraft {
            child_id: child.clone(),
            // The asked agency and one more (to release a contribution to).
            agencies: vec![self.actor(asked).agency_id.to_string(), self.other_agency(asked).to_string()],
            question: "What do you know?".into(),
            ..EnquiryDraft::default()
        };
        let id = enquiry::open_enquiry(&self.store, self.actor("lead"), &draft, 3, Utc::now()).await.unwrap();
        let parties = self.store.enquiry(id).await.unwrap().unwrap().parties();
        (id.to_string(), child, parties)
    }

    /// An agency other than `username`'s (licensing, or children's services for licensing).
    fn other_agency(&self, username: &str) -> AgencyId {
        let own = self.actor(username).agency_id;
        if own == self.agencies["licensing"] { self.agencies["cs"] } else { self.agencies["licensing"] }
    }

    /// A contribution to `enquiry` made as `username` (set-up: the service is called directly).
    async fn contribution_by(&self, username: &str, enquiry_id: &str, text: &str) -> String {
        let e = self.store.enquiry(enquiry_id.parse().unwrap()).await.unwrap().unwrap();
        let draft = ContributionDraft { text: text.into(), ..ContributionDraft::default() };
        enquiry::contribute(&self.store, self.actor(username), &e, &draft, Utc::now()).await.unwrap().to_string()
    }

    /// A child referred to the CSE pathway and allocated to `cseworker`: (case id, child id).
    async fn cse_case(&self, given: &str) -> (String, String) {
        let (_, child) = self.contact_by("advisor", given).await;
        let m = frontdoor_store::Meta::system("case_work", Utc::now());
        let (case_id, events) =
            frontdoor_web::cse::referral_events(child.parse().unwrap(), None, None, "test referral", &m);
        self.store.append(events, vec![], vec![]).await.unwrap();
        let record = self.store.cse_case(case_id).await.unwrap().unwrap();
        let step = frontdoor_core::pathway::Step::Allocate {
            worker: self.actor("cseworker").user_id,
            override_reason: Some("test set-up".into()),
        };
        let weights = frontdoor_core::pathway::Caseload::default();
        frontdoor_web::cse::take_step(&self.store, self.actor("csemanager"), &record, step, &weights, Utc::now())
            .await
            .unwrap();
        (case_id.to_string(), child)
    }

    /// An action about a new child assigned (by the lead) to `holder`'s agency, due tomorrow.
    async fn action_for(&self, holder: &str, given: &str) -> String {
        let (_, child) = self.contact_by("advisor", given).await;
        let draft = frontdoor_web::actions::ActionDraft {
            child_id: child,
            what: "Return home interview".into(),
            agency: self.actor(holder).agency_id.to_string(),
            due: (Utc::now().date_naive() + chrono::Days::new(1)).to_string(),
            ..Default::default()
        };
        frontdoor_web::actions::assign(&self.store, self.actor("lead"), &draft, Utc::now()).await.unwrap().to_string()
    }

    /// A follow-up audit of every CSE referral made today (at least one, made here): (audit, a case).
    async fn audit_of_today(&self, given: &str) -> (String, String) {
        let (case, _) = self.cse_case(given).await;
        let today = Utc::now().date_naive().to_string();
        let id =
            frontdoor_web::audit::draw(&self.store, self.actor("csemanager"), &today, &today, "1", "100", Utc::now())
                .await
                .unwrap();
        (id.to_string(), case)
    }

    async fn contact_by(&self, username: &str, given: &str) -> (String, String) {
        self.contact_born(username, given, "2011-04-05").await
    }

    /// As `contact_by`, for a child with this date of birth.
    async fn contact_born(&self, username: &str, given: &str, date_of_birth: &str) -> (String, String) {
        let draft = draft_born(given, date_of_birth);
        let purpose = default_purpose(Action::CreateContact, self.actor(username));
        let r =
            service::record_contact(&self.store, &self.screening, self.actor(username), purpose, &draft, Utc::now())
                .await
                .unwrap();
        (r.contact_id.to_string(), r.child_id.to_string())
    }
}

fn rand_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

fn hex_sha256(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn draft(given: &str) -> ContactDraft {
    draft_born(given, "2011-04-05")
}

fn draft_born(given: &str, date_of_birth: &str) -> ContactDraft {
    serde_json::from_value(json!({
        "channel": "phone", "source_code": "2A",
        "child": {"given_name": given, "family_name": "Testchild", "date_of_birth": date_of_birth},
        "narrative": "Seen getting into cars with older men after school."
    }))
    .unwrap()
}

fn contact_body(given: &str) -> Value {
    json!({"channel": "phone", "source_code": "2A",
           "child": {"given_name": given, "family_name": "Testchild", "date_of_birth": "2011-04-05"},
           "narrative": "Seen getting into cars with older men after school."})
}

async fn each_backend<F, Fut>(f: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for ts in testing::all().await {
        eprintln!("-- on {}", ts.label);
        f(TestApp::start(ts, false).await).await;
    }
}

// ---- the authorization matrix ---------------------------------------------------------------

enum Body {
    None,
    Json(Value),
    Form(Vec<(&'static str, String)>),
    Csv(String),
}

struct Case {
    path: String,
    body: Body,
    /// The status when the policy allows it.
    ok: u16,
    /// The record the action is about, for record-level actions.
    resource: Resource,
}

/// How to exercise each declared route. A route missing here fails the test: every route must
/// be in the matrix.
async fn case_for(app: &TestApp, spec: &RouteSpec, role_user: &str, own: bool) -> Case {
    let owner = if own {
        role_user
    } else if role_user == "health" {
        "police"
    } else {
        "health"
    };
    let svc = Resource::Service;
    let uniq = format!("{:x}", rand_u128() & 0xffff_ffff);
    match (spec.method, spec.path) {
        ("POST", "/logout") => Case { path: "/logout".into(), body: Body::Form(vec![]), ok: 303, resource: svc },
        ("POST", "/api/v1/auth/logout") => Case { path: spec.path.into(), body: Body::None, ok: 204, resource: svc },
        ("GET", "/") => Case { path: "/".into(), body: Body::None, ok: 200, resource: svc },
        ("GET", "/contacts/new") => Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc },
        ("POST", "/contacts") => Case {
            path: spec.path.into(),
            body: Body::Form(vec![
                ("channel", "phone".into()),
                ("source_code", "6".into()),
                ("given_name", format!("Matrix{uniq}")),
                ("family_name", "Child".into()),
                ("narrative", "A concern.".into()),
            ]),
            ok: 303,
            resource: svc,
        },
        ("POST", "/api/v1/contacts") => Case {
            path: spec.path.into(),
            body: Body::Json(contact_body(&format!("Api{uniq}"))),
            ok: 201,
            resource: svc,
        },
        ("GET", "/contacts/{id}") | ("GET", "/api/v1/contacts/{id}") => {
            let maker = if app
                .actor(owner)
                .roles
                .iter()
                .any(|r| matches!(r, Role::AgencyPractitioner | Role::FrontDoorAdvisor))
            {
                owner
            } else {
                "advisor"
            };
            let (contact, _) = app.contact_by(maker, &format!("Owned{uniq}")).await;
            let owner_agency = app.actor(maker).agency_id;
            Case {
                path: spec.path.replace("{id}", &contact),
                body: Body::None,
                ok: 200,
                resource: Resource::Contact { owner_agency },
            }
        }
        ("GET", "/children/{id}") | ("GET", "/api/v1/children/{id}/chronology") => {
            let maker = if app
                .actor(owner)
                .roles
                .iter()
                .any(|r| matches!(r, Role::AgencyPractitioner | Role::FrontDoorAdvisor))
            {
                owner
            } else {
                "advisor"
            };
            let (_, child) = app.contact_by(maker, &format!("Child{uniq}")).await;
            let agencies = vec![app.actor(maker).agency_id];
            Case {
                path: spec.path.replace("{id}", &child),
                body: Body::None,
                ok: 200,
                resource: Resource::Child { contributing_agencies: agencies },
            }
        }
        ("GET", "/admin/users") | ("GET", "/api/v1/users") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("POST", "/admin/users") => Case {
            path: spec.path.into(),
            body: Body::Form(vec![
                ("username", format!("new{uniq}")),
                ("display_name", "New Person".into()),
                ("agency", app.agencies["cs"].to_string()),
                ("role", "analyst".into()),
            ]),
            ok: 201,
            resource: svc,
        },
        ("POST", "/admin/users/{id}/disable") => {
            let passwords = Passwords::new(&app.cfg).unwrap();
            let new = NewUser {
                username: format!("gone{uniq}"),
                display_name: "Leaver".into(),
                agency_id: app.agencies["cs"],
                roles: vec![Role::Analyst],
            };
            let id: UserId =
                service::register_user(&app.store, &passwords, new, PASSWORD, None, Utc::now()).await.unwrap();
            Case {
                path: spec.path.replace("{id}", &id.to_string()),
                body: Body::Form(vec![("reason", "left".into())]),
                ok: 303,
                resource: svc,
            }
        }
        ("GET", "/reports/schools") | ("GET", "/api/v1/reports/schools") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("GET", "/audit") | ("GET", "/api/v1/audit/verify") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("GET", "/stats") | ("GET", "/api/v1/stats/contacts") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("GET", "/api/v1/me") => Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc },
        ("GET", "/api/v1/protocols")
        | ("GET", "/refer")
        | ("GET", "/worklist")
        | ("GET", "/api/v1/worklist")
        | ("GET", "/alerts")
        | ("GET", "/api/v1/alerts") => Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc },
        ("POST", "/api/v1/feeds/{kind}") => Case {
            path: "/api/v1/feeds/police_missing".into(),
            body: Body::Csv(format!(
                "given_name,family_name,date_of_birth,missing_from,police_reference\nFeed{uniq},Child,2011-04-05,2026-11-20 21:00,PM/1\n"
            )),
            ok: 201,
            resource: svc,
        },
        ("POST", "/refer") => Case {
            path: spec.path.into(),
            body: Body::Form(vec![
                ("given_name", format!("Referred{uniq}")),
                ("family_name", "Child".into()),
                ("narrative", "A concern.".into()),
            ]),
            ok: 303,
            resource: svc,
        },
        ("POST", "/contacts/{id}/decision") | ("POST", "/api/v1/contacts/{id}/decision") => {
            let maker = app.maker(owner);
            let (contact, _) = app.contact_by(maker, &format!("Decide{uniq}")).await;
            let api = spec.is_api();
            Case {
                path: spec.path.replace("{id}", &contact),
                body: if api {
                    Body::Json(json!({"outcome": "early_help", "reasons": "support at school"}))
                } else {
                    Body::Form(vec![("outcome", "early_help".into()), ("reasons", "support at school".into())])
                },
                ok: if api { 201 } else { 303 },
                resource: Resource::Contact { owner_agency: app.actor(maker).agency_id },
            }
        }
        ("POST", "/contacts/{id}/move") | ("POST", "/api/v1/contacts/{id}/move") => {
            let maker = app.maker(owner);
            let (contact, _) = app.contact_by(maker, &format!("Move{uniq}")).await;
            let (_, to) = app.contact_by(maker, &format!("Moved{uniq}")).await;
            let api = spec.is_api();
            Case {
                path: spec.path.replace("{id}", &contact),
                body: if api {
                    Body::Json(json!({"to_child": to, "reason": "the same child"}))
                } else {
                    Body::Form(vec![("to_child", to), ("move_reason", "the same child".into())])
                },
                ok: if api { 200 } else { 303 },
                resource: Resource::Contact { owner_agency: app.actor(maker).agency_id },
            }
        }
        ("POST", "/contacts/{id}/status-message") | ("POST", "/api/v1/contacts/{id}/status-message") => {
            // A concern raised anonymously online (with a follow-up code), owned by `owner`'s agency.
            let agency = app.actor(app.maker(owner)).agency_id;
            let mut d = draft(&format!("Online{uniq}"));
            d.anonymous = true;
            d.reporter = None;
            let hash = hex_sha256(&format!("code{uniq}"));
            let r =
                frontdoor_web::intake::record_online(&app.store, &app.screening, agency, &d, Some(hash), Utc::now())
                    .await
                    .unwrap();
            let api = spec.is_api();
            Case {
                path: spec.path.replace("{id}", &r.contact_id.to_string()),
                body: if api {
                    Body::Json(json!({"message": "We have read this and are acting on it."}))
                } else {
                    Body::Form(vec![("message", "We have read this and are acting on it.".into())])
                },
                ok: if api { 204 } else { 303 },
                resource: Resource::Contact { owner_agency: agency },
            }
        }
        ("POST", "/alerts/{id}") | ("POST", "/api/v1/alerts/{id}") => {
            let maker = app.maker(owner);
            let (alert, _) = app.alert_by(maker, &format!("Alert{uniq}")).await;
            let api = spec.is_api();
            Case {
                path: spec.path.replace("{id}", &alert),
                body: if api {
                    Body::Json(json!({"action": "acknowledge"}))
                } else {
                    Body::Form(vec![("action", "acknowledge".into())])
                },
                ok: if api { 200 } else { 303 },
                resource: Resource::Child { contributing_agencies: vec![app.actor(maker).agency_id] },
            }
        }
        ("POST", "/children/{id}/flags") | ("POST", "/api/v1/children/{id}/flags") => {
            let maker = app.maker(owner);
            let (_, child) = app.contact_by(maker, &format!("Flag{uniq}")).await;
            let api = spec.is_api();
            Case {
                path: spec.path.replace("{id}", &child),
                body: if api {
                    Body::Json(json!({"flag": "looked_after", "set": true, "note": "LAC ref 123"}))
                } else {
                    Body::Form(vec![
                        ("flag", "looked_after".into()),
                        ("change", "set".into()),
                        ("note", "LAC ref 123".into()),
                    ])
                },
                ok: if api { 200 } else { 303 },
                resource: Resource::Child { contributing_agencies: vec![app.actor(maker).agency_id] },
            }
        }
        ("POST", "/children/{id}/settings") | ("POST", "/api/v1/children/{id}/settings") => {
            let maker = app.maker(owner);
            let (_, child) = app.contact_by(maker, &format!("Settings{uniq}")).await;
            let gp = app.agencies["health"].to_string();
            Case {
                path: spec.path.replace("{id}", &child),
                body: if spec.is_api() {
                    Body::Json(json!({"gp_practice": gp}))
                } else {
                    Body::Form(vec![("gp_practice", gp), ("education_setting", String::new())])
                },
                ok: if spec.is_api() { 200 } else { 303 },
                resource: Resource::Child { contributing_agencies: vec![app.actor(maker).agency_id] },
            }
        }
        ("GET", "/api/v1/contacts/{id}/records") => {
            let maker = app.maker(owner);
            let (contact, _) = app.contact_by(maker, &format!("Records{uniq}")).await;
            Case {
                path: spec.path.replace("{id}", &contact),
                body: Body::None,
                ok: 200,
                resource: Resource::Contact { owner_agency: app.actor(maker).agency_id },
            }
        }
        ("GET", "/links") | ("GET", "/api/v1/links/queue") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("POST", "/links/decision")
        | ("POST", "/api/v1/links/decision")
        | ("POST", "/links/undo")
        | ("POST", "/api/v1/links/undo") => {
            let (a, b) = (format!("A{uniq}"), format!("B{uniq}"));
            app.people(&[("matrix", &a, "Ann", "Pair", "2012-01-01"), ("matrix", &b, "Anne", "Pair", "2012-01-01")])
                .await;
            let undo = spec.path.ends_with("undo");
            if undo {
                app.decide_pair(&a, &b).await;
            }
            let api = spec.is_api();
            Case {
                path: spec.path.into(),
                body: if api {
                    let mut body = json!({"a": {"source": "matrix", "record_id": a}, "b": {"source": "matrix", "record_id": b}, "reason": "checked"});
                    if !undo {
                        body["same"] = json!(true);
                    }
                    Body::Json(body)
                } else {
                    Body::Form(vec![
                        ("a_source", "matrix".into()),
                        ("a_record", a),
                        ("b_source", "matrix".into()),
                        ("b_record", b),
                        ("verdict", "same".into()),
                        ("reason", "checked".into()),
                    ])
                },
                ok: if api { 201 } else { 303 },
                resource: svc,
            }
        }
        ("PUT", "/api/v1/people/{source}/{record_id}") => Case {
            path: format!("/api/v1/people/matrix/P{uniq}"),
            body: Body::Json(json!({"given_name": "Pat", "family_name": "Upsert", "date_of_birth": "2013-03-03"})),
            ok: 201,
            resource: svc,
        },
        ("GET", "/enquiries") | ("GET", "/api/v1/enquiries") | ("GET", "/api/v1/agencies") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("GET", "/enquiries/new") => {
            let (_, child) = app.contact_by("advisor", &format!("Opening{uniq}")).await;
            Case { path: format!("/enquiries/new?child={child}"), body: Body::None, ok: 200, resource: svc }
        }
        ("POST", "/enquiries") | ("POST", "/api/v1/enquiries") => {
            let (_, child) = app.contact_by("advisor", &format!("Opened{uniq}")).await;
            let police = app.agencies["police"].to_string();
            let api = spec.is_api();
            Case {
                path: spec.path.into(),
                body: if api {
                    Body::Json(json!({"child_id": child, "agencies": [police], "question": "Known to you?"}))
                } else {
                    Body::Form(vec![("child_id", child), ("agencies", police), ("question", "Known to you?".into())])
                },
                ok: if api { 201 } else { 303 },
                resource: svc,
            }
        }
        ("GET", "/enquiries/{id}")
        | ("GET", "/api/v1/enquiries/{id}")
        | ("POST", "/enquiries/{id}/contributions")
        | ("POST", "/api/v1/enquiries/{id}/contributions")
        | ("POST", "/enquiries/{id}/outcome")
        | ("POST", "/api/v1/enquiries/{id}/outcome") => {
            let (id, _, parties) = app.enquiry_asking(owner, &format!("Enquiry{uniq}")).await;
            let api = spec.is_api();
            let (body, ok) = match (spec.method, spec.path.ends_with("outcome"), api) {
                ("GET", _, _) => (Body::None, 200),
                (_, true, true) => (Body::Json(json!({"outcome": "early_help", "reasons": "support"})), 201),
                (_, true, false) => {
                    (Body::Form(vec![("outcome", "early_help".into()), ("reasons", "support".into())]), 303)
                }
                (_, false, true) => (Body::Json(json!({"text": "Known to us"})), 201),
                (_, false, false) => (Body::Form(vec![("text", "Known to us".into())]), 303),
            };
            Case { path: spec.path.replace("{id}", &id), body, ok, resource: Resource::Enquiry(parties) }
        }
        ("POST", "/enquiries/{id}/contributions/{contribution}")
        | ("PUT", "/api/v1/enquiries/{id}/contributions/{contribution}")
        | ("POST", "/enquiries/{id}/contributions/{contribution}/releases")
        | ("POST", "/api/v1/enquiries/{id}/contributions/{contribution}/releases") => {
            let (id, _, parties) = app.enquiry_asking(owner, &format!("Contrib{uniq}")).await;
            let cid = app.contribution_by(owner, &id, "What we hold").await;
            let path = spec.path.replace("{id}", &id).replace("{contribution}", &cid);
            let api = spec.is_api();
            let agency = app.actor(owner).agency_id;
            if spec.path.ends_with("releases") {
                let to = app.other_agency(owner).to_string();
                let fields = [
                    ("to_agency", to),
                    ("basis", "consent".into()),
                    ("lawful_basis", "UK GDPR 6(1)(e)".into()),
                    ("reason", "parent agreed by phone".into()),
                ];
                Case {
                    path,
                    body: if api {
                        Body::Json(serde_json::Value::Object(
                            fields.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect(),
                        ))
                    } else {
                        Body::Form(fields.to_vec())
                    },
                    ok: if api { 201 } else { 303 },
                    resource: Resource::Enquiry(parties),
                }
            } else {
                Case {
                    path,
                    body: if api {
                        Body::Json(json!({"text": "Corrected"}))
                    } else {
                        Body::Form(vec![("text", "Corrected".into())])
                    },
                    ok: if api { 204 } else { 303 },
                    resource: Resource::EnquiryContribution { parties, agency, released_to: vec![] },
                }
            }
        }
        ("GET", "/cse")
        | ("GET", "/cse/caseloads")
        | ("GET", "/api/v1/cse/cases")
        | ("GET", "/api/v1/cse/caseloads") => Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc },
        ("POST", "/cse/cases/{id}/support") | ("POST", "/api/v1/cse/cases/{id}/support") => {
            let (id, _) = app.cse_case(&format!("Support{uniq}")).await;
            let api = spec.is_api();
            Case {
                path: spec.path.replace("{id}", &id),
                body: if api {
                    Body::Json(json!({"service": "camhs", "outcome": "made"}))
                } else {
                    Body::Form(vec![("service", "camhs".into()), ("outcome", "made".into())])
                },
                ok: if api { 201 } else { 303 },
                resource: Resource::CseCase { worker: Some(app.actor("cseworker").user_id) },
            }
        }
        ("GET", "/notifications") | ("GET", "/api/v1/notifications") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("POST", "/cse/cases/{id}/notifications") | ("POST", "/api/v1/cse/cases/{id}/notifications") => {
            let (id, _) = app.cse_case(&format!("Notified{uniq}")).await;
            let fields = [
                ("to_agency", app.agencies["health"].to_string()),
                ("transition", "gp_allocation".to_owned()),
                ("lawful_basis", "UK GDPR 6(1)(e)".to_owned()),
            ];
            let api = spec.is_api();
            Case {
                path: spec.path.replace("{id}", &id),
                body: if api {
                    Body::Json(serde_json::Value::Object(
                        fields.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect(),
                    ))
                } else {
                    Body::Form(fields.to_vec())
                },
                ok: if api { 201 } else { 303 },
                resource: Resource::CseCase { worker: Some(app.actor("cseworker").user_id) },
            }
        }
        ("GET", "/cse/audits") | ("GET", "/api/v1/cse/audits") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("POST", "/cse/audits") | ("POST", "/api/v1/cse/audits") => {
            let today = Utc::now().date_naive().to_string();
            let api = spec.is_api();
            Case {
                path: spec.path.into(),
                body: if api {
                    Body::Json(json!({"from": today, "to": today}))
                } else {
                    Body::Form(vec![("from", today.clone()), ("to", today)])
                },
                ok: if api { 201 } else { 303 },
                resource: svc,
            }
        }
        ("GET", "/cse/audits/{id}")
        | ("GET", "/api/v1/cse/audits/{id}")
        | ("POST", "/cse/audits/{id}/findings")
        | ("POST", "/api/v1/cse/audits/{id}/findings") => {
            let (id, case) = app.audit_of_today(&format!("Audited{uniq}")).await;
            let api = spec.is_api();
            let fields =
                [("case_id", case), ("rating", "good".to_owned()), ("finding", "Timely and thorough".to_owned())];
            let (body, ok) = match (spec.method, api) {
                ("GET", _) => (Body::None, 200),
                (_, true) => (
                    Body::Json(serde_json::Value::Object(
                        fields.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect(),
                    )),
                    201,
                ),
                (_, false) => (Body::Form(fields.to_vec()), 303),
            };
            Case { path: spec.path.replace("{id}", &id), body, ok, resource: svc }
        }
        ("GET", "/cse/cases/{id}")
        | ("GET", "/api/v1/cse/cases/{id}")
        | ("POST", "/cse/cases/{id}/steps")
        | ("POST", "/api/v1/cse/cases/{id}/steps") => {
            let (id, _) = app.cse_case(&format!("Cse{uniq}")).await;
            let api = spec.is_api();
            let (body, ok) = match (spec.method, api) {
                ("GET", _) => (Body::None, 200),
                (_, true) => (Body::Json(json!({"step": "escalate", "reason": "parent not protecting"})), 201),
                (_, false) => {
                    (Body::Form(vec![("step", "escalate".into()), ("reason", "parent not protecting".into())]), 303)
                }
            };
            Case {
                path: spec.path.replace("{id}", &id),
                body,
                ok,
                resource: Resource::CseCase { worker: Some(app.actor("cseworker").user_id) },
            }
        }
        ("GET", "/actions") | ("GET", "/api/v1/actions") => {
            Case { path: spec.path.into(), body: Body::None, ok: 200, resource: svc }
        }
        ("GET", "/actions/new") => {
            let (_, child) = app.contact_by("advisor", &format!("Assign{uniq}")).await;
            Case { path: format!("/actions/new?child={child}"), body: Body::None, ok: 200, resource: svc }
        }
        ("POST", "/actions") | ("POST", "/api/v1/actions") => {
            let (_, child) = app.contact_by("advisor", &format!("Assigned{uniq}")).await;
            let police = app.agencies["police"].to_string();
            let due = (Utc::now().date_naive() + chrono::Days::new(7)).to_string();
            let api = spec.is_api();
            Case {
                path: spec.path.into(),
                body: if api {
                    Body::Json(json!({"child_id": child, "what": "Visit", "agency": police, "due": due}))
                } else {
                    Body::Form(vec![("child", child), ("what", "Visit".into()), ("agency", police), ("due", due)])
                },
                ok: if api { 201 } else { 303 },
                resource: svc,
            }
        }
        ("POST", "/actions/{id}/complete") | ("POST", "/api/v1/actions/{id}/complete") => {
            let id = app.action_for(owner, &format!("Complete{uniq}")).await;
            let api = spec.is_api();
            Case {
                path: spec.path.replace("{id}", &id),
                body: if api {
                    Body::Json(json!({"outcome": "Interview held"}))
                } else {
                    Body::Form(vec![("outcome", "Interview held".into())])
                },
                ok: if api { 204 } else { 303 },
                resource: Resource::ActionItem { agency: app.actor(owner).agency_id },
            }
        }
        (m, p) => panic!("route {m} {p} is not in the authorization matrix: add a case for it in tests/web.rs"),
    }
}

fn action_of(spec: &RouteSpec) -> Option<Action> {
    match spec.guard {
        Guard::Public => None,
        Guard::Signed(a) => Some(a),
    }
}

async fn send(app: &TestApp, method: &str, path: &str, body: &Body, token: Option<&str>) -> reqwest::Response {
    let c = app.client();
    let url = format!("{}{}", app.base, path);
    let mut req = match method {
        "GET" => c.get(url),
        "POST" => c.post(url),
        "PUT" => c.put(url),
        other => panic!("method {other}"),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req = match body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::Form(f) => req.form(f),
        Body::Csv(text) => req.header("content-type", "text/csv").body(text.clone()),
    };
    req.send().await.unwrap()
}

#[tokio::test]
async fn authorization_matrix_every_route_every_role_own_and_other_agency() {
    each_backend(|app| async move {
        let routes = specs();
        assert!(routes.len() >= 20);
        let mut checked = 0;
        for spec in routes.iter() {
            let Some(action) = action_of(spec) else { continue };
            // Nobody signed in: the API says 401, pages send you to sign in.
            let case = case_for(&app, spec, "advisor", true).await;
            let r = send(&app, spec.method, &case.path, &case.body, None).await;
            if spec.is_api() {
                assert_eq!(r.status(), 401, "{} {} anonymous", spec.method, spec.path);
            } else if spec.path == "/" {
                // The site's root is the public start page for anyone not signed in.
                assert_eq!(r.status(), 200);
                let page = r.text().await.unwrap();
                assert!(page.contains("Worried about a child?") && !page.contains("Waiting for you"));
            } else {
                assert_eq!(r.status(), 303, "{} {} anonymous", spec.method, spec.path);
                assert_eq!(r.headers()["location"], "/login");
            }
            let record_level = is_record_level(action);
            for (username, _, _) in PEOPLE {
                for own in if record_level { vec![true, false] } else { vec![true] } {
                    let case = case_for(&app, spec, username, own).await;
                    let actor = app.actor(username);
                    let decision = decide(actor, action, &case.resource, default_purpose(action, actor));
                    let expected = match (decision.allowed, record_level) {
                        (true, _) => case.ok,
                        (false, true) => 404,
                        (false, false) => 403,
                    };
                    let token = app.quick_token(username).await;
                    let r = send(&app, spec.method, &case.path, &case.body, Some(&token)).await;
                    assert_eq!(
                        r.status().as_u16(),
                        expected,
                        "{} {} as {username} ({} record): policy says {} ({})",
                        spec.method,
                        spec.path,
                        if own { "own" } else { "other agency's" },
                        decision.allowed,
                        decision.reason
                    );
                    checked += 1;
                }
            }
        }
        eprintln!("{checked} route × role × ownership cells checked on {}", app.ts.label);
        assert!(checked > 200);
    })
    .await;
}

// ---- denials look like absence, and are logged ---------------------------------------------

#[tokio::test]
async fn another_agencys_record_answers_like_a_missing_one_and_the_denial_is_logged() {
    each_backend(|app| async move {
        let (contact, _) = app.contact_by("police", "Hidden").await;
        let token = app.token("health").await;
        let theirs = send(&app, "GET", &format!("/api/v1/contacts/{contact}"), &Body::None, Some(&token)).await;
        let missing =
            send(&app, "GET", &format!("/api/v1/contacts/{}", uuid::Uuid::now_v7()), &Body::None, Some(&token)).await;
        let garbage = send(&app, "GET", "/api/v1/contacts/not-an-id", &Body::None, Some(&token)).await;
        assert_eq!(theirs.status(), 404);
        assert_eq!(missing.status(), 404);
        assert_eq!(garbage.status(), 404);
        let (a, b) = (theirs.text().await.unwrap(), missing.text().await.unwrap());
        assert_eq!(a, b, "a denial must not be distinguishable from absence");
        let log = app.store.access_log_for_record("contact", &contact).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].outcome, "denied");
        assert_eq!(log[0].username.as_deref(), Some("health"));
    })
    .await;
}

#[tokio::test]
async fn every_chronology_read_is_in_the_access_log_with_user_agency_and_purpose() {
    each_backend(|app| async move {
        let (_, child) = app.contact_by("advisor", "Logged").await;
        let token = app.token("lead").await;
        let c = app.client();
        let r = c
            .get(format!("{}/api/v1/children/{child}/chronology", app.base))
            .bearer_auth(&token)
            .header("X-Frontdoor-Purpose", "case_work")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["entries"].as_array().unwrap().len(), 2, "{body}");
        assert_eq!(body["scope"], "all");
        // A second read, through the page, with the default purpose.
        let r = send(&app, "GET", &format!("/children/{child}"), &Body::None, Some(&token)).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Logged Testchild"));
        let log = app.store.access_log_for_record("child", &child).await.unwrap();
        assert_eq!(log.len(), 2, "{log:?}");
        for (entry, purpose) in log.iter().zip(["case_work", "triage"]) {
            assert_eq!(entry.username.as_deref(), Some("lead"));
            assert_eq!(entry.agency_name.as_deref(), Some("Children's Services"));
            assert_eq!(entry.purpose, purpose);
            assert_eq!(entry.outcome, "allowed");
        }
        // A purpose that cannot justify reading a case is refused, and that is logged too.
        let r = c
            .get(format!("{}/api/v1/children/{child}/chronology", app.base))
            .bearer_auth(&token)
            .header("X-Frontdoor-Purpose", "analysis")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(app.store.access_log_for_record("child", &child).await.unwrap().len(), 3);
        assert!(app.store.verify_chains().await.unwrap().intact());
    })
    .await;
}

#[tokio::test]
async fn a_partner_agency_sees_only_its_own_part_of_a_chronology() {
    each_backend(|app| async move {
        let (_, child) = app.contact_by("police", "Shared").await;
        let (_, same_child) = app.contact_by("advisor", "Shared").await;
        assert_eq!(child, same_child, "same name and date of birth: same child");
        let token = app.token("police").await;
        let r = send(&app, "GET", &format!("/api/v1/children/{child}/chronology"), &Body::None, Some(&token)).await;
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["scope"], "own_agency");
        assert_eq!(body["entries"].as_array().unwrap().len(), 2, "{body}");
        assert_eq!(body["more_held_elsewhere"], true);
    })
    .await;
}

// ---- contacts over the API ------------------------------------------------------------------

#[tokio::test]
async fn a_contact_posted_is_readable_and_in_the_chronology() {
    each_backend(|app| async move {
        let token = app.token("advisor").await;
        let r = send(&app, "POST", "/api/v1/contacts", &Body::Json(contact_body("Posted")), Some(&token)).await;
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        let id = created["id"].as_str().unwrap();
        assert!(created["reference"].as_str().unwrap().starts_with("FD-"));
        let r = send(&app, "GET", &format!("/api/v1/contacts/{id}"), &Body::None, Some(&token)).await;
        let contact: Value = r.json().await.unwrap();
        assert_eq!(contact["reference"], created["reference"]);
        assert_eq!(contact["source_label"], "Schools");
        let child = contact["child_id"].as_str().unwrap();
        let chron: Value =
            send(&app, "GET", &format!("/api/v1/children/{child}/chronology"), &Body::None, Some(&token))
                .await
                .json()
                .await
                .unwrap();
        assert!(chron["entries"].as_array().unwrap().iter().any(|e| e["contact_id"] == id));
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    each_backend(|app| async move {
        let token = app.token("advisor").await;
        let before = app.store.event_count().await.unwrap();
        let c = app.client();
        let post = |body: String, ct: &'static str| {
            c.post(format!("{}/api/v1/contacts", app.base)).bearer_auth(&token).header("content-type", ct).body(body).send()
        };
        let mut future_dob = contact_body("Future");
        future_dob["child"]["date_of_birth"] = json!("2999-01-01");
        let mut old_dob = contact_body("Old");
        old_dob["child"]["date_of_birth"] = json!("1899-12-31");
        let mut unknown = contact_body("Unknown");
        unknown["child"]["favourite_colour"] = json!("blue");
        let mut wrong_type = contact_body("Wrong");
        wrong_type["narrative"] = json!(42);
        let mut missing = contact_body("Missing");
        missing.as_object_mut().unwrap().remove("narrative");
        let mut bad_source = contact_body("Source");
        bad_source["source_code"] = json!("99");
        let huge = json!({"channel": "phone", "source_code": "2A", "child": {"given_name": "A", "family_name": "B"}, "narrative": "x".repeat(300_000)});
        let cases: Vec<(String, &'static str, u16, &str)> = vec![
            ("{not json".into(), "application/json", 400, "key must be a string"),
            (future_dob.to_string(), "application/json", 422, "child.date_of_birth"),
            (old_dob.to_string(), "application/json", 422, "child.date_of_birth"),
            (unknown.to_string(), "application/json", 400, "favourite_colour"),
            (wrong_type.to_string(), "application/json", 400, "narrative"),
            (missing.to_string(), "application/json", 400, "narrative"),
            (bad_source.to_string(), "application/json", 422, "source_code"),
            (huge.to_string(), "application/json", 413, "bytes"),
            (contact_body("Text").to_string(), "text/plain", 415, "application/json"),
        ];
        for (body, ct, status, mentions) in cases {
            let r = post(body.clone(), ct).await.unwrap();
            assert_eq!(r.status().as_u16(), status, "{}", &body[..body.len().min(120)]);
            let text = r.text().await.unwrap();
            assert!(text.contains(mentions), "error for {} should mention {mentions}: {text}", &body[..body.len().min(80)]);
            let v: Value = serde_json::from_str(&text).unwrap();
            assert!(v["message"].is_string());
        }
        assert_eq!(app.store.event_count().await.unwrap(), before, "rejected requests must write nothing");
    })
    .await;
}

// ---- sign-in, sessions, CSRF ----------------------------------------------------------------

fn login_csrf(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[i..i + 64].to_owned()
}

async fn browser_login(app: &TestApp, c: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
    let page = c.get(format!("{}/login", app.base)).send().await.unwrap().text().await.unwrap();
    let csrf = login_csrf(&page);
    c.post(format!("{}/login", app.base))
        .form(&[("username", username), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn browser_sign_in_csrf_logout_and_rotation() {
    each_backend(|app| async move {
        let c = app.client();
        let r = browser_login(&app, &c, "advisor", PASSWORD).await;
        assert_eq!(r.status(), 303);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("fd_session="))
            .unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        let first = cookie.split(';').next().unwrap().to_owned();
        let home = c.get(format!("{}/", app.base)).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let html = home.text().await.unwrap();
        assert!(html.contains("Log a contact"));
        let csrf = login_csrf(&html);

        // A form posted without the session's CSRF token is refused and writes nothing.
        let before = app.store.event_count().await.unwrap();
        let form = [
            ("channel", "phone"),
            ("source_code", "2A"),
            ("given_name", "Csrf"),
            ("family_name", "Case"),
            ("narrative", "x"),
        ];
        let r = c.post(format!("{}/contacts", app.base)).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(app.store.event_count().await.unwrap(), before);
        let mut with = form.to_vec();
        with.push(("csrf", &csrf));
        let r = c.post(format!("{}/contacts", app.base)).form(&with).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let page = c.get(format!("{}{location}", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Contact recorded") && page.contains("Csrf Case"));

        // Invalid form input re-renders the form with an error summary and keeps the answers.
        let bad = [
            ("channel", "phone"),
            ("source_code", "2A"),
            ("given_name", "Keep"),
            ("family_name", "Me"),
            ("date_of_birth", "2999-01-01"),
            ("narrative", "kept"),
            ("csrf", &csrf),
        ];
        let r = c.post(format!("{}/contacts", app.base)).form(&bad).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("There is a problem")
                && html.contains("href=\"#date_of_birth\"")
                && html.contains("value=\"Keep\"")
        );

        // A signed-in user who opens the sign-in page is sent home.
        let r = c.get(format!("{}/login", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        // Signing in again (with a sign-in form fetched elsewhere) issues a new session id and
        // ends the one this browser held.
        let other = app.client();
        let page = other.get(format!("{}/login", app.base)).send().await.unwrap();
        let login_cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let csrf = login_csrf(&page.text().await.unwrap());
        let r = c
            .post(format!("{}/login", app.base))
            .header("cookie", format!("{login_cookie}; {first}"))
            .form(&[("username", "advisor"), ("password", PASSWORD), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let second = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("fd_session="))
            .unwrap();
        assert_ne!(first, second.split(';').next().unwrap());
        let bare = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let r = bare.get(format!("{}/alerts", app.base)).header("cookie", first.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 303, "the session held before signing in again must be ended");

        // Logging out kills the session server-side.
        let session = second.split(';').next().unwrap().to_owned();
        let r = bare.get(format!("{}/", app.base)).header("cookie", session.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let csrf = login_csrf(&r.text().await.unwrap());
        let r = bare
            .post(format!("{}/logout", app.base))
            .header("cookie", session.as_str())
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let r = bare.get(format!("{}/alerts", app.base)).header("cookie", session.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 303, "a logged-out session must not work");
    })
    .await;
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions() {
    each_backend(|app| async move {
        let token = app.token("police").await;
        assert_eq!(send(&app, "GET", "/api/v1/me", &Body::None, Some(&token)).await.status(), 200);
        service::disable_user(&app.store, "police", "left the force", None, Utc::now()).await.unwrap();
        assert_eq!(send(&app, "GET", "/api/v1/me", &Body::None, Some(&token)).await.status(), 401);
        let r = app
            .client()
            .post(format!("{}/api/v1/auth/token", app.base))
            .json(&json!({"username": "police", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    })
    .await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_alike_and_repeated_failures_lock() {
    each_backend(|app| async move {
        let c = app.client();
        let attempt = |u: &'static str, p: &'static str| {
            c.post(format!("{}/api/v1/auth/token", app.base)).json(&json!({"username": u, "password": p})).send()
        };
        let wrong = attempt("analyst", "nope").await.unwrap();
        let unknown = attempt("nobody", "nope").await.unwrap();
        assert_eq!(wrong.status(), 401);
        assert_eq!(unknown.status(), 401);
        assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
        for _ in 0..4 {
            assert_eq!(attempt("analyst", "nope").await.unwrap().status(), 401);
        }
        // Five failures: now even the right password is refused for a while.
        let r = attempt("analyst", PASSWORD).await.unwrap();
        assert_eq!(r.status(), 429);
        // Other accounts are unaffected.
        assert_eq!(attempt("auditor", PASSWORD).await.unwrap().status(), 200);
    })
    .await;
}

#[tokio::test]
async fn tls_mode_uses_host_prefixed_secure_cookies_and_hsts() {
    let app = TestApp::start(testing::sqlite().await, true).await;
    let r = app.client().get(format!("{}/login", app.base)).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("__Host-fd_login=") && cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(r.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
}

// ---- the rest of the edge -------------------------------------------------------------------

#[tokio::test]
async fn security_headers_health_metrics_and_openapi() {
    let app = TestApp::start(testing::sqlite().await, false).await;
    let c = app.client();
    let r = c.get(format!("{}/login", app.base)).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.headers().get("strict-transport-security").is_none());
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script") && !html.contains("style="), "no inline scripts or styles");

    assert_eq!(c.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
    let metrics = c.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("frontdoor_http_requests_total"), "{metrics}");
    assert!(!metrics.contains(&app.ts.url));

    let doc: Value = c.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in ["/api/v1/auth/token", "/api/v1/contacts", "/api/v1/contacts/{id}", "/api/v1/children/{id}/chronology"] {
        assert!(doc["paths"].get(p).is_some(), "OpenAPI lacks {p}");
    }
    // Every API route the server declares is documented.
    for spec in specs().iter().filter(|s| s.path.starts_with("/api/v1/")) {
        let op = doc["paths"][spec.path][spec.method.to_ascii_lowercase()].clone();
        assert!(op.is_object(), "OpenAPI lacks {} {}", spec.method, spec.path);
    }
    let r = c.get(format!("{}/no/such/page", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn an_unexpected_failure_shows_only_an_operation_id() {
    let app = TestApp::start(testing::sqlite().await, false).await;
    let token = app.token("advisor").await;
    app.store.close().await;
    let r = send(&app, "GET", "/api/v1/me", &Body::None, Some(&token)).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "internal");
    assert!(body["operation_id"].as_str().unwrap().len() >= 32);
    let text = body.to_string();
    assert!(!text.contains("sqlite") && !text.contains("pool"), "no internals leak: {text}");
}

#[tokio::test]
async fn pages_render_for_every_role() {
    let app = TestApp::start(testing::sqlite().await, false).await;
    app.contact_by("advisor", "Rendered").await;
    for (username, _, _) in PEOPLE {
        let token = app.token(username).await;
        let r = send(&app, "GET", "/", &Body::None, Some(&token)).await;
        assert_eq!(r.status(), 200, "{username}");
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("{username} user")));
        // The menu links only to pages the user may open, and every one of them opens.
        for link in ["/contacts/new", "/admin/users", "/audit", "/stats"] {
            if html.contains(&format!("href=\"{link}\"")) {
                assert_eq!(send(&app, "GET", link, &Body::None, Some(&token)).await.status(), 200, "{username} {link}");
            }
        }
    }
    let admin = app.token("admin").await;
    let html = send(&app, "GET", "/", &Body::None, Some(&admin)).await.text().await.unwrap();
    assert!(!html.contains("Rendered"), "administrators never see case data");
}

/// Regression: the worklist listed contacts in the order they were typed in, so a backlog of
/// old contacts about one child filled it. Newest received comes first.
#[tokio::test]
async fn worklist_shows_the_most_recently_received_first() {
    let app = TestApp::start(testing::sqlite().await, false).await;
    let token = app.token("advisor").await;
    let mut refs = Vec::new();
    for (given, received) in
        [("Later", "2026-03-01T10:00:00Z"), ("Earlier", "2025-01-01T10:00:00Z"), ("Middle", "2025-06-01T10:00:00Z")]
    {
        let mut body = contact_body(given);
        body["received_at"] = json!(received);
        let r: Value =
            send(&app, "POST", "/api/v1/contacts", &Body::Json(body), Some(&token)).await.json().await.unwrap();
        refs.push(r["reference"].as_str().unwrap().to_owned());
    }
    let html = send(&app, "GET", "/", &Body::None, Some(&token)).await.text().await.unwrap();
    let pos = |r: &str| html.find(r).unwrap();
    assert!(pos(&refs[0]) < pos(&refs[2]) && pos(&refs[2]) < pos(&refs[1]), "order on the page is not newest first");
}

#[tokio::test]
async fn an_administrator_cannot_disable_their_own_account() {
    let app = TestApp::start(testing::sqlite().await, false).await;
    let token = app.token("admin").await;
    let own = app.actor("admin").user_id;
    let r = send(
        &app,
        "POST",
        &format!("/admin/users/{own}/disable"),
        &Body::Form(vec![("reason", "oops".into())]),
        Some(&token),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("cannot disable your own account"));
    assert!(!app.store.user(own).await.unwrap().unwrap().disabled);
}

#[tokio::test]
async fn a_contacts_narrative_is_screened_with_spans_and_negation() {
    each_backend(|app| async move {
        let token = app.token("advisor").await;
        let narrative = "She has an older boyfriend who picks her up in a car. No concerns about self harm.";
        let mut body = contact_body("Screened");
        body["narrative"] = json!(narrative);
        let created: Value =
            send(&app, "POST", "/api/v1/contacts", &Body::Json(body), Some(&token)).await.json().await.unwrap();
        let id = created["id"].as_str().unwrap();
        let c: Value =
            send(&app, "GET", &format!("/api/v1/contacts/{id}"), &Body::None, Some(&token)).await.json().await.unwrap();
        let found = c["indicators"].as_array().unwrap();
        let text = |i: &Value| {
            narrative[i["start"].as_u64().unwrap() as usize..i["end"].as_u64().unwrap() as usize].to_lowercase()
        };
        let boyfriend = found.iter().find(|i| text(i).contains("older boyfriend")).unwrap_or_else(|| panic!("{c}"));
        assert_eq!(boyfriend["negated"], false);
        assert_eq!(boyfriend["group"], "older_associate");
        let harm = found.iter().find(|i| text(i).contains("self harm")).unwrap_or_else(|| panic!("{c}"));
        assert_eq!(harm["negated"], true, "'no concerns about self harm' is a negated mention");
        // The page highlights the mentions, negated ones differently.
        let html = send(&app, "GET", &format!("/contacts/{id}"), &Body::None, Some(&token)).await.text().await.unwrap();
        assert!(html.contains("<mark class=\"ind\"") && html.contains("<mark class=\"ind-neg\""), "{html}");
    })
    .await;
}

#[tokio::test]
async fn a_bad_lexicon_file_stops_the_server_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("fd-lex-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lexicon.toml");
    // The shipped lexicon with one bad entry appended: the error must point at its group line.
    let shipped = include_str!("../../../config/lexicon.toml");
    let text =
        format!("{}\n[[term]]\nterm = \"a made up term\"\ngroup = \"no_such_group\"\nweight = 3\n", shipped.trim_end());
    let group_line = text.lines().position(|l| l.contains("no_such_group")).unwrap() + 1;
    std::fs::write(&path, &text).unwrap();
    let ts = testing::sqlite().await;
    let cfg = Config { lexicon_file: path.display().to_string(), ..test_config(false) };
    let err = Application::build(cfg, ts.store.clone()).await.err().expect("must refuse to start").to_string();
    assert!(err.contains(&format!("lexicon.toml:{group_line}:")) && err.contains("no_such_group"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_bad_nickname_table_stops_the_server_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("fd-nick-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nicknames.toml");
    std::fs::write(&path, "[groups]\nwilliam = [\"bill\", \"will\"]\nkatherine = [\"kate\", \"kat e\"]\n").unwrap();
    let ts = testing::sqlite().await;
    let cfg = Config { nicknames_file: path.display().to_string(), ..test_config(false) };
    let err = Application::build(cfg, ts.store.clone()).await.err().expect("must refuse to start").to_string();
    assert!(err.contains("nicknames.toml:3:") && err.contains("kat e"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_bad_support_directory_stops_the_server_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("fd-support-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("support.toml");
    std::fs::write(&path, "[[service]]\nid = \"x\"\nneed = \"camhs\"\nname = \"X\"\nmin_level = \"severe\"\n").unwrap();
    let ts = testing::sqlite().await;
    let cfg = Config { support_file: path.display().to_string(), ..test_config(false) };
    let err = Application::build(cfg, ts.store.clone()).await.err().expect("must refuse to start").to_string();
    assert!(err.contains("support.toml:5:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the front door: protocols, alerts, decisions, referrals (issue 3) -----------------------

async fn post_json(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.client().post(format!("{}{path}", app.base)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    let r = app.client().get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().await.unwrap()
}

async fn get_page(app: &TestApp, token: &str, path: &str) -> String {
    let r = app.client().get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_contact_carries_its_level_indicators_alerts_and_explanation() {
    each_backend(|app| async move {
        let token = app.token("advisor").await;
        let mut body = contact_body("Pinned");
        body["narrative"] =
            json!("No concerns about an older boyfriend. She went missing overnight and came back drunk.");
        body["call_type"] = json!("missing_child");
        body["answers"] = json!({"police_category": "missing", "returned": true, "overnight": true});
        let (status, created) = post_json(&app, &token, "/api/v1/contacts", body).await;
        assert_eq!(status, 201, "{created}");
        assert!(created["alerts"].as_array().unwrap().iter().any(|a| a == "missing_episode"));
        let id = created["id"].as_str().unwrap();
        let v = get_json(&app, &token, &format!("/api/v1/contacts/{id}")).await;
        let level = v["level_of_need"].as_u64().unwrap();
        assert!((1..=4).contains(&level));
        let narrative = v["narrative"].as_str().unwrap();
        let indicators = v["indicators"].as_array().unwrap();
        for i in indicators {
            for key in ["term", "group", "negated", "start", "end"] {
                assert!(!i[key].is_null(), "indicator lacks {key}: {i}");
            }
            let (s, e) = (i["start"].as_u64().unwrap() as usize, i["end"].as_u64().unwrap() as usize);
            assert!(narrative.get(s..e).is_some(), "byte offsets into the narrative");
        }
        let boyfriend = indicators.iter().find(|i| i["group"] == "older_associate").expect("older boyfriend mention");
        assert_eq!(boyfriend["negated"], true);
        assert!(indicators.iter().any(|i| i["group"] == "missing" && i["negated"] == false));
        let alerts = v["alerts"].as_array().unwrap();
        assert!(alerts.iter().any(|a| a["kind"] == "missing_episode" && a["state"] == "open"), "{alerts:?}");
        let explanation = v["explanation"].as_array().unwrap();
        assert!(!explanation.is_empty() && explanation.iter().all(|l| l.is_string()));
        assert_eq!(v["call_type"], "missing_child");
        assert_eq!(v["answers"]["returned"], true);
        assert!(v["decision"].is_null());

        // The protocol's questions are published for scripts and forms.
        let protocols = get_json(&app, &token, "/api/v1/protocols").await;
        let missing = protocols.as_array().unwrap().iter().find(|p| p["id"] == "missing_child").unwrap();
        assert!(
            missing["questions"].as_array().unwrap().iter().any(|q| q["id"] == "returned" && q["type"] == "yes_no")
        );

        // Bad protocol input: named, nothing written.
        let before = app.store.event_count().await.unwrap();
        let mut bad = contact_body("BadType");
        bad["call_type"] = json!("missing_child");
        bad["answers"] = json!({"police_category": "missing", "returned": "sometimes"});
        let (status, err) = post_json(&app, &token, "/api/v1/contacts", bad).await;
        assert_eq!(status, 422);
        assert!(err.to_string().contains("answers.returned"), "{err}");
        let mut bad = contact_body("BadCall");
        bad["call_type"] = json!("horoscope");
        let (status, err) = post_json(&app, &token, "/api/v1/contacts", bad).await;
        assert_eq!(status, 422);
        assert!(err.to_string().contains("call_type"), "{err}");
        assert_eq!(app.store.event_count().await.unwrap(), before);
    })
    .await;
}

#[tokio::test]
async fn anonymous_contacts_never_hold_the_reporter_and_named_ones_do() {
    each_backend(|app| async move {
        let token = app.token("advisor").await;
        let mut body = contact_body("Anon");
        body["anonymous"] = json!(true);
        body["reporter"] = json!({"name": "Nosy Neighbour", "phone": "07700 900000"});
        let (status, err) = post_json(&app, &token, "/api/v1/contacts", body.clone()).await;
        assert_eq!(status, 422);
        assert!(err.to_string().contains("reporter"), "{err}");
        body.as_object_mut().unwrap().remove("reporter");
        let (status, created) = post_json(&app, &token, "/api/v1/contacts", body).await;
        assert_eq!(status, 201);
        let id = created["id"].as_str().unwrap();
        let v = get_json(&app, &token, &format!("/api/v1/contacts/{id}")).await;
        assert_eq!(v["anonymous"], true);
        assert!(v["reporter"].is_null());
        let events = app.store.contact_events(id.parse().unwrap()).await.unwrap();
        let payload = serde_json::to_string(&events).unwrap();
        assert!(!payload.contains("reporter"), "nothing about the reporter is stored: {payload}");

        let mut body = contact_body("Named");
        body["reporter"] = json!({"name": "Aunt Jo", "relationship": "aunt"});
        let (_, created) = post_json(&app, &token, "/api/v1/contacts", body).await;
        let v = get_json(&app, &token, &format!("/api/v1/contacts/{}", created["id"].as_str().unwrap())).await;
        assert_eq!(v["reporter"]["name"], "Aunt Jo");
        assert_eq!(v["anonymous"], false);
    })
    .await;
}

#[tokio::test]
async fn the_worklist_decisions_alerts_and_referral_pages_work() {
    each_backend(|app| async move {
        let advisor = app.token("advisor").await;
        // A partner's referral through its own form: channel and source come from the user.
        let police = app.token("police").await;
        let form = get_page(&app, &police, "/refer?call_type=missing_child").await;
        assert!(form.contains("name=\"a.returned\""), "the protocol's questions are on the form");
        let r = app
            .client()
            .post(format!("{}/refer", app.base))
            .bearer_auth(&police)
            .form(&[
                ("call_type", "missing_child"),
                ("given_name", "Referred"),
                ("family_name", "Bypolice"),
                ("narrative", "Found at a party with older men after being missing overnight."),
                ("a.police_category", "missing"),
                ("a.returned", "yes"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let contact_id = location.trim_start_matches("/contacts/").split('?').next().unwrap().to_owned();
        let v = get_json(&app, &advisor, &format!("/api/v1/contacts/{contact_id}")).await;
        assert_eq!(v["channel"], "professional_referral");
        assert_eq!(v["source_code"], "6");
        assert!(v["reporter"]["name"].as_str().unwrap().contains("police user"));
        // A required answer left out: the form comes back naming it.
        let r = app
            .client()
            .post(format!("{}/refer", app.base))
            .bearer_auth(&police)
            .form(&[("call_type", "missing_child"), ("given_name", "A"), ("family_name", "B"), ("narrative", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("href=\"#a.returned\""));

        // The worklist shows it, by urgency; the alerts page lists its alert.
        let page = get_page(&app, &advisor, "/worklist").await;
        let reference = v["reference"].as_str().unwrap();
        assert!(page.contains(reference), "worklist lists the new contact");
        let alerts = get_page(&app, &advisor, "/alerts").await;
        assert!(alerts.contains("missing episode"));
        let list = get_json(&app, &advisor, "/api/v1/worklist").await;
        let levels: Vec<u64> = list.as_array().unwrap().iter().map(|e| e["level_of_need"].as_u64().unwrap()).collect();
        assert!(levels.windows(2).all(|w| w[0] >= w[1]), "most urgent first: {levels:?}");

        // Acknowledge the alert from the page, then decide on the contact from the page.
        let alert = v["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "missing_episode").unwrap().clone();
        let r = app
            .client()
            .post(format!("{}/alerts/{}", app.base, alert["id"].as_str().unwrap()))
            .bearer_auth(&advisor)
            .form(&[("action", "acknowledge"), ("back", "contact")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"].to_str().unwrap(), format!("/contacts/{contact_id}"));
        let page = get_page(&app, &advisor, &format!("/contacts/{contact_id}")).await;
        assert!(page.contains("Record the decision") && page.contains("acknowledged"));
        let decide = |outcome: &'static str, reasons: &'static str| {
            app.client()
                .post(format!("{}/contacts/{contact_id}/decision", app.base))
                .bearer_auth(&advisor)
                .form(&[("outcome", outcome), ("reasons", reasons)])
                .send()
        };
        let r = decide("early_help", "").await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("reasons"));
        let r = decide("multi_agency_enquiry", "Older men; check with police and health.").await.unwrap();
        assert_eq!(r.status(), 303);
        let page = get_page(&app, &advisor, &format!("/contacts/{contact_id}")).await;
        assert!(page.contains("Open a multi-agency enquiry") && !page.contains("Record the decision"));
        let r = decide("early_help", "again").await.unwrap();
        assert_eq!(r.status(), 409);
        let page = get_page(&app, &advisor, "/worklist").await;
        assert!(!page.contains(reference), "decided contacts leave the worklist");
        let v = get_json(&app, &advisor, &format!("/api/v1/contacts/{contact_id}")).await;
        assert_eq!(v["decision"]["outcome"], "multi_agency_enquiry");
        assert_eq!(v["decision"]["decided_by"], "advisor");

        // Flags: set on the child page; health users see them on their own contacts.
        let health = app.token("health").await;
        let (status, created) = post_json(&app, &health, "/api/v1/contacts", contact_body("Flagme")).await;
        assert_eq!(status, 201);
        let child = created["child_id"].as_str().unwrap();
        let r = app
            .client()
            .post(format!("{}/children/{child}/flags", app.base))
            .bearer_auth(&advisor)
            .form(&[("flag", "child_protection_plan"), ("change", "set"), ("note", "CP plan since 2026-01")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let (status, created) = post_json(&app, &health, "/api/v1/contacts", contact_body("Flagme")).await;
        assert_eq!(status, 201);
        assert!(created["alerts"].as_array().unwrap().iter().any(|a| a == "protection_flag"));
        let page = get_page(&app, &health, &format!("/contacts/{}", created["id"].as_str().unwrap())).await;
        assert!(page.contains("Child-protection plan"), "health users see the flag");

        // In-app: the team's home shows what waits for it; partners are offered the referral form.
        let home = get_page(&app, &advisor, "/").await;
        assert!(home.contains("await a decision") && home.contains("open alerts for"), "{home}");
        let home = get_page(&app, &health, "/").await;
        assert!(home.contains("href=\"/refer\"") && !home.contains("await a decision"));
    })
    .await;
}

#[tokio::test]
async fn a_feed_over_the_api_is_all_or_nothing_and_names_line_and_column() {
    each_backend(|app| async move {
        let token = app.token("advisor").await;
        let post = |path: &'static str, ct: &'static str, body: &'static str| {
            app.client()
                .post(format!("{}{path}", app.base))
                .bearer_auth(&token)
                .header("content-type", ct)
                .body(body)
                .send()
        };
        let before = app.store.event_count().await.unwrap();
        let bad = "given_name,family_name,days_absent\nAmy,Absent,12\nBen,,0\n";
        let r = post("/api/v1/feeds/school_absence", "text/csv", bad).await.unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        let fields: Vec<&str> = v["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["line 3, column family_name", "line 3, column days_absent"], "{v}");
        assert_eq!(app.store.event_count().await.unwrap(), before, "nothing written");
        let r = post("/api/v1/feeds/school_absence", "application/json", "{}").await.unwrap();
        assert_eq!(r.status(), 400);
        let r = post("/api/v1/feeds/carrier_pigeon", "text/csv", bad).await.unwrap();
        assert_eq!(r.status(), 404);
        let good = "given_name,family_name,days_absent\nAmy,Absent,12\nBen,Present,3\n";
        let r = post("/api/v1/feeds/school_absence", "text/csv", good).await.unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["imported"], 2);
        assert!(v["contacts"][0]["alerts"].as_array().unwrap().iter().any(|a| a == "school_absence"));
        assert!(!v["contacts"][1]["alerts"].as_array().unwrap().iter().any(|a| a == "school_absence"));
        let id = v["contacts"][0]["id"].as_str().unwrap();
        let c = get_json(&app, &token, &format!("/api/v1/contacts/{id}")).await;
        assert_eq!(c["source_code"], "2A");
        assert_eq!(c["channel"], "feed");
    })
    .await;
}

// ---- the person index in the flow ------------------------------------------------------------

/// The sources and records of a contact's record check: (source, record id) of every record shown.
fn shown(check: &Value) -> Vec<(String, String)> {
    ["records", "candidates"]
        .iter()
        .flat_map(|k| check[k].as_array().cloned().unwrap_or_default())
        .map(|r| (r["source"].as_str().unwrap_or("").to_owned(), r["record_id"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// Person records of 64 children in a health system, a third of them in a police system too
/// (source, record id, given name, family name, date of birth): a population for the matcher's
/// model to learn from.
fn population() -> Vec<(String, String, String, String, String)> {
    let given = ["Oliver", "Amir", "Grace", "Zofia", "Kwame", "Isla", "Noah", "Leah"];
    let family = ["Smith", "Khan", "Nowak", "Mensah", "Brown", "Patel", "Walsh", "Evans"];
    let mut owned = Vec::new();
    for (i, g) in given.iter().enumerate() {
        for (j, f) in family.iter().enumerate() {
            let dob = format!("20{:02}-{:02}-{:02}", 5 + i, 1 + j, 3 + i + j);
            owned.push(("health_sys".into(), format!("H{i}{j}"), (*g).into(), (*f).into(), dob.clone()));
            if (i + j) % 3 == 0 {
                owned.push(("police_sys".into(), format!("P{i}{j}"), (*g).into(), (*f).into(), dob));
            } else if (i + j) % 3 == 1 && i % 2 == 0 {
                // Recorded with a slip in the date of birth: day and month swapped, or a digit wrong.
                let (month, day) = (1 + j, 3 + i + j);
                let slipped = if day <= 12 && day != month {
                    format!("20{:02}-{day:02}-{month:02}", 5 + i)
                } else {
                    format!("20{:02}-{month:02}-{:02}", 5 + i, day / 10 * 10 + (day % 10 + 1) % 10)
                };
                owned.push(("police_sys".into(), format!("Q{i}{j}"), (*g).into(), (*f).into(), slipped));
            }
        }
    }
    owned
}

/// A contact that spells the child differently is recorded for a new child unless the matcher is
/// sure; its record check then lists the children born that day whom a person should compare
/// (linked to their records, each listing logged as a view of that child), never a twin whose name
/// tells them apart, and to an agency that may not see them only as a count.
#[tokio::test]
async fn record_checks_show_children_already_recorded_who_may_be_the_same_child() {
    each_backend(|app| async move {
        app.source("health_sys", "health").await;
        app.source("police_sys", "police").await;
        let owned = population();
        let rows: Vec<(&str, &str, &str, &str, &str)> =
            owned.iter().map(|(s, r, g, f, d)| (s.as_str(), r.as_str(), g.as_str(), f.as_str(), d.as_str())).collect();
        app.people(&rows).await;
        let advisor = app.token("advisor").await;
        let children = |check: &Value| -> Vec<String> {
            check["children"].as_array().unwrap().iter().map(|c| c["child_id"].as_str().unwrap().to_owned()).collect()
        };

        // Before any `link dedupe` run nothing is weighed: no list.
        let (first, amelia) = app.contact_by("advisor", "Amelia").await;
        let (slip, amelai) = app.contact_by("advisor", "Amelai").await;
        assert_ne!(amelia, amelai);
        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{slip}/records")).await;
        assert!(children(&check).is_empty(), "no model, no weighing: {check}");

        // With a run's model, intake weighs the same-day children and still does not join a
        // one-letter slip (it may be a twin's name); the record check shows her instead.
        let model = app.store_link_model(&rows).await;
        let (again, child) = app.contact_by("advisor", "Amelja").await;
        assert!(child != amelia && child != amelai, "intake does not guess between names");
        // A twin: same family name and birthday, a name with nothing in common.
        let (_, zainab) = app.contact_by("advisor", "Zainab").await;
        assert!(zainab != amelia && zainab != amelai);
        let probe = |given: &str| frontdoor_link::Person {
            given_name: Some(given.into()),
            family_name: Some("Testchild".into()),
            date_of_birth: chrono::NaiveDate::from_ymd_opt(2011, 4, 5),
            ..frontdoor_link::Person::default()
        };
        let weighed = frontdoor_link::weigh(&model, &app.screening.nicknames, &probe("Amelai"), &[probe("Zainab")]);
        assert_eq!(weighed[0].1, frontdoor_link::Guard::Twins, "the test's twin is one to the matcher");

        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{slip}/records")).await;
        let mut expected = vec![amelia.clone(), child.clone()];
        let mut got = children(&check);
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "the twin is not listed: {check}");
        for c in check["children"].as_array().unwrap() {
            assert!(c["note"].as_str().unwrap().contains("twins"), "{check}");
            assert!(c["probability"].as_f64().unwrap() >= 0.5, "{check}");
        }
        assert_eq!(check["children_withheld"], 0);
        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{first}/records")).await;
        assert!(children(&check).contains(&amelai), "and the other way round: {check}");
        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{again}/records")).await;
        assert!(children(&check).contains(&amelia), "{check}");
        let page =
            app.client().get(format!("{}/contacts/{slip}", app.base)).bearer_auth(&advisor).send().await.unwrap();
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("href=\"/children/{amelia}\"")), "the page links to the other child");
        assert!(!html.contains(&format!("/children/{zainab}")));
        let log = app.store.access_log_for_record("child", &amelia).await.unwrap();
        assert!(
            log.iter().any(|e| e.username.as_deref() == Some("advisor")
                && e.action == "view_chronology"
                && e.reason.contains(&amelai)),
            "listing her is logged as a view of her: {log:?}"
        );

        // Health has no part in the other children's records: it is told they exist, not who.
        let health = app.token("health").await;
        let (theirs, child) = app.contact_by("health", "Amelai").await;
        assert_eq!(child, amelai, "the same spelling joins");
        let check = get_json(&app, &health, &format!("/api/v1/contacts/{theirs}/records")).await;
        assert!(children(&check).is_empty(), "{check}");
        assert_eq!(check["children_withheld"], 2, "{check}");

        // A mistyped date of birth records a new child (intake joins only on the same day); each
        // record check lists the other, saying why. A date more than one slip away is another child.
        let (swapped, amelia_swapped) = app.contact_born("advisor", "Amelia", "2011-05-04").await;
        let (_, amelia_digit) = app.contact_born("advisor", "Amelia", "2011-04-08").await;
        let (_, amelia_other) = app.contact_born("advisor", "Amelia", "2011-09-27").await;
        for c in [&amelia_swapped, &amelia_digit, &amelia_other] {
            assert!(![&amelia, &amelai, &child].contains(&c), "a new child for another date");
        }
        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{first}/records")).await;
        let listed = children(&check);
        assert!(listed.contains(&amelia_swapped) && listed.contains(&amelia_digit), "{check}");
        assert!(!listed.contains(&amelia_other), "{check}");
        for c in check["children"].as_array().unwrap() {
            let slip = c["note"].as_str().unwrap().contains("date of birth one slip apart");
            assert_eq!(slip, c["date_of_birth"] != "2011-04-05", "{check}");
        }
        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{swapped}/records")).await;
        assert!(children(&check).contains(&amelia), "and the other way round: {check}");
        assert!(!children(&check).contains(&amelia_other), "{check}");
    })
    .await;
}

/// A child recorded twice: the contact on the second record moves to the first with its
/// assessment and alerts, both chronologies keep the move, the page offers it beside the child the
/// record check lists, bad input changes nothing, a partner may not, and moving back works.
#[tokio::test]
async fn a_contact_moves_to_the_other_record_of_the_same_child_and_back() {
    each_backend(|app| async move {
        app.source("health_sys", "health").await;
        let owned = population();
        let rows: Vec<(&str, &str, &str, &str, &str)> =
            owned.iter().map(|(s, r, g, f, d)| (s.as_str(), r.as_str(), g.as_str(), f.as_str(), d.as_str())).collect();
        app.people(&rows).await;
        app.store_link_model(&rows).await;
        let advisor = app.token("advisor").await;
        let (first, amelia) = app.contact_by("advisor", "Amelia").await;
        let (_, amelai) = app.contact_by("police", "Amelai").await;
        assert_ne!(amelia, amelai, "a one-letter slip records a second child");
        app.contact_by("police", "Amelai").await;
        // The third contact about her second record raises an alert (repeat contacts).
        let (slip, child) = app.contact_by("police", "Amelai").await;
        assert_eq!(child, amelai);
        let slip_id: frontdoor_core::ContactId = slip.parse().unwrap();
        let alerts = app.store.alerts_for_contact(slip_id).await.unwrap();
        assert!(alerts.iter().any(|a| a.kind == "repeat_contacts"), "{alerts:?}");
        let entries = |v: &Value| -> Vec<(i64, String, Option<String>)> {
            v["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let kind = e["kind"].as_str().unwrap().to_owned();
                    (e["seq"].as_i64().unwrap(), kind, e["contact_id"].as_str().map(str::to_owned))
                })
                .collect()
        };
        let has = |list: &[(i64, String, Option<String>)], kind: &str, contact: &str| {
            list.iter().any(|(_, k, c)| k == kind && c.as_deref() == Some(contact))
        };
        let chronology = |child: String| {
            let (app, advisor) = (&app, &advisor);
            async move { entries(&get_json(app, advisor, &format!("/api/v1/children/{child}/chronology")).await) }
        };
        let before_amelia = chronology(amelia.clone()).await;
        let before_amelai = chronology(amelai.clone()).await;
        assert!(has(&before_amelai, "contact_received", &slip));

        // The contact page offers the move beside the child the record check lists.
        let page = get_page(&app, &advisor, &format!("/contacts/{slip}")).await;
        assert!(page.contains(&format!("action=\"/contacts/{slip}/move\"")), "{page}");
        assert!(page.contains(&format!("name=\"to_child\" value=\"{amelia}\"")));
        let police = app.token("police").await;
        let page = get_page(&app, &police, &format!("/contacts/{slip}")).await;
        assert!(!page.contains("/move\""), "a partner is not offered it");

        // Bad input is refused, naming the field, and changes nothing.
        let move_to = |token: &str, to: &str, reason: &str| {
            let body = json!({"to_child": to, "reason": reason});
            let (app, token, path) = (&app, token.to_owned(), format!("/api/v1/contacts/{slip}/move"));
            async move { post_json(app, &token, &path, body).await }
        };
        let (status, v) = move_to(&advisor, &amelia, "  ").await;
        assert_eq!(status, 422, "{v}");
        assert!(v.to_string().contains("\"reason\""), "the request's own field: {v}");
        let (status, v) = move_to(&advisor, "not-a-child", "same child").await;
        assert_eq!(status, 422, "{v}");
        assert!(v.to_string().contains("to_child") && v.to_string().contains("not-a-child"), "{v}");
        let (status, _) = move_to(&advisor, &amelai, "same child").await;
        assert_eq!(status, 422, "already there");
        let (status, _) = move_to(&advisor, &frontdoor_core::ChildId::new().to_string(), "same child").await;
        assert_eq!(status, 422, "no such child");
        let (status, _) = move_to(&police, &amelia, "same child").await;
        assert_eq!(status, 404, "a partner may not move contacts");
        let r = app
            .client()
            .post(format!("{}/contacts/{slip}/move", app.base))
            .bearer_auth(&advisor)
            .form(&[("to_child", amelia.as_str()), ("move_reason", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("The contact was not moved"));
        // Not a slip of one date of birth: another child (a guard against a wrong id); the page
        // keeps what was typed.
        let (_, other) = app.contact_born("advisor", "Amelia", "2011-09-27").await;
        let (status, v) = move_to(&advisor, &other, "same child").await;
        assert_eq!(status, 422, "{v}");
        assert!(v.to_string().contains("2011-09-27"), "{v}");
        let r = app
            .client()
            .post(format!("{}/contacts/{slip}/move", app.base))
            .bearer_auth(&advisor)
            .form(&[("to_child", amelia.as_str()), ("move_reason", &"x".repeat(2001))])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("value=\"{}\" aria-invalid", "x".repeat(2001))), "the reason typed is kept");
        assert_eq!(chronology(amelia.clone()).await, before_amelia);
        assert_eq!(chronology(amelai.clone()).await, before_amelai);

        // Moved from the page: the contact, its assessment, alerts and entries follow it.
        let r = app
            .client()
            .post(format!("{}/contacts/{slip}/move", app.base))
            .bearer_auth(&advisor)
            .form(&[("to_child", amelia.as_str()), ("move_reason", "same school, same address: a slip in the name")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let v = get_json(&app, &advisor, &format!("/api/v1/contacts/{slip}")).await;
        assert_eq!(v["child_id"], amelia.as_str(), "{v}");
        for a in app.store.alerts_for_contact(slip_id).await.unwrap() {
            assert_eq!(a.child_id.to_string(), amelia, "its alerts follow it");
        }
        let after_amelia = chronology(amelia.clone()).await;
        let after_amelai = chronology(amelai.clone()).await;
        let moved: Vec<_> = before_amelai.iter().filter(|e| !after_amelai.contains(e)).cloned().collect();
        assert!(has(&moved, "contact_received", &slip), "{moved:?}");
        assert!(moved.iter().any(|(_, k, _)| k == "alert_raised"), "its alert's entry too: {moved:?}");
        assert!(moved.iter().all(|e| after_amelia.contains(e)), "{moved:?} joins the first record: {after_amelia:?}");
        assert!(before_amelia.iter().all(|e| after_amelia.contains(e)));
        assert_eq!(after_amelia.len(), before_amelia.len() + moved.len() + 1);
        assert_eq!(after_amelai.len(), before_amelai.len() - moved.len() + 1);
        assert!(has(&after_amelai, "contact_moved", &slip) && has(&after_amelia, "contact_moved", &slip));
        assert!(!has(&after_amelai, "contact_received", &slip));
        let v = get_json(&app, &advisor, &format!("/api/v1/children/{amelai}/chronology")).await;
        let summary =
            v["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "contact_moved").unwrap()["summary"]
                .as_str()
                .unwrap()
                .to_owned();
        assert!(summary.contains("a slip in the name"), "{summary}");
        // The police, who recorded it, now contribute to (and see their part of) the first record.
        let v = get_json(&app, &police, &format!("/api/v1/children/{amelia}/chronology")).await;
        assert!(has(&entries(&v), "contact_received", &slip), "{v}");
        // What the alert rules count next: both contacts, and the moved alert, are hers now.
        let windows = frontdoor_store::HistoryWindows::since(Utc::now(), [1, 1, 1]);
        let history = |child: &str| app.store.child_history(child.parse().unwrap(), &windows);
        let h = history(&amelia).await.unwrap();
        assert_eq!(h.contacts, 2, "{h:?}");
        assert!(h.unresolved_alerts.iter().any(|k| k == "repeat_contacts"), "{h:?}");
        let h = history(&amelai).await.unwrap();
        assert_eq!(h.contacts, 2, "{h:?}");
        assert!(!h.unresolved_alerts.iter().any(|k| k == "repeat_contacts"), "{h:?}");

        // Moved back over the API: another move, both records keep both.
        let (status, v) = move_to(&advisor, &amelai, "they are twins after all: checked with the school").await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["child_id"], amelai.as_str());
        assert_eq!(v["from_child"], amelia.as_str());
        let back = chronology(amelai.clone()).await;
        assert!(moved.iter().all(|e| back.contains(e)), "{moved:?} is back: {back:?}");
        assert_eq!(back.iter().filter(|(_, k, _)| k == "contact_moved").count(), 2);
        let amelia_now = chronology(amelia.clone()).await;
        assert!(!has(&amelia_now, "contact_received", &slip));
        assert!(moved.iter().all(|e| !amelia_now.contains(e)));
        assert_eq!(amelia_now.iter().filter(|(_, k, _)| k == "contact_moved").count(), 2);

        // A record left with nothing of its own stands for the child it moved to: a later
        // contact that names the child exactly as it did joins that child, saying so.
        let (only, amelya) = app.contact_by("police", "Amelya").await;
        assert!(![&amelia, &amelai].contains(&&amelya));
        let (status, _) = post_json(
            &app,
            &advisor,
            &format!("/api/v1/contacts/{only}/move"),
            json!({"to_child": amelia, "reason": "the same child"}),
        )
        .await;
        assert_eq!(status, 200);
        let v = get_json(&app, &advisor, &format!("/api/v1/children/{amelya}/chronology")).await;
        assert_eq!(v["child"]["moved_to"], amelia.as_str(), "{v}");
        let v = get_json(&app, &advisor, &format!("/api/v1/children/{amelai}/chronology")).await;
        assert!(v["child"]["moved_to"].is_null(), "a record with contacts left is its own: {v}");
        let page = get_page(&app, &advisor, &format!("/children/{amelya}")).await;
        assert!(page.contains("This child was recorded twice") && page.contains(&format!("/children/{amelia}")));
        let (later, child) = app.contact_by("police", "Amelya").await;
        assert_eq!(child, amelia, "joins the child the record moved to");
        let v = get_json(&app, &advisor, &format!("/api/v1/contacts/{later}")).await;
        assert_eq!(v["child_match"]["moved_from"], amelya.as_str(), "{v}");
        assert_eq!(v["child_match"]["given_name"], "Amelya", "the child as this contact named them: {v}");
        let page = get_page(&app, &advisor, &format!("/contacts/{later}")).await;
        assert!(page.contains("Child recorded twice"), "{page}");
        // The emptied record is no longer offered as another record of the child.
        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{first}/records")).await;
        let listed: Vec<&str> =
            check["children"].as_array().unwrap().iter().map(|c| c["child_id"].as_str().unwrap()).collect();
        assert!(!listed.contains(&amelya.as_str()) && listed.contains(&amelai.as_str()), "{check}");
        // Moving a contact back makes it a record in its own right again.
        let (status, _) = post_json(
            &app,
            &advisor,
            &format!("/api/v1/contacts/{later}/move"),
            json!({"to_child": amelya, "reason": "not the same child after all"}),
        )
        .await;
        assert_eq!(status, 200);
        let v = get_json(&app, &advisor, &format!("/api/v1/children/{amelya}/chronology")).await;
        assert!(v["child"]["moved_to"].is_null(), "{v}");
        let (_, child) = app.contact_by("police", "Amelya").await;
        assert_eq!(child, amelya);

        // A contact that referred its child to the CSE pathway stays with the case's record.
        let (status, _) = post_json(
            &app,
            &advisor,
            &format!("/api/v1/contacts/{slip}/decision"),
            json!({"outcome": "cse_pathway", "reasons": "older men, cars"}),
        )
        .await;
        assert_eq!(status, 201);
        let amelia_now = chronology(amelia.clone()).await;
        let (status, v) = move_to(&advisor, &amelia, "same child").await;
        assert_eq!(status, 409, "{v}");
        assert!(v.to_string().contains("CSE pathway"), "{v}");
        assert_eq!(chronology(amelia.clone()).await, amelia_now);
        let page = get_page(&app, &advisor, &format!("/contacts/{slip}")).await;
        assert!(page.contains("it stays with the case") && !page.contains("/move\""), "{page}");
    })
    .await;
}

/// One child recorded twice may cross the repeat-contacts threshold only when the records are one:
/// the move works the history rules out again for the child the contact joins.
#[tokio::test]
async fn a_move_that_makes_the_history_cross_a_threshold_raises_the_alert() {
    each_backend(|app| async move {
        let advisor = app.token("advisor").await;
        let (_, priya) = app.contact_by("advisor", "Priya").await;
        app.contact_by("advisor", "Priya").await;
        let (moving, priyaa) = app.contact_by("police", "Priyaa").await;
        assert_ne!(priya, priyaa);
        let id: frontdoor_core::ContactId = moving.parse().unwrap();
        assert!(app.store.alerts_for_contact(id).await.unwrap().is_empty(), "a first contact raises none");
        let move_to = |to: &str| {
            let body = json!({"to_child": to, "reason": "the same child"});
            let (app, advisor, path) = (&app, &advisor, format!("/api/v1/contacts/{moving}/move"));
            async move { post_json(app, advisor, &path, body).await }
        };
        let (status, v) = move_to(&priya).await;
        assert_eq!(status, 200, "{v}");
        let alerts = app.store.alerts_for_contact(id).await.unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].kind, "repeat_contacts");
        assert_eq!(alerts[0].child_id.to_string(), priya);
        assert!(alerts[0].reason.contains("contact number 3") && alerts[0].reason.contains("joined this record"));
        // Back and forth: the alert travels with its contact, and an unresolved one is not raised twice.
        assert_eq!(move_to(&priyaa).await.0, 200);
        assert_eq!(app.store.alerts_for_contact(id).await.unwrap()[0].child_id.to_string(), priyaa);
        assert_eq!(move_to(&priya).await.0, 200);
        assert_eq!(app.store.alerts_for_contact(id).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn record_checks_show_an_agency_only_its_own_systems_and_people_decide_links() {
    each_backend(|app| async move {
        app.source("health_sys", "health").await;
        app.source("police_sys", "police").await;
        // A population for the model to learn from, and the child in both systems.
        let mut owned = population();
        owned.push(("health_sys".into(), "HX".into(), "Amelia".into(), "Testchild".into(), "2011-04-05".into()));
        owned.push(("police_sys".into(), "PX".into(), "Amelia".into(), "Testchild".into(), "2011-04-05".into()));
        // Known to the police under another name: nothing about it matches the contact.
        owned.push(("police_sys".into(), "PZ".into(), "Roxanne".into(), "Quill".into(), "2009-12-30".into()));
        let rows: Vec<(&str, &str, &str, &str, &str)> =
            owned.iter().map(|(s, r, g, f, d)| (s.as_str(), r.as_str(), g.as_str(), f.as_str(), d.as_str())).collect();
        app.people(&rows).await;
        let hx = ("health_sys".to_owned(), "HX".to_owned());
        let px = ("police_sys".to_owned(), "PX".to_owned());

        // The front door sees both systems' records of the child.
        let advisor = app.token("advisor").await;
        let (contact, _) = app.contact_by("advisor", "Amelia").await;
        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{contact}/records")).await;
        let seen = shown(&check);
        assert!(seen.contains(&hx) && seen.contains(&px), "{check}");
        assert!(!seen.iter().any(|(_, r)| r == "H00"), "unrelated children are not shown: {check}");

        // A health practitioner sees the health record only, and is told more exists.
        let health = app.token("health").await;
        let (contact, _) = app.contact_by("health", "Amelia").await;
        let check = get_json(&app, &health, &format!("/api/v1/contacts/{contact}/records")).await;
        let seen = shown(&check);
        assert!(seen.contains(&hx), "{check}");
        assert!(!seen.iter().any(|(s, _)| s == "police_sys"), "police records never reach health: {check}");
        assert!(check["withheld"].as_u64().unwrap_or(0) >= 1, "{check}");
        let page =
            app.client().get(format!("{}/contacts/{contact}", app.base)).bearer_auth(&health).send().await.unwrap();
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Records held about the child") && !html.contains("police_sys system"),
            "page hides police records"
        );

        // Only the front-door team reviews links.
        let r = app.client().get(format!("{}/api/v1/links/queue", app.base)).bearer_auth(&health).send().await.unwrap();
        assert_eq!(r.status(), 403);

        // A person says HX and PX are two people; the record check follows at once; undo restores it.
        let pair =
            json!({"a": {"source": "police_sys", "record_id": "PX"}, "b": {"source": "health_sys", "record_id": "HX"}});
        let mut body = pair.clone();
        body["same"] = json!(false);
        body["reason"] = json!("   ");
        let (status, err) = post_json(&app, &advisor, "/api/v1/links/decision", body.clone()).await;
        assert_eq!(status, 422, "a decision needs a reason: {err}");
        body["reason"] = json!("different mothers' names on the birth records");
        let (status, _) = post_json(&app, &advisor, "/api/v1/links/decision", body).await;
        assert_eq!(status, 201);
        let link = app
            .store
            .person_link(
                &frontdoor_core::RecordRef { source: "health_sys".into(), record_id: "HX".into() },
                &frontdoor_core::RecordRef { source: "police_sys".into(), record_id: "PX".into() },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!((link.human.as_deref(), link.linked()), (Some("different"), false));
        let page = app.client().get(format!("{}/links", app.base)).bearer_auth(&advisor).send().await.unwrap();
        let html = page.text().await.unwrap();
        assert!(html.contains("different mothers") && html.contains("Undo"), "the decision is listed with undo");
        let mut undo = pair.clone();
        undo["reason"] = json!("decided on the wrong pair");
        let (status, _) = post_json(&app, &advisor, "/api/v1/links/undo", undo.clone()).await;
        assert_eq!(status, 201);
        let (status, _) = post_json(&app, &advisor, "/api/v1/links/undo", undo).await;
        assert_eq!(status, 409, "nothing left to undo");

        // A person says PZ is PX under another name: the check shows it as the child's, through
        // the cluster; withdrawn, it goes again.
        let (contact, _) = app.contact_by("advisor", "Amelia").await;
        let records = |check: &Value| -> Vec<String> {
            check["records"].as_array().unwrap().iter().map(|r| r["record_id"].as_str().unwrap().to_owned()).collect()
        };
        let path = format!("/api/v1/contacts/{contact}/records");
        assert!(!records(&get_json(&app, &advisor, &path).await).contains(&"PZ".to_owned()));
        let alias = json!({"a": {"source": "police_sys", "record_id": "PX"}, "b": {"source": "police_sys", "record_id": "PZ"},
            "same": true, "reason": "the same fingerprints"});
        let (status, _) = post_json(&app, &advisor, "/api/v1/links/decision", alias.clone()).await;
        assert_eq!(status, 201);
        let check = get_json(&app, &advisor, &path).await;
        assert!(records(&check).contains(&"PZ".to_owned()), "{check}");
        let undo = json!({"a": alias["a"], "b": alias["b"], "reason": "fingerprints were mixed up"});
        let (status, _) = post_json(&app, &advisor, "/api/v1/links/undo", undo).await;
        assert_eq!(status, 201);
        assert!(!records(&get_json(&app, &advisor, &path).await).contains(&"PZ".to_owned()));

        // A source system's upsert: bad fields named, nothing stored; then created, unchanged, updated.
        let feed = app.token("advisor").await;
        let put = |body: Value| {
            let c = app.client();
            let url = format!("{}/api/v1/people/health_sys/HY", app.base);
            let token = feed.clone();
            async move {
                let r = c.put(url).bearer_auth(token).json(&body).send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let (status, err) =
            put(json!({"given_name": "Amelia", "date_of_birth": "2011-02-31", "postcode": "nope"})).await;
        assert_eq!(status, 422, "{err}");
        let text = err.to_string();
        assert!(text.contains("date_of_birth") && text.contains("postcode"), "{text}");
        let y = frontdoor_core::RecordRef { source: "health_sys".into(), record_id: "HY".into() };
        assert!(app.store.person_record(&y).await.unwrap().is_none());
        let good = json!({"given_name": "Amelia", "family_name": "Testchild", "date_of_birth": "2011-04-05"});
        assert_eq!(put(good.clone()).await.0, 201);
        assert_eq!(put(good).await.1["outcome"], "unchanged");
        let (contact, _) = app.contact_by("advisor", "Amelia").await;
        let check = get_json(&app, &advisor, &format!("/api/v1/contacts/{contact}/records")).await;
        assert!(
            shown(&check).contains(&("health_sys".to_owned(), "HY".to_owned())),
            "the upsert is checked at once: {check}"
        );
        let (status, r) = put(json!({"given_name": "Amelia", "family_name": "Testchild", "postcode": "WK1 2AB"})).await;
        assert_eq!((status, r["outcome"].as_str()), (200, Some("updated")));
    })
    .await;
}

// ---- multi-agency enquiries (F6) -------------------------------------------------------------

async fn put_json(app: &TestApp, token: &str, path: &str, body: Value) -> u16 {
    app.client()
        .put(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Every GET route the user can reach, with the ids of this enquiry, child and contact filled in:
/// the body of each (status and text), so a test can check a secret appears on none of them.
async fn every_get(app: &TestApp, token: &str, ids: &[(&str, &str)]) -> Vec<(String, u16, String)> {
    let mut out = Vec::new();
    for spec in specs().iter().filter(|s| s.method == "GET" && !matches!(s.guard, Guard::Public)) {
        let mut paths = vec![spec.path.to_owned()];
        for (param, prefix, value) in [
            ("{id}", "/enquiries", "enquiry"),
            ("{id}", "/api/v1/enquiries", "enquiry"),
            ("{id}", "/children", "child"),
            ("{id}", "/api/v1/children", "child"),
            ("{id}", "/contacts", "contact"),
            ("{id}", "/api/v1/contacts", "contact"),
        ] {
            if spec.path.starts_with(&format!("{prefix}/{param}"))
                && let Some((_, v)) = ids.iter().find(|(k, _)| *k == value)
            {
                paths = vec![spec.path.replace(param, v)];
            }
        }
        if spec.path == "/enquiries/new"
            && let Some((_, v)) = ids.iter().find(|(k, _)| *k == "child")
        {
            paths = vec![format!("/enquiries/new?child={v}")];
        }
        for path in paths.into_iter().filter(|p| !p.contains('{')) {
            let r = send(app, "GET", &path, &Body::None, Some(token)).await;
            let status = r.status().as_u16();
            out.push((path, status, r.text().await.unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn an_enquiry_keeps_each_agencys_contributions_in_its_compartment() {
    each_backend(|app| async move {
        let (lead, police, health, advisor, submitter) = (
            app.token("lead").await,
            app.token("police").await,
            app.token("health").await,
            app.token("advisor").await,
            app.token("submitter").await,
        );
        let (contact, child) = app.contact_by("advisor", "Compartment").await;
        // Any signed-in user lists the agencies.
        let agencies = get_json(&app, &submitter, "/api/v1/agencies").await;
        let id_of = |name: &str| {
            agencies.as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()["id"].as_str().unwrap().to_owned()
        };
        let (police_id, health_id) = (id_of("Police"), id_of("Health Trust"));
        assert_eq!(police_id, app.agencies["police"].to_string());

        // Only a safeguarding lead (or CSE manager) opens one; every bad field is named.
        let body = json!({"child_id": child, "agencies": [police_id, health_id], "question": "Older males, cars?"});
        assert_eq!(post_json(&app, &advisor, "/api/v1/enquiries", body.clone()).await.0, 403);
        let (status, bad) = post_json(
            &app,
            &lead,
            "/api/v1/enquiries",
            json!({"child_id": "nope", "agencies": ["x"], "question": " ", "due": "2020-01-01"}),
        )
        .await;
        assert_eq!(status, 422);
        let fields: Vec<&str> =
            bad["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["question", "child_id", "agencies[0]", "due"], "{bad}");
        let named = json!({"child_id": child, "agencies": [police_id], "question": "q", "managers": [app.actor("police").user_id.to_string()]});
        let (status, bad) = post_json(&app, &lead, "/api/v1/enquiries", named).await;
        assert_eq!(status, 422, "a partner cannot be named a manager: {bad}");
        assert_eq!(bad["fields"][0]["field"], "managers[0]");
        assert!(get_json(&app, &lead, "/api/v1/enquiries").await.as_array().unwrap().is_empty(), "nothing written");
        let (status, created) = post_json(&app, &lead, "/api/v1/enquiries", body).await;
        assert_eq!(status, 201, "{created}");
        let eid = created["id"].as_str().unwrap().to_owned();

        // Each asked agency sees the request in its list, and contributes.
        for (token, text) in [(&police, "POLICE-SECRET intelligence"), (&health, "HEALTH-SECRET clinic visit")] {
            let list = get_json(&app, token, "/api/v1/enquiries").await;
            assert_eq!(list[0]["id"], eid.as_str());
            let (status, _) =
                post_json(&app, token, &format!("/api/v1/enquiries/{eid}/contributions"), json!({"text": text})).await;
            assert_eq!(status, 201);
        }
        assert_eq!(
            post_json(&app, &submitter, &format!("/api/v1/enquiries/{eid}/contributions"), json!({"text": "x"}))
                .await
                .0,
            404
        );

        // Police sees its own, health its own; the lead both.
        let seen = |v: &Value| -> Vec<String> {
            v["contributions"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_owned()).collect()
        };
        let as_police = get_json(&app, &police, &format!("/api/v1/enquiries/{eid}")).await;
        assert_eq!(seen(&as_police), ["POLICE-SECRET intelligence"]);
        assert_eq!(as_police["contributions"][0]["agency"], police_id.as_str());
        assert_eq!(as_police["more_held_elsewhere"], true);
        assert_eq!(as_police["scope"], "own_agency");
        let as_lead = get_json(&app, &lead, &format!("/api/v1/enquiries/{eid}")).await;
        assert_eq!(seen(&as_lead).len(), 2);
        assert_eq!(as_lead["scope"], "all");
        for outsider in [&advisor, &submitter] {
            let r = send(&app, "GET", &format!("/api/v1/enquiries/{eid}"), &Body::None, Some(outsider)).await;
            assert_eq!(r.status(), 404);
        }

        // Health can never read the police contribution by any route it can reach.
        let ids = [("enquiry", eid.as_str()), ("child", child.as_str()), ("contact", contact.as_str())];
        let pages = every_get(&app, &health, &ids).await;
        assert!(pages.iter().any(|(p, s, b)| p.starts_with("/enquiries/") && *s == 200 && b.contains("HEALTH-SECRET")));
        for (path, _, body) in &pages {
            assert!(!body.contains("POLICE-SECRET"), "health read police's contribution at {path}");
        }
        // Nor the front door's advisor, who is not the enquiry's lead; the lead sees it in the
        // child's chronology, merged with the contacts.
        for (path, _, body) in &every_get(&app, &advisor, &ids).await {
            assert!(!body.contains("POLICE-SECRET") && !body.contains("HEALTH-SECRET"), "advisor at {path}");
            assert!(!body.contains("Older males, cars?"), "the enquiry's question reached the advisor at {path}");
        }
        let chron = get_json(&app, &lead, &format!("/api/v1/children/{child}/chronology")).await;
        let summaries: Vec<&str> =
            chron["entries"].as_array().unwrap().iter().map(|e| e["summary"].as_str().unwrap()).collect();
        assert!(
            summaries.iter().any(|s| s.contains("POLICE-SECRET"))
                && summaries.iter().any(|s| s.contains("HEALTH-SECRET"))
        );
        assert!(summaries.iter().any(|s| s.starts_with("Contact FD-")), "{summaries:?}");
        let chron = get_json(&app, &police, &format!("/api/v1/children/{child}/chronology")).await;
        assert!(chron.to_string().contains("POLICE-SECRET") && !chron.to_string().contains("HEALTH-SECRET"));
        assert_eq!(chron["more_held_elsewhere"], true);

        // Only the contributing agency corrects its contribution.
        let pcid = as_police["contributions"][0]["id"].as_str().unwrap().to_owned();
        let amend = format!("/api/v1/enquiries/{eid}/contributions/{pcid}");
        assert_eq!(put_json(&app, &health, &amend, json!({"text": "overwritten"})).await, 404);
        assert_eq!(put_json(&app, &lead, &amend, json!({"text": "overwritten"})).await, 404);
        assert_eq!(put_json(&app, &police, &amend, json!({"text": " "})).await, 422);
        assert_eq!(
            put_json(&app, &police, &amend, json!({"text": "POLICE-SECRET corrected", "confidence": "confirmed"}))
                .await,
            204
        );
        let as_police = get_json(&app, &police, &format!("/api/v1/enquiries/{eid}")).await;
        assert_eq!(seen(&as_police), ["POLICE-SECRET corrected"]);
        assert_eq!(as_police["contributions"][0]["confidence"], "confirmed");

        // Releasing it to health needs a basis, a lawful basis and a reason; a bad release changes nothing.
        let release = format!("/api/v1/enquiries/{eid}/contributions/{pcid}/releases");
        let (status, bad) = post_json(
            &app,
            &lead,
            &release,
            json!({"to_agency": health_id, "basis": "safeguarding_override", "lawful_basis": "", "reason": ""}),
        )
        .await;
        assert_eq!(status, 422);
        let fields: Vec<&str> =
            bad["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["lawful_basis", "reason"]);
        assert_eq!(
            seen(&get_json(&app, &health, &format!("/api/v1/enquiries/{eid}")).await),
            ["HEALTH-SECRET clinic visit"]
        );
        let good = json!({"to_agency": health_id, "basis": "safeguarding_override",
            "lawful_basis": "UK GDPR 6(1)(e), 9(2)(g); DPA 2018 Sch.1 para 18",
            "reason": "The clinic must know who collects her to plan its safety advice"});
        assert_eq!(post_json(&app, &police, &release, good.clone()).await.0, 404, "only the lead releases");
        assert_eq!(post_json(&app, &lead, &release, good).await.0, 201);
        let as_health = get_json(&app, &health, &format!("/api/v1/enquiries/{eid}")).await;
        assert_eq!(seen(&as_health).len(), 2);
        let released =
            as_health["contributions"].as_array().unwrap().iter().find(|c| c["agency"] == police_id.as_str()).unwrap();
        assert_eq!(released["releases"][0]["basis"], "safeguarding_override");
        assert!(released["releases"][0]["lawful_basis"].as_str().unwrap().contains("9(2)(g)"));
        // The release is an event in the log, with who released it and why.
        let log = app.store.chronology(child.parse().unwrap()).await.unwrap();
        assert!(
            log.iter().any(
                |e| e.event.kind() == "enquiry_information_released" && e.actor_username.as_deref() == Some("lead")
            )
        );

        // The outcome: the lead only, once; then the enquiry takes no more contributions.
        let outcome = format!("/api/v1/enquiries/{eid}/outcome");
        assert_eq!(post_json(&app, &police, &outcome, json!({"outcome": "cse_pathway", "reasons": "x"})).await.0, 404);
        assert_eq!(post_json(&app, &lead, &outcome, json!({"outcome": "maybe", "reasons": "x"})).await.0, 422);
        assert_eq!(
            post_json(&app, &lead, &outcome, json!({"outcome": "cse_pathway", "reasons": "Risk of CSE"})).await.0,
            201
        );
        assert_eq!(post_json(&app, &lead, &outcome, json!({"outcome": "early_help", "reasons": "again"})).await.0, 409);
        let (status, _) =
            post_json(&app, &police, &format!("/api/v1/enquiries/{eid}/contributions"), json!({"text": "late"})).await;
        assert_eq!(status, 409);
        let done = get_json(&app, &lead, &format!("/api/v1/enquiries/{eid}")).await;
        assert_eq!(done["status"], "cse_pathway");
        assert!(app.store.verify_chains().await.unwrap().intact());
    })
    .await;
}

#[tokio::test]
async fn the_enquiry_pages_open_contribute_and_keep_answers_on_error() {
    each_backend(|app| async move {
        let (_, child) = app.contact_by("advisor", "Pages").await;
        let c = app.client();
        assert_eq!(browser_login(&app, &c, "lead", PASSWORD).await.status(), 303);
        let page = c.get(format!("{}/children/{child}", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("/enquiries/new?child={child}")), "the child page offers to open one");
        let form =
            c.get(format!("{}/enquiries/new?child={child}", app.base)).send().await.unwrap().text().await.unwrap();
        let csrf = login_csrf(&form);
        // No agency ticked: the form comes back with the error and the question kept.
        let r = c
            .post(format!("{}/enquiries", app.base))
            .form(&[("csrf", csrf.as_str()), ("child_id", child.as_str()), ("question", "Kept question")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("There is a problem")
                && body.contains("ask at least one agency")
                && body.contains("Kept question")
        );
        let police = app.agencies["police"].to_string();
        let health = app.agencies["health"].to_string();
        let r = c
            .post(format!("{}/enquiries", app.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("child_id", child.as_str()),
                ("question", "Seen with older males?"),
                ("agencies", police.as_str()),
                ("agencies", health.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let at = r.headers()["location"].to_str().unwrap().to_owned();
        let eid = at.trim_start_matches("/enquiries/").to_owned();
        let e = app.store.enquiry(eid.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(e.agencies.len(), 2);

        // The police practitioner finds it in the list and answers through the page.
        let p = app.client();
        assert_eq!(browser_login(&app, &p, "police", PASSWORD).await.status(), 303);
        let home = p.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("1 open multi-agency enquiries for you or your agency"), "the home page says what waits");
        let list = p.get(format!("{}/enquiries", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(list.contains(&at) && list.contains("Pages Testchild"));
        let page = p.get(format!("{}{at}", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Add what your agency knows") && !page.contains("Conclude the enquiry"));
        let csrf = login_csrf(&page);
        let r = p
            .post(format!("{}{at}/contributions", app.base))
            .form(&[("csrf", csrf.as_str()), ("text", "Known to us"), ("known_on", "31/12/2020")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("YYYY-MM-DD") && body.contains("Known to us"), "the error and the answer kept");
        assert!(app.store.enquiry_contributions(e.id).await.unwrap().is_empty(), "nothing written");
        let r = p
            .post(format!("{}{at}/contributions", app.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("text", "Known to us"),
                ("known_on", "2020-12-31"),
                ("confidence", "confirmed"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let page = p.get(format!("{}{at}", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Known to us") && page.contains("Correct this contribution"));
        // A correction with a bad date comes back with everything typed in it.
        let cid = app.store.enquiry_contributions(e.id).await.unwrap()[0].id;
        let r = p
            .post(format!("{}{at}/contributions/{cid}", app.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("text", "Corrected text"),
                ("known_on", "yesterday"),
                ("source", "Custody record 123"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("Corrected text") && body.contains("Custody record 123") && body.contains("yesterday"));

        // The lead concludes it on the page.
        let page = c.get(format!("{}{at}", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Known to us") && page.contains("Release to another agency"));
        let csrf = login_csrf(&page);
        let r = c
            .post(format!("{}{at}/outcome", app.base))
            .form(&[("csrf", csrf.as_str()), ("outcome", "early_help"), ("reasons", "Family support")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let page = c.get(format!("{}{at}", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Early help") && !page.contains("Record the outcome"));
        let _ = eid;
    })
    .await;
}

// ---- the CSE pathway (F7, F8) --------------------------------------------------------------------

async fn step_json(app: &TestApp, token: &str, case: &str, body: Value) -> (u16, Value) {
    post_json(app, token, &format!("/api/v1/cse/cases/{case}/steps"), body).await
}

/// The issue's end to end: contact → decision → enquiry with two agencies → pathway → panel →
/// strategy meeting → review → exit, through the HTTP API, with illegal steps refused.
#[tokio::test]
async fn a_contact_goes_through_an_enquiry_onto_the_pathway_and_out() {
    each_backend(|app| async move {
        let (advisor, lead, police, health, manager, worker) = (
            app.token("advisor").await,
            app.token("lead").await,
            app.token("police").await,
            app.token("health").await,
            app.token("csemanager").await,
            app.token("cseworker").await,
        );
        let (status, created) = post_json(&app, &advisor, "/api/v1/contacts", contact_body("Pathway")).await;
        assert_eq!(status, 201);
        let contact = created["id"].as_str().unwrap();
        let child = created["child_id"].as_str().unwrap().to_owned();
        let (status, _) = post_json(
            &app,
            &lead,
            &format!("/api/v1/contacts/{contact}/decision"),
            json!({"outcome": "multi_agency_enquiry", "reasons": "Older males; ask police and health"}),
        )
        .await;
        assert_eq!(status, 201);
        let agencies = [app.agencies["police"].to_string(), app.agencies["health"].to_string()];
        let (_, e) = post_json(
            &app,
            &lead,
            "/api/v1/enquiries",
            json!({"child_id": child, "agencies": agencies, "question": "What do you know?"}),
        )
        .await;
        let eid = e["id"].as_str().unwrap();
        for t in [&police, &health] {
            let r = post_json(&app, t, &format!("/api/v1/enquiries/{eid}/contributions"), json!({"text": "Known"})).await;
            assert_eq!(r.0, 201);
        }
        let (status, _) = post_json(
            &app,
            &lead,
            &format!("/api/v1/enquiries/{eid}/outcome"),
            json!({"outcome": "cse_pathway", "reasons": "Indicators of CSE from police and health"}),
        )
        .await;
        assert_eq!(status, 201);

        // The referral is on the board, unallocated, with the child flagged.
        let board = get_json(&app, &manager, &format!("/api/v1/cse/cases?child_id={child}")).await;
        assert_eq!(board.as_array().unwrap().len(), 1, "{board}");
        assert_eq!(board[0]["stage"], "referred");
        assert_eq!(board[0]["next_deadline"]["what"], "allocation");
        let case = board[0]["id"].as_str().unwrap().to_owned();
        let flags = get_json(&app, &lead, &format!("/api/v1/contacts/{contact}")).await;
        assert!(flags.to_string().contains("open_cse_case"), "{flags}");
        // The flags are children's services' record of the child: the police, who answered the
        // enquiry and so read their own part of the chronology, see none of them.
        let theirs = get_page(&app, &police, &format!("/children/{child}")).await;
        assert!(theirs.contains("Known") && !theirs.contains("Open CSE case"), "{theirs}");
        assert!(!theirs.contains("GP practice, school or college"), "nor where the child is registered");
        assert!(get_page(&app, &lead, &format!("/children/{child}")).await.contains("Open CSE case"));
        for outsider in [&advisor, &police] {
            let r = send(&app, "GET", &format!("/api/v1/cse/cases/{case}"), &Body::None, Some(outsider)).await;
            assert_eq!(r.status(), 404, "the pathway is the CSE team's");
        }

        let worker_id = app.actor("cseworker").user_id.to_string();
        // A worker cannot allocate; a manager can. A step the stage does not allow is a conflict.
        assert_eq!(step_json(&app, &worker, &case, json!({"step": "allocate", "worker": worker_id})).await.0, 404);
        assert_eq!(step_json(&app, &manager, &case, json!({"step": "panel", "level": "high", "attendance": [], "notes": ""})).await.0, 409);
        let (status, taken) = step_json(&app, &manager, &case, json!({"step": "allocate", "worker": worker_id})).await;
        assert_eq!(status, 201, "{taken}");
        assert_eq!(taken["stage"], "allocated");
        assert_eq!(taken["deadlines"][0]["what"], "assessment");

        let police_id = app.agencies["police"].to_string();
        let health_id = app.agencies["health"].to_string();
        let attendance = json!([{"agency": police_id, "attended": true}, {"agency": health_id, "attended": false}]);
        let (status, bad) = step_json(
            &app,
            &worker,
            &case,
            json!({"step": "assess", "indicators": [{"group": "missing", "score": 3}], "young_person_views": "",
                   "parents_views": "", "needs": ["camhs"], "disclosure": false, "learning_disability": false,
                   "proposed_level": "medium_high", "summary": " "}),
        )
        .await;
        assert_eq!(status, 422, "an assessment without a summary: {bad}");
        let steps = [
            json!({"step": "assess", "indicators": [{"group": "missing", "score": 3}, {"group": "older_associate", "score": 2}],
                   "young_person_views": "Says he is her boyfriend", "parents_views": "Frightened for her",
                   "needs": ["camhs", "sexual_health"], "disclosure": false, "learning_disability": false,
                   "proposed_level": "medium_high", "summary": "Repeated missing, older male with a car"}),
            json!({"step": "panel", "level": "medium_high", "attendance": attendance, "notes": "Police disruption agreed"}),
            json!({"step": "strategy_meeting", "plan": {"actions": [{"what": "Abduction notice", "owner": "Police", "due": "2030-01-01"}],
                   "young_person_involved": true, "parents_involved": true}, "attendance": attendance}),
            json!({"step": "review", "level": "medium", "notes": "No missing episodes this month"}),
            json!({"step": "resolve", "exit_strategy": "Youth worker for three months; school nurse"}),
        ];
        let mut stages = Vec::new();
        for s in steps {
            let (status, taken) = step_json(&app, &worker, &case, s).await;
            assert_eq!(status, 201, "{taken}");
            stages.push(taken["stage"].as_str().unwrap().to_owned());
        }
        assert_eq!(stages, ["assessed", "panel", "plan", "plan", "closed"]);
        // Closed is final.
        let (status, refused) = step_json(&app, &worker, &case, json!({"step": "escalate", "reason": "late"})).await;
        assert_eq!(status, 409, "{refused}");
        let view = get_json(&app, &manager, &format!("/api/v1/cse/cases/{case}")).await;
        assert_eq!(view["closure"], "resolved");
        assert_eq!(view["enquiry_id"], eid);
        assert_eq!(view["history"].as_array().unwrap().len(), 7, "{view}");
        assert!(view["possible_steps"].as_array().unwrap().is_empty());
        let chron = get_json(&app, &lead, &format!("/api/v1/children/{child}/chronology")).await.to_string();
        assert!(chron.contains("Referred to the CSE pathway") && chron.contains("exit strategy"), "{chron}");
        // The front door's advisor reads the child's chronology, but not the CSE case's steps or
        // the enquiry (not theirs by the policy), and is told more exists.
        let theirs = get_json(&app, &advisor, &format!("/api/v1/children/{child}/chronology")).await;
        let text = theirs.to_string();
        assert!(!text.contains("Repeated missing, older male") && !text.contains("What do you know?"), "{text}");
        assert!(text.contains("Contact FD-") && theirs["more_held_elsewhere"] == true);
        let flags = get_json(&app, &lead, &format!("/api/v1/contacts/{contact}")).await;
        assert!(!flags["child_flags"].to_string().contains("open_cse_case"), "the flag clears on closure: {flags}");
        // The chronology filters by type and by agency, on the API and the page.
        let only = |v: &Value| -> Vec<String> {
            v["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
        };
        let cse = get_json(&app, &lead, &format!("/api/v1/children/{child}/chronology?type=cse")).await;
        assert_eq!(only(&cse).len(), 7, "{cse}");
        assert!(only(&cse).iter().all(|k| k.starts_with("cse_")));
        let by_police = get_json(&app, &lead, &format!("/api/v1/children/{child}/chronology?agency={police_id}")).await;
        assert_eq!(only(&by_police), ["enquiry_contributed"]);
        let page = get_page(&app, &lead, &format!("/children/{child}?type=enquiry")).await;
        assert!(page.contains("Enquiry contribution") && !page.contains("Referred to the CSE pathway"));
    })
    .await;
}

#[tokio::test]
async fn a_missed_pathway_deadline_alerts_once_and_allocation_respects_the_caseload() {
    each_backend(|app| async move {
        // A referral made eight days ago, never allocated.
        let (_, child) = app.contact_by("advisor", "Overdue").await;
        let then = Utc::now() - chrono::Duration::days(8);
        let m = frontdoor_store::Meta::system("case_work", then);
        let (case_id, events) = frontdoor_web::cse::referral_events(child.parse().unwrap(), None, None, "late", &m);
        app.store.append(events, vec![], vec![]).await.unwrap();
        let cfg = Config { notify_managers_email: "managers@example.org".into(), ..app.cfg.clone() };
        let screening = Screening::load(&cfg).unwrap();
        let first = frontdoor_web::intake::sweep(&app.store, &screening, Utc::now()).await.unwrap();
        // The server's own minute sweep may get there first: either way, one alert.
        assert!(first.pathway_overdue <= 1);
        let again = frontdoor_web::intake::sweep(&app.store, &screening, Utc::now()).await.unwrap();
        assert_eq!(again.pathway_overdue, 0, "once");
        let alerts = app.store.alerts_for_child(child.parse().unwrap()).await.unwrap();
        let overdue: Vec<_> = alerts.iter().filter(|a| a.kind == "pathway_overdue").collect();
        assert_eq!(overdue.len(), 1, "{alerts:?}");
        assert!(overdue[0].reason.contains("Allocation"));
        if first.pathway_overdue == 1 {
            // This sweep (configured with the managers' mailbox) recorded it: the e-mail waits.
            let outbox = app.store.due_outbox(Utc::now() + chrono::Duration::hours(1), 50).await.unwrap();
            assert!(outbox.iter().any(|o| o.recipient == "managers@example.org" && o.subject.contains("overdue")));
        }

        // Caseloads: a maximum of one weighted case, unrated cases weigh a half.
        let weights = frontdoor_core::pathway::Caseload { max: 1.0, ..Default::default() };
        let worker = app.actor("cseworker").user_id;
        let manager = app.actor("csemanager");
        let allocate = |reason: Option<&str>| frontdoor_core::pathway::Step::Allocate {
            worker,
            override_reason: reason.map(str::to_owned),
        };
        let record = app.store.cse_case(case_id).await.unwrap().unwrap();
        frontdoor_web::cse::take_step(&app.store, manager, &record, allocate(None), &weights, Utc::now())
            .await
            .unwrap();
        let mut more = Vec::new();
        for name in ["Second", "Third"] {
            let (_, child) = app.contact_by("advisor", name).await;
            let m = frontdoor_store::Meta::system("case_work", Utc::now());
            let (id, events) = frontdoor_web::cse::referral_events(child.parse().unwrap(), None, None, "x", &m);
            app.store.append(events, vec![], vec![]).await.unwrap();
            more.push(app.store.cse_case(id).await.unwrap().unwrap());
        }
        frontdoor_web::cse::take_step(&app.store, manager, &more[0], allocate(None), &weights, Utc::now())
            .await
            .unwrap();
        let refused =
            frontdoor_web::cse::take_step(&app.store, manager, &more[1], allocate(None), &weights, Utc::now()).await;
        let Err(frontdoor_web::service::ServiceError::Invalid(fields)) = refused else { panic!("{refused:?}") };
        assert_eq!(fields[0].field, "override_reason");
        assert!(fields[0].message.contains("1.50"), "{}", fields[0].message);
        assert_eq!(app.store.cse_case(more[1].id).await.unwrap().unwrap().case.worker, None, "nothing changed");
        frontdoor_web::cse::take_step(
            &app.store,
            manager,
            &more[1],
            allocate(Some("only worker with Urdu")),
            &weights,
            Utc::now(),
        )
        .await
        .unwrap();
        let breaches = app.store.caseload_overrides(Utc::now() - chrono::Duration::days(1)).await.unwrap();
        assert_eq!(breaches.len(), 1);
        assert_eq!(breaches[0].reason, "only worker with Urdu");
        assert_eq!(breaches[0].decided_by.as_deref(), Some("csemanager user"));
    })
    .await;
}

#[tokio::test]
async fn the_pathway_pages_show_the_board_and_take_steps_keeping_answers_on_error() {
    each_backend(|app| async move {
        let (case, _) = app.cse_case("Board").await;
        let c = app.client();
        assert_eq!(browser_login(&app, &c, "cseworker", PASSWORD).await.status(), 303);
        let board = c.get(format!("{}/cse", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(board.contains(&format!("/cse/cases/{case}")) && board.contains("Board Testchild"));
        let page = c.get(format!("{}/cse/cases/{case}", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Record the initial risk assessment") && !page.contains("Allocate to a CSE worker"));
        let csrf = login_csrf(&page);
        // No level chosen, no summary: both named, the views typed kept.
        let r = c
            .post(format!("{}/cse/cases/{case}/steps", app.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("step", "assess"),
                ("young_person_views", "Kept words"),
                ("indicator_missing", "2"),
                ("disclosure", "1"),
                ("needs", "isva"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("proposed_level") && body.contains("summary") && body.contains("Kept words"));
        // Ticked boxes come back ticked: a lost "disclosed" would lower the floor on the risk.
        assert!(body.contains(r#"name="disclosure" value="1" checked"#), "the disclosure box is kept");
        assert!(body.contains(r#"name="needs" value="isva" checked"#));
        assert!(body.contains(r#"<option value="2" selected>2</option>"#));
        let r = c
            .post(format!("{}/cse/cases/{case}/steps", app.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("step", "assess"),
                ("indicator_missing", "2"),
                ("needs", "camhs"),
                ("proposed_level", "low"),
                ("summary", "Two missing episodes"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let page = c.get(format!("{}/cse/cases/{case}", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Assessed, awaiting the risk panel") && page.contains("Record the risk panel"));
        // A stale form for a step the stage no longer allows says so on the case page.
        let r = c
            .post(format!("{}/cse/cases/{case}/steps", app.base))
            .form(&[("csrf", csrf.as_str()), ("step", "review"), ("level", "low"), ("notes", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        assert!(r.text().await.unwrap().contains("reviews follow the strategy meeting"));
        // The manager sees the caseloads page.
        let m = app.client();
        assert_eq!(browser_login(&app, &m, "csemanager", PASSWORD).await.status(), 303);
        let loads = m.get(format!("{}/cse/caseloads", app.base)).send().await.unwrap().text().await.unwrap();
        // The set-up's override was within the maximum, so it is not a breach.
        assert!(loads.contains("cseworker user") && !loads.contains("test set-up"));
    })
    .await;
}

// ---- actions and follow-up (F9) ------------------------------------------------------------------

#[tokio::test]
async fn an_action_is_seen_and_completed_only_by_its_agency_and_an_overdue_one_alerts_once() {
    each_backend(|app| async move {
        let (lead, police, health) = (app.token("lead").await, app.token("police").await, app.token("health").await);
        let (_, child) = app.contact_by("advisor", "Followed").await;
        let police_id = app.agencies["police"].to_string();
        let tomorrow = (Utc::now().date_naive() + chrono::Days::new(1)).to_string();
        let (status, bad) = post_json(
            &app,
            &lead,
            "/api/v1/actions",
            json!({"child_id": child, "what": " ", "agency": police_id, "assignee": app.actor("health").user_id.to_string(), "due": "2020-01-01"}),
        )
        .await;
        assert_eq!(status, 422);
        let fields: Vec<&str> = bad["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["what", "assignee", "due"], "{bad}");
        assert_eq!(post_json(&app, &police, "/api/v1/actions", json!({"child_id": child, "what": "x", "agency": police_id, "due": tomorrow})).await.0, 403);
        let (status, created) = post_json(
            &app,
            &lead,
            "/api/v1/actions",
            json!({"child_id": child, "what": "Disruption visit to the address", "agency": police_id,
                   "assignee": app.actor("police").user_id.to_string(), "due": tomorrow}),
        )
        .await;
        assert_eq!(status, 201);
        let id = created["id"].as_str().unwrap();
        let theirs = get_json(&app, &police, "/api/v1/actions").await;
        assert_eq!(theirs.as_array().unwrap().len(), 1);
        assert_eq!(theirs[0]["can_complete"], true);
        assert!(get_json(&app, &health, "/api/v1/actions").await.as_array().unwrap().is_empty());
        let page = get_page(&app, &health, "/actions").await;
        assert!(!page.contains("Disruption visit"));
        assert_eq!(post_json(&app, &health, &format!("/api/v1/actions/{id}/complete"), json!({"outcome": "x"})).await.0, 404);
        assert_eq!(post_json(&app, &police, &format!("/api/v1/actions/{id}/complete"), json!({"outcome": " "})).await.0, 422);
        let r = app.client().post(format!("{}/api/v1/actions/{id}/complete", app.base)).bearer_auth(&police)
            .json(&json!({"outcome": "Visited; nobody there; warning notice served"})).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(post_json(&app, &police, &format!("/api/v1/actions/{id}/complete"), json!({"outcome": "again"})).await.0, 409);
        let all = get_json(&app, &lead, "/api/v1/actions").await;
        assert_eq!(all[0]["status"], "done");
        assert_eq!(all[0]["completed_by"], "police user");

        // An action set a week ago, due two days ago (the form refuses past dates, so the
        // service is told it is a week ago).
        let set = Utc::now() - chrono::Duration::days(7);
        let draft = frontdoor_web::actions::ActionDraft {
            child_id: child.clone(),
            what: "Share the school's attendance".into(),
            agency: app.agencies["health"].to_string(),
            due: (set.date_naive() + chrono::Days::new(5)).to_string(),
            ..Default::default()
        };
        frontdoor_web::actions::assign(&app.store, app.actor("lead"), &draft, set).await.unwrap();
        let home = |who: &'static str| {
            let app = &app;
            async move { get_page(app, &app.token(who).await, "/").await }
        };
        assert!(!home("healthlead").await.contains("please follow them up"), "not overdue yet");
        let screening = Screening::load(&app.cfg).unwrap();
        let first = frontdoor_web::intake::sweep(&app.store, &screening, Utc::now()).await.unwrap();
        assert!(first.actions_overdue <= 1, "the server's own sweep may get there first");
        assert_eq!(frontdoor_web::intake::sweep(&app.store, &screening, Utc::now()).await.unwrap().actions_overdue, 0);
        let alerts = app.store.alerts_for_child(child.parse().unwrap()).await.unwrap();
        let overdue: Vec<_> = alerts.iter().filter(|a| a.kind == "action_overdue").collect();
        assert_eq!(overdue.len(), 1, "once: {alerts:?}");
        assert!(overdue[0].reason.contains("Health Trust"));
        // Addressed to the lead who set it, and told to the holding agency's lead only.
        assert_eq!(overdue[0].for_user, Some(app.actor("lead").user_id));
        assert!(home("lead").await.contains("1 alerts addressed to you"));
        assert!(get_page(&app, &lead, "/alerts").await.contains("for you"));
        assert!(!home("advisor").await.contains("addressed to you"));
        assert!(home("healthlead").await.contains("1 actions your agency holds are overdue; please follow them up"));
        assert!(!home("health").await.contains("please follow them up"), "a practitioner, not the lead");
        assert!(!home("police").await.contains("please follow them up"), "not police's action");
        let held = get_json(&app, &health, "/api/v1/actions").await;
        assert_eq!(held[0]["overdue"], true);
    })
    .await;
}

#[tokio::test]
async fn a_child_has_one_open_cse_case_however_often_referred() {
    each_backend(|app| async move {
        let lead = app.token("lead").await;
        let manager = app.token("csemanager").await;
        let mut child = String::new();
        for _ in 0..2 {
            let (contact, c) = app.contact_by("advisor", "Twice").await;
            child = c;
            let (status, _) = post_json(
                &app,
                &lead,
                &format!("/api/v1/contacts/{contact}/decision"),
                json!({"outcome": "cse_pathway", "reasons": "CSE indicators"}),
            )
            .await;
            assert_eq!(status, 201);
        }
        let cases = get_json(&app, &manager, &format!("/api/v1/cse/cases?child_id={child}")).await;
        assert_eq!(cases.as_array().unwrap().len(), 1, "{cases}");
        // The store holds the rule too, whatever a caller does.
        let m = frontdoor_store::Meta::system("case_work", Utc::now());
        let (_, events) = frontdoor_web::cse::referral_events(child.parse().unwrap(), None, None, "again", &m);
        assert!(app.store.append(events, vec![], vec![]).await.is_err());
        // Once closed, a new referral opens a new case.
        let case = cases[0]["id"].as_str().unwrap();
        let (status, _) =
            step_json(&app, &manager, case, json!({"step": "escalate", "reason": "s47 strategy discussion"})).await;
        assert_eq!(status, 201);
        let (_, events) = frontdoor_web::cse::referral_events(child.parse().unwrap(), None, None, "new concern", &m);
        app.store.append(events, vec![], vec![]).await.unwrap();
        assert_eq!(
            get_json(&app, &manager, &format!("/api/v1/cse/cases?child_id={child}")).await.as_array().unwrap().len(),
            2
        );
    })
    .await;
}

#[tokio::test]
async fn an_assessment_routes_needs_to_support_and_a_declined_camhs_referral_comes_back() {
    each_backend(|app| async move {
        let (case, child) = app.cse_case("Supported").await;
        let worker = app.token("cseworker").await;
        let (status, _) = step_json(
            &app,
            &worker,
            &case,
            json!({"step": "assess", "indicators": [], "young_person_views": "", "parents_views": "", "needs": ["camhs", "isva"],
                   "disclosure": false, "learning_disability": false, "proposed_level": "low", "summary": "Low mood; one missing episode"}),
        )
        .await;
        assert_eq!(status, 201);
        let view = get_json(&app, &worker, &format!("/api/v1/cse/cases/{case}")).await;
        let support = view["support"].as_array().unwrap();
        assert_eq!(support.len(), 2, "{view}");
        let isva = support.iter().find(|s| s["need"] == "isva").unwrap();
        assert_eq!(isva["below_threshold"], true, "ISVA takes referrals from Medium");
        let why = isva["threshold"].as_str().unwrap();
        assert!(why.starts_with("takes referrals from Medium risk"), "{why}");
        // Below the threshold a referral is refused, saying why, and nothing is recorded.
        let path = format!("/api/v1/cse/cases/{case}/support");
        let (status, bad) = post_json(&app, &worker, &path, json!({"service": "isva", "outcome": "made"})).await;
        assert_eq!(status, 422);
        assert_eq!(bad["fields"][0]["field"], "service");
        assert!(bad["fields"][0]["message"].as_str().unwrap().contains(why), "{bad}");
        let view = get_json(&app, &worker, &format!("/api/v1/cse/cases/{case}")).await;
        assert!(view["support"].as_array().unwrap().iter().all(|s| s["outcome"].is_null()), "{view}");
        let page = get_page(&app, &worker, &format!("/cse/cases/{case}")).await;
        assert!(page.contains("(not yet: takes referrals from Medium risk"));
        let (status, bad) = post_json(&app, &worker, &path, json!({"service": "astrology", "outcome": "maybe"})).await;
        assert_eq!(status, 422);
        assert_eq!(bad["fields"].as_array().unwrap().len(), 2);
        let (status, done) = post_json(&app, &worker, &path, json!({"service": "camhs", "outcome": "declined", "note": "Does not want to talk to anyone yet"})).await;
        assert_eq!(status, 201);
        let due = (Utc::now().date_naive().checked_add_months(chrono::Months::new(3))).unwrap();
        assert_eq!(done["recontact_on"], due.to_string());
        let screening = Screening::load(&app.cfg).unwrap();
        assert_eq!(frontdoor_web::intake::sweep(&app.store, &screening, Utc::now()).await.unwrap().support_recontacts, 0);
        let later = Utc::now() + chrono::Duration::days(93);
        assert_eq!(frontdoor_web::intake::sweep(&app.store, &screening, later).await.unwrap().support_recontacts, 1);
        assert_eq!(frontdoor_web::intake::sweep(&app.store, &screening, later).await.unwrap().support_recontacts, 0);
        let alerts = app.store.alerts_for_child(child.parse().unwrap()).await.unwrap();
        assert!(alerts.iter().any(|a| a.kind == "support_recontact" && a.reason.contains("camhs")), "{alerts:?}");
        // Addressed to the case's worker, as are the stages that went overdue meanwhile.
        let worker_id = Some(app.actor("cseworker").user_id);
        let theirs: Vec<_> =
            alerts.iter().filter(|a| a.kind == "support_recontact" || a.kind == "pathway_overdue").collect();
        assert!(theirs.len() >= 2 && theirs.iter().all(|a| a.for_user == worker_id), "{theirs:?}");
        let page = get_page(&app, &worker, &format!("/cse/cases/{case}")).await;
        assert!(page.contains("Wrenhollow CAMHS") && page.contains(&format!("offer again on {due}")));
    })
    .await;
}

#[tokio::test]
async fn a_follow_up_audit_sample_is_reproducible_from_its_seed_and_records_findings() {
    each_backend(|app| async move {
        let mut cases = Vec::new();
        for i in 0..12 {
            cases.push(app.cse_case(&format!("Sampled{i}")).await.0);
        }
        let manager = app.token("csemanager").await;
        let today = Utc::now().date_naive().to_string();
        assert_eq!(post_json(&app, &app.token("police").await, "/api/v1/cse/audits", json!({"from": today, "to": today})).await.0, 403);
        let (status, bad) = post_json(&app, &manager, "/api/v1/cse/audits", json!({"from": "2026-13-01", "to": today, "percent": "0"})).await;
        assert_eq!(status, 422);
        assert_eq!(bad["fields"].as_array().unwrap().len(), 2, "{bad}");
        let draw = json!({"from": today, "to": today, "seed": "20261129", "percent": "25"});
        let (status, first) = post_json(&app, &manager, "/api/v1/cse/audits", draw.clone()).await;
        assert_eq!(status, 201, "{first}");
        assert_eq!(first["population"], 12);
        assert_eq!(first["cases"].as_array().unwrap().len(), 3);
        assert_eq!(first["reproducible"], true);
        let (_, again) = post_json(&app, &manager, "/api/v1/cse/audits", draw).await;
        assert_eq!(again["cases"], first["cases"], "the same seed draws the same cases");
        let (_, other) = post_json(&app, &manager, "/api/v1/cse/audits", json!({"from": today, "to": today, "seed": "7", "percent": "25"})).await;
        assert_ne!(other["cases"], first["cases"]);
        // A fresh draw without a seed records the one it used.
        let (_, fresh) = post_json(&app, &manager, "/api/v1/cse/audits", json!({"from": today, "to": today})).await;
        assert_eq!(fresh["cases"].as_array().unwrap().len(), 2, "10% of 12, rounded up");
        assert!(fresh["seed"].as_str().unwrap().parse::<u64>().is_ok());

        let id = first["id"].as_str().unwrap();
        let sampled = first["cases"][0]["case_id"].as_str().unwrap();
        let outside = cases.iter().find(|c| !first["cases"].to_string().contains(c.as_str())).unwrap();
        let findings = format!("/api/v1/cse/audits/{id}/findings");
        assert_eq!(post_json(&app, &manager, &findings, json!({"case_id": outside, "rating": "good", "finding": "x"})).await.0, 422);
        let (status, _) = post_json(
            &app,
            &manager,
            &findings,
            json!({"case_id": sampled, "rating": "requires_improvement", "finding": "Panel held in week 7, past the six weeks"}),
        )
        .await;
        assert_eq!(status, 201);
        let audit = get_json(&app, &manager, &format!("/api/v1/cse/audits/{id}")).await;
        let case = audit["cases"].as_array().unwrap().iter().find(|c| c["case_id"] == sampled).unwrap();
        assert_eq!(case["rating"], "requires_improvement");
        assert_eq!(audit["findings"], 1);
        let page = get_page(&app, &manager, &format!("/cse/audits/{id}")).await;
        assert!(page.contains("Panel held in week 7") && page.contains("gives the same cases"));
        // The pages' forms, from a signed-in browser (with the session's CSRF token).
        let c = app.client();
        assert_eq!(browser_login(&app, &c, "csemanager", PASSWORD).await.status(), 303);
        let page = c.get(format!("{}/cse/audits", app.base)).send().await.unwrap().text().await.unwrap();
        let csrf = login_csrf(&page);
        let r = c
            .post(format!("{}/cse/audits", app.base))
            .form(&[("csrf", csrf.as_str()), ("from", today.as_str()), ("to", today.as_str()), ("seed", "20261129"), ("percent", "25")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let at = r.headers()["location"].to_str().unwrap().to_owned();
        let r = c
            .post(format!("{}{at}/findings", app.base))
            .form(&[("csrf", csrf.as_str()), ("case_id", sampled), ("rating", "good"), ("finding", "Seen in time")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let r = c
            .post(format!("{}{at}/findings", app.base))
            .form(&[("csrf", csrf.as_str()), ("case_id", sampled), ("finding", "Typed words kept")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("choose one of good") && body.contains("Typed words kept"));
    })
    .await;
}

#[tokio::test]
async fn the_school_report_counts_each_schools_referrals_and_flags_the_low_ones() {
    each_backend(|app| async move {
        let now = Utc::now();
        let mut schools = Vec::new();
        for name in ["Alder School", "Birch School", "Cedar School"] {
            schools.push(service::register_agency(&app.store, name, AgencyKind::School, None, now).await.unwrap());
        }
        // Alder refers four times, Birch three, Cedar never.
        for (school, n) in [(schools[0], 4), (schools[1], 3)] {
            let teacher = Actor {
                user_id: UserId::new(),
                agency_id: school,
                agency_kind: AgencyKind::School,
                roles: vec![Role::AgencyPractitioner],
            };
            for i in 0..n {
                let purpose = default_purpose(Action::CreateContact, &teacher);
                service::record_contact(
                    &app.store,
                    &app.screening,
                    &teacher,
                    purpose,
                    &draft(&format!("Pupil{i}")),
                    now,
                )
                .await
                .unwrap();
            }
        }
        let analyst = app.token("analyst").await;
        let report = get_json(&app, &analyst, "/api/v1/reports/schools").await;
        let rows = report["schools"].as_array().unwrap();
        // The three schools and the harness's college (an education provider, never referring).
        assert_eq!(rows.len(), 4, "{report}");
        assert_eq!(rows[0]["name"], "Cedar School");
        assert_eq!(rows[0]["low"], true);
        assert_eq!(rows[1]["name"], "Wrenhollow College");
        assert_eq!(rows[3]["name"], "Alder School");
        assert_eq!(rows[3]["referrals"], Value::Null, "4 is a small number: suppressed");
        assert_eq!(rows[3]["suppressed"], true);
        assert_eq!(rows[0]["referrals"], 0);
        assert_eq!(report["flagged"], 2);
        let page = get_page(&app, &analyst, "/reports/schools").await;
        assert!(page.contains("Cedar School") && page.contains("low"));
        let r = send(&app, "GET", "/api/v1/reports/schools", &Body::None, Some(&app.token("police").await)).await;
        assert_eq!(r.status(), 403);
    })
    .await;
}

#[tokio::test]
async fn the_gp_practice_is_told_of_an_allocation_with_the_lawful_basis_and_only_it_reads_it() {
    each_backend(|app| async move {
        let (case, _) = app.cse_case("Transition").await;
        let worker = app.token("cseworker").await;
        let path = format!("/api/v1/cse/cases/{case}/notifications");
        let basis = "UK GDPR 6(1)(e) and 9(2)(g); DPA 2018 Sch. 1 para 18";
        let (status, bad) = post_json(&app, &worker, &path, json!({"to_agency": app.agencies["police"].to_string(), "transition": "gp_allocation", "lawful_basis": ""})).await;
        assert_eq!(status, 422);
        let fields: Vec<&str> = bad["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["to_agency", "lawful_basis"], "{bad}");
        let (status, _) = post_json(&app, &worker, &path, json!({"to_agency": app.agencies["health"].to_string(), "transition": "gp_allocation", "lawful_basis": basis})).await;
        assert_eq!(status, 201);
        let health = get_json(&app, &app.token("health").await, "/api/v1/notifications").await;
        assert_eq!(health.as_array().unwrap().len(), 1);
        let message = health[0]["message"].as_str().unwrap();
        assert!(message.contains("Transition Testchild") && message.contains("cseworker user"), "{message}");
        assert_eq!(health[0]["lawful_basis"], basis);
        assert!(get_json(&app, &app.token("police").await, "/api/v1/notifications").await.as_array().unwrap().is_empty());
        let view = get_json(&app, &worker, &format!("/api/v1/cse/cases/{case}")).await;
        assert_eq!(view["notifications"].as_array().unwrap().len(), 1);
        // An unallocated case has nobody to name yet.
        let (_, child) = app.contact_by("advisor", "Unallocated").await;
        let m = frontdoor_store::Meta::system("case_work", Utc::now());
        let (fresh, events) = frontdoor_web::cse::referral_events(child.parse().unwrap(), None, None, "x", &m);
        app.store.append(events, vec![], vec![]).await.unwrap();
        let manager = app.token("csemanager").await;
        let (status, _) = post_json(&app, &manager, &format!("/api/v1/cse/cases/{fresh}/notifications"),
            json!({"to_agency": app.agencies["health"].to_string(), "transition": "gp_allocation", "lawful_basis": basis})).await;
        assert_eq!(status, 409);
    })
    .await;
}

#[tokio::test]
async fn the_gp_is_told_on_allocation_and_a_new_college_on_transfer_without_anyone_asking() {
    each_backend(|app| async move {
        let lead = app.token("lead").await;
        let (_, child) = app.contact_by("advisor", "Moving").await;
        let path = format!("/api/v1/children/{child}/settings");
        let (health, college, police) = (
            app.agencies["health"].to_string(),
            app.agencies["college"].to_string(),
            app.agencies["police"].to_string(),
        );
        // Wrong kinds are refused, each named, and nothing is recorded.
        let (status, bad) =
            post_json(&app, &lead, &path, json!({"gp_practice": police, "education_setting": health})).await;
        assert_eq!(status, 422);
        let fields: Vec<&str> =
            bad["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["gp_practice", "education_setting"], "{bad}");
        assert_eq!(post_json(&app, &lead, &path, json!({})).await.0, 422);
        let before = app.store.child(child.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!((before.gp_practice, before.education_setting), (None, None));
        // No CSE case yet: recording the GP and the college tells nobody.
        let (status, done) = post_json(&app, &lead, &path, json!({"gp_practice": health})).await;
        assert_eq!(status, 200);
        assert!(done["notifications"].as_array().unwrap().is_empty());
        // Referred and allocated: the GP practice hears in the same commit as the allocation.
        let m = frontdoor_store::Meta::system("case_work", Utc::now());
        let (case, events) = frontdoor_web::cse::referral_events(child.parse().unwrap(), None, None, "x", &m);
        app.store.append(events, vec![], vec![]).await.unwrap();
        let manager = app.token("csemanager").await;
        let worker = app.actor("cseworker").user_id.to_string();
        let (status, _) =
            step_json(&app, &manager, &case.to_string(), json!({"step": "allocate", "worker": worker})).await;
        assert_eq!(status, 201);
        let told = get_json(&app, &app.token("health").await, "/api/v1/notifications").await;
        assert_eq!(told.as_array().unwrap().len(), 1, "{told}");
        assert_eq!(told[0]["transition"], "gp_allocation");
        assert!(told[0]["message"].as_str().unwrap().contains("Moving Testchild"));
        assert!(told[0]["message"].as_str().unwrap().contains("cseworker user"));
        assert!(told[0]["lawful_basis"].as_str().unwrap().contains("DPA 2018"));
        // The school she is at now, recorded for the first time, is told nothing: it is not a move.
        let school = service::register_agency(&app.store, "Alder School", AgencyKind::School, None, Utc::now())
            .await
            .unwrap()
            .to_string();
        let (status, done) = post_json(&app, &lead, &path, json!({"education_setting": school})).await;
        assert_eq!(status, 200);
        assert!(done["notifications"].as_array().unwrap().is_empty(), "{done}");
        // A move to the college while the case is open tells the college, once.
        let (status, done) = post_json(&app, &lead, &path, json!({"education_setting": college})).await;
        assert_eq!(status, 200);
        assert_eq!(done["notifications"].as_array().unwrap().len(), 1);
        let (_, again) = post_json(&app, &lead, &path, json!({"education_setting": college})).await;
        assert!(again["notifications"].as_array().unwrap().is_empty(), "not a move");
        let sent = app.store.partner_notifications(Some(app.agencies["college"]), None).await.unwrap();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].message.contains("transferring to Wrenhollow College"), "{}", sent[0].message);
        let page = get_page(&app, &lead, &format!("/children/{child}")).await;
        assert!(page.contains("Health Trust") && page.contains("Wrenhollow College"));
    })
    .await;
}

#[tokio::test]
async fn an_enquiry_can_be_about_a_suspected_perpetrator() {
    each_backend(|app| async move {
        let lead = app.token("lead").await;
        let police_id = app.agencies["police"].to_string();
        let (status, bad) = post_json(&app, &lead, "/api/v1/enquiries", json!({"agencies": [police_id], "question": "Known?"})).await;
        assert_eq!(status, 422, "neither a child nor a person: {bad}");
        assert_eq!(bad["fields"][0]["field"], "child_id");
        let (status, bad) = post_json(
            &app,
            &lead,
            "/api/v1/enquiries",
            json!({"agencies": [police_id], "question": "Known?", "person_of_concern": {"name": "Adult X", "date_of_birth": "2099-01-01"}}),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(bad["fields"][0]["field"], "person_date_of_birth");
        let (status, created) = post_json(
            &app,
            &lead,
            "/api/v1/enquiries",
            json!({"agencies": [police_id], "question": "What do you hold on this man and the takeaway?",
                   "person_of_concern": {"name": "Adult X", "date_of_birth": "1988-02-03", "description": "Drives girls from the takeaway"}}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap();
        let police = app.token("police").await;
        let seen = get_json(&app, &police, &format!("/api/v1/enquiries/{id}")).await;
        assert_eq!(seen["child_id"], Value::Null);
        assert_eq!(seen["person_of_concern"]["name"], "Adult X");
        let (status, _) = post_json(&app, &police, &format!("/api/v1/enquiries/{id}/contributions"), json!({"text": "Two prior arrests"})).await;
        assert_eq!(status, 201);
        let page = get_page(&app, &police, "/enquiries").await;
        assert!(page.contains("Person of concern: Adult X"));
        let page = get_page(&app, &police, &format!("/enquiries/{id}")).await;
        assert!(page.contains("Drives girls from the takeaway") && page.contains("Two prior arrests"));
        let outcome = format!("/api/v1/enquiries/{id}/outcome");
        let (status, bad) = post_json(&app, &lead, &outcome, json!({"outcome": "cse_pathway", "reasons": "x"})).await;
        assert_eq!(status, 422, "the pathway needs a child: {bad}");
        assert_eq!(post_json(&app, &lead, &outcome, json!({"outcome": "no_further_action", "reasons": "Passed to police"})).await.0, 201);
        let form = get_page(&app, &lead, "/enquiries/new").await;
        assert!(form.contains("About a suspected perpetrator"));
    })
    .await;
}
