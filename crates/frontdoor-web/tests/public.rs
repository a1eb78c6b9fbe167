//! The public site (F13 public side, F14): information pages and raising a concern online,
//! through a real server on SQLite and PostgreSQL; then the same in headless Chromium (see
//! `browser_*`), with axe-core on every public page.

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use frontdoor_core::AgencyKind;
use frontdoor_store::testing::{self, TestStore};
use frontdoor_web::service::{self, NewUser};
use frontdoor_web::{Application, Config, passwords::Passwords};
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const PASSWORD: &str = "a long test password";
/// The user agent every public-site request sends, to prove it is stored nowhere.
const AGENT: &str = "FrontdoorPrivacyProbe/7.3 (test)";

struct Site {
    base: String,
    ts: TestStore,
}

fn config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..Config::default()
    }
}

impl Site {
    /// The server with children's services and one front-door advisor.
    async fn start(ts: TestStore, cfg: Config) -> Site {
        let store = ts.store.clone();
        let now = chrono::Utc::now();
        let cs = service::register_agency(&store, "Children's Services", AgencyKind::ChildrensServices, None, now)
            .await
            .unwrap();
        let passwords = Passwords::new(&cfg).unwrap();
        let advisor = NewUser {
            username: "advisor".into(),
            display_name: "Advisor".into(),
            agency_id: cs,
            roles: vec![frontdoor_core::Role::FrontDoorAdvisor],
        };
        service::register_user(&store, &passwords, advisor, PASSWORD, None, now).await.unwrap();
        let app = Application::build(cfg, store.clone()).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until_stopped());
        Site { base, ts }
    }

    /// A visitor: keeps cookies like a browser, follows no redirects (the tests look at them).
    fn visitor(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(Policy::none()).cookie_store(true).user_agent(AGENT).build().unwrap()
    }

    async fn get(&self, c: &reqwest::Client, path: &str) -> (u16, String) {
        let r = c.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a step; (status, where it redirects or the page's text).
    async fn post(&self, c: &reqwest::Client, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = c.post(format!("{}{path}", self.base)).form(form).send().await.unwrap();
        let status = r.status().as_u16();
        match r.headers().get("location") {
            Some(l) => (status, l.to_str().unwrap().to_owned()),
            None => (status, r.text().await.unwrap()),
        }
    }

    async fn advisor_token(&self) -> String {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&json!({"username": "advisor", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// The worklist entry and the contact for a reference, as the advisor reads them.
    async fn contact(&self, reference: &str) -> Option<Value> {
        let token = self.advisor_token().await;
        let c = reqwest::Client::new();
        let list: Value = c
            .get(format!("{}/api/v1/worklist", self.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let item = list.as_array().unwrap().iter().find(|x| x["reference"] == reference)?.clone();
        let id = item["contact_id"].as_str().unwrap();
        let contact: Value = c
            .get(format!("{}/api/v1/contacts/{id}", self.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Some(contact)
    }
}

async fn each_backend<F, Fut>(cfg: Config, f: F)
where
    F: Fn(Site) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for ts in testing::all().await {
        eprintln!("-- on {}", ts.label);
        f(Site::start(ts, cfg.clone()).await).await;
    }
}

/// The reference on the confirmation page.
fn reference_in(page: &str) -> String {
    let at = page.find("class=\"reference\">").expect("a reference") + "class=\"reference\">".len();
    page[at..].split('<').next().unwrap().to_owned()
}

/// Answers every step for `who`; `contact` is the contact step's form.
async fn raise(site: &Site, c: &reqwest::Client, who: &str, what: &str, contact: &[(&str, &str)]) -> String {
    assert_eq!(site.post(c, "/concern/who", &[("who", who), ("website", "")]).await, (303, "/concern/about".into()));
    let about =
        [("given_name", "Kayleigh"), ("family_name", ""), ("age", "14"), ("area", "Ashenmoor"), ("website", "")];
    assert_eq!(site.post(c, "/concern/about", &about).await, (303, "/concern/what".into()));
    assert_eq!(site.post(c, "/concern/what", &[("what", what)]).await, (303, "/concern/urgent".into()));
    assert_eq!(site.post(c, "/concern/urgent", &[("urgent", "no")]).await, (303, "/concern/contact".into()));
    assert_eq!(site.post(c, "/concern/contact", contact).await, (303, "/concern/check".into()));
    let (status, check) = site.get(c, "/concern/check").await;
    assert_eq!(status, 200);
    assert!(check.contains("Check your answers") && check.contains("Kayleigh"), "{check}");
    assert_eq!(site.post(c, "/concern/check", &[]).await, (303, "/concern/done".into()));
    let (status, done) = site.get(c, "/concern/done").await;
    assert_eq!(status, 200);
    reference_in(&done)
}

const SLUGS: [&str; 9] = [
    "start",
    "start-easy-read",
    "children",
    "children-easy-read",
    "young-people",
    "young-people-easy-read",
    "parents",
    "parents-easy-read",
    "professionals",
];

#[tokio::test]
async fn every_public_page_needs_no_sign_in_and_carries_the_exit_and_the_emergency_numbers() {
    each_backend(config(), |site| async move {
        let c = site.visitor();
        let mut paths: Vec<String> = SLUGS.iter().map(|s| format!("/info/{s}")).collect();
        paths.extend(["/", "/support", "/concern", "/concern/who"].map(String::from));
        for path in &paths {
            let (status, page) = site.get(&c, path).await;
            assert_eq!(status, 200, "{path}");
            assert!(page.contains("href=\"/leave\"") && page.contains("Leave this site"), "{path}: quick exit");
            assert!(page.contains("call 999") && page.contains("01632 960 199"), "{path}: emergency numbers");
            assert!(page.contains("<h1"), "{path}");
        }
        let (_, start) = site.get(&c, "/").await;
        assert!(start.contains("Worried about a child?") && start.contains("href=\"/concern\""));
        let (_, easy) = site.get(&c, "/info/young-people-easy-read").await;
        assert!(easy.contains("class=\"prose easy-read\""));
        let (_, support) = site.get(&c, "/support").await;
        assert!(support.contains("Wrenhollow CAMHS") && support.contains("Emergency Duty Team"), "{support}");
        let (status, missing) = site.get(&c, "/info/no-such-page").await;
        assert_eq!(status, 404);
        assert!(missing.contains("Leave this site"));
        // Leaving works with JavaScript off: a plain redirect to an everyday page.
        let r = c.get(format!("{}/leave", site.base)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "https://www.bbc.co.uk/weather");
        // Signed in, the root is the practitioner's home, not the public start page.
        let token = site.advisor_token().await;
        let home =
            reqwest::Client::new().get(&site.base).bearer_auth(token).send().await.unwrap().text().await.unwrap();
        assert!(!home.contains("Worried about a child?") && home.contains("Sign out"));
    })
    .await;
}

#[tokio::test]
async fn the_authority_changes_the_words_in_markdown_and_a_mistake_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("start.md"), "# Tell us\n\nOur own words <b>here</b>.\n").unwrap();
    let mut cfg = config();
    cfg.public.content_dir = dir.path().display().to_string();
    let site = Site::start(testing::sqlite().await, cfg.clone()).await;
    let (_, page) = site.get(&site.visitor(), "/").await;
    assert!(page.contains("<h1>Tell us</h1>") && page.contains("Our own words &lt;b&gt;here&lt;/b&gt;."), "{page}");
    std::fs::write(dir.path().join("parents.md"), "Parents\n").unwrap();
    let e = Application::build(cfg, testing::sqlite().await.store.clone()).await.err().unwrap().to_string();
    assert!(e.contains("parents.md:1: a page starts with its title"), "{e}");
}

#[tokio::test]
async fn a_young_person_raises_an_anonymous_concern_that_identifies_nobody_and_the_advisor_sees_it() {
    each_backend(config(), |site| async move {
        let c = site.visitor();
        let what = "She gets into a silver car after school with older men and has a new phone she will not explain.";
        // A name typed and then anonymity chosen: the name is dropped, not kept.
        let contact =
            [("contact", "anonymous"), ("name", "Shouldnotkeep"), ("phone", "07700 900 982"), ("safe_time", "")];
        let reference = raise(&site, &c, "young_person_friend", what, &contact).await;
        assert!(reference.starts_with("FD-"), "{reference}");
        let got = site.contact(&reference).await.expect("the advisor's worklist has it");
        assert_eq!(got["channel"], "online_form");
        assert_eq!(got["source_code"], "9", "anonymous");
        assert_eq!(got["anonymous"], true);
        assert!(got["reporter"].is_null(), "{got}");
        assert!(got["narrative"].as_str().unwrap().contains("silver car"));
        // Nothing about the sender anywhere the database keeps anything.
        let stored = site.ts.stored_text().await;
        assert!(stored.contains(what), "the probe can see stored text");
        for secret in [AGENT, "127.0.0.1", "Shouldnotkeep", "07700 900 982", "fd_concern"] {
            assert!(!stored.contains(secret), "'{secret}' is stored");
        }
        // The confirmation is shown once; the form's memory of it is gone.
        let (status, _) = site.get(&c, "/concern/done").await;
        assert_eq!(status, 303);
    })
    .await;
}

#[tokio::test]
async fn a_call_back_keeps_the_safe_number_and_time_and_the_right_source_code() {
    each_backend(config(), |site| async move {
        let c = site.visitor();
        let contact = [("contact", "contact"), ("name", "Jo"), ("phone", "07700 900 123"), ("safe_time", "after 4pm")];
        let reference =
            raise(&site, &c, "young_person_self", "Someone online keeps asking me for pictures.", &contact).await;
        let got = site.contact(&reference).await.unwrap();
        assert_eq!(got["source_code"], "1C", "a young person about themselves");
        assert_eq!(got["anonymous"], false);
        assert_eq!(got["reporter"]["phone"], "07700 900 123");
        assert!(got["narrative"].as_str().unwrap().contains("Safe time to call back: after 4pm"), "{got}");
    })
    .await;
}

#[tokio::test]
async fn errors_are_summarised_and_linked_the_answers_kept_and_nothing_invalid_stored() {
    each_backend(config(), |site| async move {
        let c = site.visitor();
        let (status, page) = site.post(&c, "/concern/who", &[("who", "")]).await;
        assert_eq!(status, 422);
        assert!(page.contains("There is a problem") && page.contains("href=\"#who\""), "{page}");
        assert!(page.contains("<title>Error: Who are you?"));
        site.post(&c, "/concern/who", &[("who", "parent")]).await;
        let long_age = "x".repeat(31);
        let (status, page) =
            site.post(&c, "/concern/about", &[("given_name", " "), ("age", &long_age), ("area", "Birch Lane")]).await;
        assert_eq!(status, 422);
        assert!(page.contains("href=\"#given_name\"") && page.contains("href=\"#age\""), "{page}");
        assert!(page.contains("value=\"Birch Lane\""), "what was typed is shown again");
        // A later step waits for the one not yet answered.
        let r = c.get(format!("{}/concern/check", site.base)).send().await.unwrap();
        assert_eq!(r.headers()["location"], "/concern/about");
        let (status, page) = site.post(&c, "/concern/contact", &[("contact", "contact"), ("phone", "12")]).await;
        assert_eq!(status, 422);
        assert!(page.contains("href=\"#phone\"") && page.contains("value=\"12\""), "{page}");
        assert!(!site.ts.stored_text().await.contains("Birch Lane"), "nothing is sent before Send");
    })
    .await;
}

#[tokio::test]
async fn the_honeypot_and_the_rate_limit_store_nothing_and_say_so() {
    let mut cfg = config();
    cfg.public.posts_per_minute = 3;
    each_backend(cfg, |site| async move {
        let c = site.visitor();
        let (status, page) =
            site.post(&c, "/concern/who", &[("who", "parent"), ("website", "http://spam.example")]).await;
        assert_eq!(status, 200);
        assert!(page.contains("Thank you"));
        assert!(!site.ts.stored_text().await.contains("spam.example"));
        site.post(&c, "/concern/who", &[("who", "parent")]).await;
        site.post(&c, "/concern/who", &[("who", "parent")]).await;
        let r = c.post(format!("{}/concern/who", site.base)).form(&[("who", "parent")]).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "60");
        assert!(r.text().await.unwrap().contains("Please wait a minute"));
        // The practitioner side is not limited by the public's flood.
        let token = site.advisor_token().await;
        let r = reqwest::Client::new().get(format!("{}/api/v1/worklist", site.base)).bearer_auth(token).send().await;
        assert_eq!(r.unwrap().status(), 200);
    })
    .await;
}
