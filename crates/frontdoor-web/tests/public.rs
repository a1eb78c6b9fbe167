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

    /// The advisor's worklist (JSON).
    async fn worklist(&self) -> Value {
        let token = self.advisor_token().await;
        let r = reqwest::Client::new().get(format!("{}/api/v1/worklist", self.base)).bearer_auth(token).send();
        r.await.unwrap().json().await.unwrap()
    }

    /// The contact for a reference, as the advisor reads it, if it is on the worklist.
    async fn contact(&self, reference: &str) -> Option<Value> {
        let token = self.advisor_token().await;
        let c = reqwest::Client::new();
        let list = self.worklist().await;
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
async fn raise(site: &Site, c: &reqwest::Client, who: &str, what: &str, contact: &[(&str, &str)]) -> (String, String) {
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
    (reference_in(&done), done)
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
        let (reference, _) = raise(&site, &c, "young_person_friend", what, &contact).await;
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
        // No name: a safe number and time are enough for a call back.
        let contact = [("contact", "contact"), ("name", ""), ("phone", "07700 900 123"), ("safe_time", "after 4pm")];
        let (reference, done) =
            raise(&site, &c, "young_person_self", "Someone online keeps asking me for pictures.", &contact).await;
        assert!(!done.contains("follow-up code"), "a sender who can be called back needs no code");
        let got = site.contact(&reference).await.unwrap();
        assert_eq!(got["source_code"], "1C", "a young person about themselves");
        assert_eq!(got["anonymous"], false);
        assert_eq!(got["reporter"]["phone"], "07700 900 123");
        assert!(got["narrative"].as_str().unwrap().contains("Safe time to call back: after 4pm"), "{got}");
        assert_eq!(got["follow_up"], false);
        // There is nobody anonymous to leave a message for.
        let id = got["id"].as_str().unwrap();
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/contacts/{id}/status-message", site.base))
            .bearer_auth(site.advisor_token().await)
            .json(&json!({"message": "Read"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
    })
    .await;
}

/// The follow-up code on the confirmation page.
fn code_in(page: &str) -> String {
    let at = page.find("Your follow-up code is <strong class=\"reference\">").expect("a code")
        + "Your follow-up code is <strong class=\"reference\">".len();
    page[at..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_anonymous_sender_comes_back_with_the_code_reads_our_message_and_adds_to_the_concern() {
    each_backend(config(), |site| async move {
        let c = site.visitor();
        let contact = [("contact", "anonymous")];
        let (reference, done) =
            raise(&site, &c, "parent", "My daughter's phone has messages from a man.", &contact).await;
        let code = code_in(&done);
        assert_eq!(code.len(), 14, "{code}");
        // A wrong code, or the right code with another reference, says only that they do not match.
        let later = site.visitor();
        for (r, k) in [(reference.as_str(), "AAAA-BBBB-CCCC"), ("FD-XXXX-XXXX-XXXX", code.as_str())] {
            let (status, page) = site.post(&later, "/concern/follow-up", &[("reference", r), ("code", k)]).await;
            assert_eq!(status, 422);
            assert!(page.contains("We could not find a concern with that reference and code"), "{page}");
        }
        let typed_loosely = code.to_lowercase().replace('-', " ");
        let loose_reference = reference.to_lowercase().replace('-', " ");
        let open = [("reference", loose_reference.as_str()), ("code", typed_loosely.as_str())];
        let (status, page) = site.post(&later, "/concern/follow-up", &open).await;
        assert_eq!(status, 200);
        assert!(page.contains("There is no message for you yet"), "{page}");
        // The advisor leaves a message; the sender reads it.
        let token = site.advisor_token().await;
        let api = reqwest::Client::new();
        let id = site.contact(&reference).await.unwrap()["id"].as_str().unwrap().to_owned();
        let r = api
            .post(format!("{}/api/v1/contacts/{id}/status-message", site.base))
            .bearer_auth(&token)
            .json(&json!({"message": "We have read this and are acting on it."}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let (_, page) = site.post(&later, "/concern/follow-up", &open).await;
        assert!(page.contains("We have read this and are acting on it."), "{page}");
        // The sender adds what they remembered; the advisor sees it on the contact.
        let add =
            [("reference", reference.as_str()), ("code", code.as_str()), ("more", "His name on the phone is Tez.")];
        let (status, page) = site.post(&later, "/concern/follow-up/add", &add).await;
        assert_eq!(status, 200);
        assert!(page.contains("We have added this to your concern"));
        let seen = site.contact(&reference).await.unwrap();
        assert_eq!(seen["additions"][0]["text"], "His name on the phone is Tez.", "{seen}");
        assert_eq!(seen["status_message"], "We have read this and are acting on it.");
        // ...and it reaches the front door: an alert on the contact for the advisors.
        let alerts = seen["alerts"].as_array().unwrap();
        assert!(
            alerts.iter().any(|a| a["kind"] == "sender_added_information" && a["owner_role"] == "front_door_advisor"),
            "{seen}"
        );
        // Too long: refused, and what was typed comes back.
        let long = "y".repeat(5_001);
        let add = [("reference", reference.as_str()), ("code", code.as_str()), ("more", long.as_str())];
        let (status, page) = site.post(&later, "/concern/follow-up/add", &add).await;
        assert_eq!(status, 422);
        assert!(page.contains(&long) && page.contains("href=\"#more\""));
        // Only the code's hash is stored, and nothing of who added it.
        let stored = site.ts.stored_text().await;
        assert!(!stored.contains(&code) && !stored.contains(&code.replace('-', "")));
        assert!(!stored.contains(AGENT));
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
async fn a_form_whose_answers_were_forgotten_says_so_and_sends_nothing() {
    let site = Site::start(testing::sqlite().await, config()).await;
    // A cookie the server no longer knows: left idle past the limit, or a restart in between.
    let stale = format!("fd_concern={}", "ab".repeat(32));
    let c = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    for r in [
        c.get(format!("{}/concern/what", site.base)).header("cookie", &stale).send().await.unwrap(),
        c.post(format!("{}/concern/check", site.base))
            .header("cookie", &stale)
            .form(&[("x", "")])
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains("Your answers were deleted") && page.contains("30 minutes"), "{page}");
        assert!(page.contains("href=\"/concern/who\""));
    }
    // Starting again with the stale cookie works: a fresh form, not the same message again.
    let r = c.post(format!("{}/concern/who", site.base)).header("cookie", &stale).form(&[("who", "parent")]).send();
    let r = r.await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/concern/about");
    let list = site.worklist().await;
    assert!(list.as_array().unwrap().is_empty(), "nothing was sent: {list}");
}

#[tokio::test]
async fn a_filled_in_honeypot_sends_nothing_and_does_not_claim_it_did() {
    each_backend(config(), |site| async move {
        let c = site.visitor();
        // Autofill on an earlier step does not throw the form away; the field counts at Send.
        assert_eq!(site.post(&c, "/concern/who", &[("who", "parent"), ("website", "x")]).await.0, 303);
        site.post(&c, "/concern/about", &[("given_name", "Spamchild")]).await;
        site.post(&c, "/concern/what", &[("what", "Buy cheap pills at spam.example")]).await;
        site.post(&c, "/concern/urgent", &[("urgent", "no")]).await;
        site.post(&c, "/concern/contact", &[("contact", "anonymous")]).await;
        let (status, page) = site.post(&c, "/concern/check", &[("website", "http://spam.example")]).await;
        assert_eq!(status, 200);
        assert!(page.contains("Your form was not sent") && !page.contains("We have your"), "{page}");
        assert!(!site.ts.stored_text().await.contains("spam.example"));
    })
    .await;
}

#[tokio::test]
async fn pressing_send_twice_records_one_concern() {
    each_backend(config(), |site| async move {
        let c = site.visitor();
        site.post(&c, "/concern/who", &[("who", "parent")]).await;
        site.post(&c, "/concern/about", &[("given_name", "Twiceclicked")]).await;
        site.post(&c, "/concern/what", &[("what", "Older men at the park.")]).await;
        site.post(&c, "/concern/urgent", &[("urgent", "no")]).await;
        site.post(&c, "/concern/contact", &[("contact", "anonymous")]).await;
        let (a, b) = tokio::join!(site.post(&c, "/concern/check", &[]), site.post(&c, "/concern/check", &[]));
        assert_eq!((a.0, b.0), (303, 303));
        let list = site.worklist().await;
        let n = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["child_name"].as_str().unwrap().contains("Twiceclicked"))
            .count();
        assert_eq!(n, 1, "{list}");
        let (status, done) = site.get(&c, "/concern/done").await;
        assert_eq!(status, 200);
        assert!(done.contains("Concern sent"));
    })
    .await;
}

#[tokio::test]
async fn the_rate_limit_says_so_and_spares_the_practitioners() {
    let mut cfg = config();
    cfg.public.posts_per_minute = 3;
    each_backend(cfg, |site| async move {
        let c = site.visitor();
        for _ in 0..3 {
            assert_eq!(site.post(&c, "/concern/who", &[("who", "parent")]).await.0, 303);
        }
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

// ---- in a real browser (headless Chromium through chromedriver, driven by fantoccini) --------

use fantoccini::{Client, ClientBuilder, Locator};

/// Headless Chromium with its driver; the driver process ends with it.
struct Browser {
    client: Client,
    driver: std::process::Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// A browser, or `None` with a loud message when this machine has none (never in CI).
async fn browser() -> Option<Browser> {
    // Two crypto back-ends are linked (reqwest's and fantoccini's): name one for rustls.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let driver_path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let (Some(driver_path), true) = (driver_path, std::path::Path::new("/usr/bin/chromium").exists()) else {
        assert!(!in_ci(), "chromium and chromedriver are missing: the browser tests are mandatory in CI");
        eprintln!("\n*** SKIPPING the browser tests: install Debian's chromium and chromium-driver ***\n");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = std::process::Command::new(driver_path)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": "/usr/bin/chromium",
               "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--window-size=1280,1000"]}),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..100 {
        match ClientBuilder::rustls().unwrap().capabilities(caps.clone()).connect(&url).await {
            Ok(client) => return Some(Browser { client, driver }),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer: {last:?}");
}

/// Saves what the browser shows to `target/screenshots/NAME.png`, for people to look at.
async fn screenshot(b: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = b.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn click(b: &Client, css: &str) {
    b.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
}

/// Clicks what leads to another page and waits until the new page has loaded (a click does not
/// always wait for the navigation it starts, least of all on a busy machine).
async fn go_by(b: &Client, css: &str) {
    b.execute("window.__fdLeft = true", vec![]).await.unwrap();
    click(b, css).await;
    for _ in 0..200 {
        let now = b.execute("return window.__fdLeft === undefined && document.readyState === 'complete'", vec![]).await;
        if matches!(now, Ok(v) if v == json!(true)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{css}: no new page loaded");
}

/// Waits (up to 10 s) for the browser to be at `path`.
async fn wait_path(b: &Client, path: &str) {
    for _ in 0..200 {
        if b.current_url().await.is_ok_and(|u| u.path() == path) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(path_of(b).await, path);
}

async fn type_in(b: &Client, css: &str, text: &str) {
    b.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).send_keys(text).await.unwrap();
}

async fn path_of(b: &Client) -> String {
    b.current_url().await.unwrap().path().to_owned()
}

/// A site for the browser: SQLite (the HTTP tests above cover both backends), with the quick
/// exit pointed at a page of its own so nothing leaves the machine.
async fn browser_site() -> Site {
    let mut cfg = config();
    cfg.public.exit_url = "/healthz".into();
    Site::start(testing::sqlite().await, cfg).await
}

#[tokio::test]
async fn browser_a_young_person_raises_an_anonymous_concern_and_the_advisor_sees_it_on_the_worklist() {
    let Some(browser) = browser().await else { return };
    let b = &browser.client;
    let site = browser_site().await;
    b.goto(&site.base).await.unwrap();
    screenshot(b, "public-start").await;
    go_by(b, "a.button.start").await;
    assert_eq!(path_of(b).await, "/concern");
    go_by(b, "a.button.start").await;
    assert_eq!(path_of(b).await, "/concern/who");
    click(b, "label[for=who]").await;
    go_by(b, "button[type=submit]").await;
    type_in(b, "#given_name", "Tia").await;
    type_in(b, "#age", "13").await;
    go_by(b, "button[type=submit]").await;
    type_in(b, "#what", "A man I met online wants me to meet him and keep it secret. He sent me money.").await;
    go_by(b, "button[type=submit]").await;
    click(b, "label[for=urgent-no]").await;
    go_by(b, "button[type=submit]").await;
    click(b, "label[for=contact]").await;
    go_by(b, "button[type=submit]").await;
    assert_eq!(path_of(b).await, "/concern/check");
    screenshot(b, "public-concern-check").await;
    go_by(b, "button[type=submit]").await;
    assert_eq!(path_of(b).await, "/concern/done");
    screenshot(b, "public-concern-sent").await;
    let reference = b.find(Locator::Css(".reference")).await.unwrap().text().await.unwrap();
    assert!(reference.starts_with("FD-"), "{reference}");
    // Only the form's own cookie was ever set, and it is gone now.
    let cookies = b.get_all_cookies().await.unwrap();
    assert!(cookies.is_empty(), "the form's cookie is gone and no other was set: {cookies:?}");
    // The advisor signs in and finds it on the worklist.
    b.goto(&format!("{}/login", site.base)).await.unwrap();
    type_in(b, "#username", "advisor").await;
    type_in(b, "#password", PASSWORD).await;
    go_by(b, "button[type=submit]").await;
    b.goto(&format!("{}/worklist", site.base)).await.unwrap();
    let page = b.source().await.unwrap();
    assert!(page.contains(&reference) && page.contains("Tia"), "the worklist shows the new concern");
    screenshot(b, "practitioner-worklist-with-online-concern").await;
}

#[tokio::test]
async fn browser_the_form_works_by_keyboard_alone() {
    let Some(browser) = browser().await else { return };
    let b = &browser.client;
    let site = browser_site().await;
    b.goto(&format!("{}/concern/who", site.base)).await.unwrap();
    let body = b.find(Locator::Css("body")).await.unwrap();
    // Tab from the top: skip link, quick exit, menus, then the first answer.
    let mut order = Vec::new();
    for _ in 0..30 {
        body.send_keys("\u{E004}").await.unwrap();
        let id =
            b.execute("return document.activeElement.id || document.activeElement.textContent.trim()", vec![]).await;
        let id = id.unwrap().as_str().unwrap_or_default().to_owned();
        order.push(id.clone());
        if id == "who" {
            break;
        }
    }
    assert_eq!(order.last().map(String::as_str), Some("who"), "focus order: {order:?}");
    assert!(order.iter().position(|x| x.starts_with("Leave this site")) < order.iter().position(|x| x == "who"));
    assert!(!order.iter().any(|x| x == "website"), "the honeypot is never focused: {order:?}");
    // Space chooses; Tab leaves the group for the button; Enter sends.
    let active = b.active_element().await.unwrap();
    active.send_keys(" ").await.unwrap();
    active.send_keys("\u{E004}").await.unwrap();
    b.active_element().await.unwrap().send_keys("\u{E007}").await.unwrap();
    wait_path(b, "/concern/about").await;
}

#[tokio::test]
async fn browser_leave_this_site_quickly_replaces_the_page_and_escape_three_times_leaves() {
    let Some(browser) = browser().await else { return };
    let b = &browser.client;
    let site = browser_site().await;
    b.goto(&format!("{}/info/young-people", site.base)).await.unwrap();
    go_by(b, "a.exit-button").await;
    assert_eq!(path_of(b).await, "/healthz");
    b.back().await.unwrap();
    assert_ne!(path_of(b).await, "/info/young-people", "the page left is not in the history");
    b.goto(&format!("{}/info/parents", site.base)).await.unwrap();
    for _ in 0..3 {
        b.find(Locator::Css("body")).await.unwrap().send_keys("\u{E00C}").await.unwrap();
    }
    wait_path(b, "/healthz").await; // Escape three times leaves
}

#[tokio::test]
async fn browser_a_form_with_errors_shows_the_summary_focused_linked_and_keeps_the_answers() {
    let Some(browser) = browser().await else { return };
    let b = &browser.client;
    let site = browser_site().await;
    b.goto(&format!("{}/concern/who", site.base)).await.unwrap();
    go_by(b, "button[type=submit]").await;
    let focused = b.execute("return document.activeElement.id", vec![]).await.unwrap();
    assert_eq!(focused, "error-summary", "the summary takes the focus");
    screenshot(b, "public-concern-error").await;
    click(b, ".error-summary a[href='#who']").await;
    let focused = b.execute("return document.activeElement.id", vec![]).await.unwrap();
    assert_eq!(focused, "who", "the summary's link goes to the field");
    click(b, "label[for=who-parent]").await;
    go_by(b, "button[type=submit]").await;
    type_in(b, "#area", "Birch Lane").await;
    go_by(b, "button[type=submit]").await;
    assert!(b.source().await.unwrap().contains("Enter the child"));
    let kept = b.find(Locator::Css("#area")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Birch Lane"));
}

/// axe-core (the npm package; its `axe.min.js` path in `AXE_CORE_PATH`) run in the browser on
/// every public page, at normal size and at the equivalent of 400% zoom; any WCAG 2.2 A/AA
/// violation fails. Without the package it skips loudly, except in CI.
#[tokio::test]
async fn browser_every_public_page_passes_axe_core_and_reflows_at_400_percent() {
    let axe = match std::env::var("AXE_CORE_PATH") {
        Ok(p) if !p.is_empty() => std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("AXE_CORE_PATH {p}: {e}")),
        _ => {
            assert!(!in_ci(), "AXE_CORE_PATH is not set: the accessibility test is mandatory in CI");
            eprintln!(
                "\n*** SKIPPING axe-core: npm install axe-core outside the repository and set AXE_CORE_PATH to its axe.min.js ***\n"
            );
            return;
        }
    };
    let Some(browser) = browser().await else { return };
    let b = &browser.client;
    let site = browser_site().await;
    let mut pages: Vec<(String, String)> =
        SLUGS.iter().map(|s| (format!("/info/{s}"), format!("public-info-{s}"))).collect();
    pages.extend(
        [
            ("/", "public-root"),
            ("/support", "public-support"),
            ("/concern", "public-concern-start"),
            ("/concern/who", "public-concern-who"),
            ("/concern/follow-up", "public-follow-up"),
            ("/info/missing", "public-not-found"),
        ]
        .map(|(p, n)| (p.to_owned(), n.to_owned())),
    );
    let run = "var done = arguments[arguments.length - 1];\
               axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})\
                 .then(function (r) { done(r.violations.map(function (v) { return v.id + ' (' + v.nodes.length + '): ' + v.nodes.map(function (n) { return n.target.join(' '); }).join(', '); })); })\
                 .catch(function (e) { done(['axe failed: ' + e]); });";
    let mut failures = Vec::new();
    // axe on the page the browser shows now, the reflow check, and a screenshot.
    let check = |label: String, shot: String, width: u32| {
        let axe = &axe;
        async move {
            b.execute(axe, vec![]).await.unwrap();
            let found = b.execute_async(run, vec![]).await.unwrap();
            let mut mine = Vec::new();
            for v in found.as_array().unwrap() {
                mine.push(format!("{label} at {width}px: {}", v.as_str().unwrap()));
            }
            let fits = b.execute("return document.documentElement.scrollWidth <= window.innerWidth + 1", vec![]).await;
            if fits.unwrap() != json!(true) {
                mine.push(format!("{label} at {width}px: scrolls sideways"));
            }
            screenshot(b, &shot).await;
            mine
        }
    };
    for (size, (w, h)) in [("", (1280, 1000)), ("-400", (320, 250))] {
        b.set_window_size(w, h).await.unwrap();
        for (path, name) in &pages {
            b.goto(&format!("{}{path}", site.base)).await.unwrap();
            let mine = check(path.clone(), format!("{name}{size}"), w).await;
            failures.extend(mine);
        }
        // Every step of the form, its error state, the emergency page, the confirmation and the
        // follow-up, as a sender meets them.
        let go = |path: &str| format!("{}{path}", site.base);
        b.goto(&go("/concern/who")).await.unwrap();
        go_by(b, "button[type=submit]").await;
        let mine = check("/concern/who with an error".into(), format!("public-concern-who-error{size}"), w).await;
        failures.extend(mine);
        click(b, "label[for=who-parent]").await;
        go_by(b, "button[type=submit]").await;
        for (step, fill) in [("about", "#given_name"), ("what", "#what")] {
            let mine = check(format!("/concern/{step}"), format!("public-concern-{step}{size}"), w).await;
            failures.extend(mine);
            type_in(b, fill, "Sam").await;
            go_by(b, "button[type=submit]").await;
        }
        let mine = check("/concern/urgent".into(), format!("public-concern-urgent{size}"), w).await;
        failures.extend(mine);
        click(b, "label[for=urgent]").await;
        go_by(b, "button[type=submit]").await;
        assert_eq!(path_of(b).await, "/concern/emergency");
        let mine = check("/concern/emergency".into(), format!("public-concern-emergency{size}"), w).await;
        failures.extend(mine);
        b.goto(&go("/concern/contact")).await.unwrap();
        let mine = check("/concern/contact".into(), format!("public-concern-contact{size}"), w).await;
        failures.extend(mine);
        click(b, "label[for=contact]").await;
        go_by(b, "button[type=submit]").await;
        let mine = check("/concern/check".into(), format!("public-concern-check{size}"), w).await;
        failures.extend(mine);
        go_by(b, "button[type=submit]").await;
        let mine = check("/concern/done".into(), format!("public-concern-done{size}"), w).await;
        failures.extend(mine);
        let reference = b.find(Locator::Css(".reference")).await.unwrap().text().await.unwrap();
        let code = b.find_all(Locator::Css(".reference")).await.unwrap()[1].text().await.unwrap();
        b.goto(&go("/concern/follow-up")).await.unwrap();
        type_in(b, "#reference", &reference).await;
        type_in(b, "#code", &code).await;
        go_by(b, "button[type=submit]").await;
        let mine = check("/concern/follow-up (found)".into(), format!("public-follow-up-found{size}"), w).await;
        failures.extend(mine);
    }
    assert!(failures.is_empty(), "accessibility failures:\n{}", failures.join("\n"));
}
