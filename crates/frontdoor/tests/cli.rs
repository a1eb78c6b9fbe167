//! The `frontdoor` binary end to end: real processes, real files, real crashes.

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_frontdoor");
const PASSWORD: &str = "crash test password";

struct Dir(PathBuf);
impl Dir {
    fn new() -> Dir {
        let d = std::env::temp_dir().join(format!("frontdoor-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&d).unwrap();
        // Light password hashing: these tests sign in many times in a debug build.
        std::fs::write(d.join("light.toml"), "argon2_memory_kib = 1024\nargon2_iterations = 1\n").unwrap();
        Dir(d)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn config(&self) -> String {
        self.0.join("light.toml").display().to_string()
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `--data-dir DIR` or `--database-url URL`.
#[derive(Clone)]
struct Target(Vec<String>);

fn frontdoor(args: &[&str], target: &Target, config: &str, stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).args(&target.0).args(["--config", config]).env("FRONTDOOR_LOG", "warn");
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(target: &Target, config: &str) -> Server {
        Server::start_logging(target, config, None)
    }

    /// With `log`, the server logs at its default level (as in production) into that file.
    fn start_logging(target: &Target, config: &str, log: Option<&Path>) -> Server {
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--config", config]).args(&target.0);
        match log {
            Some(path) => {
                let file = std::fs::File::create(path).unwrap();
                cmd.env_remove("FRONTDOOR_LOG").stdout(file.try_clone().unwrap()).stderr(file);
            }
            None => {
                cmd.env("FRONTDOOR_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let mut child = cmd.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::blocking_get(&format!("{base}/healthz"))
                && r
            {
                return Server { child, base };
            }
            assert!(child.try_wait().unwrap().is_none(), "the server exited while starting");
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL: no chance to flush or shut down cleanly.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

mod reqwest {
    pub use ::reqwest::*;
    /// True when the URL answers 200 (used before a tokio runtime exists).
    pub fn blocking_get(url: &str) -> Result<bool> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { Ok(::reqwest::get(url).await?.status() == 200) })
    }
}

fn setup_users(target: &Target, config: &str) {
    ok(
        frontdoor(
            &["agency", "add", "--name", "Children's Services", "--kind", "childrens_services"],
            target,
            config,
            None,
        ),
        "agency add",
    );
    let out = frontdoor(
        &[
            "user",
            "add",
            "--username",
            "crash.advisor",
            "--display-name",
            "Crash Advisor",
            "--agency",
            "children's services",
            "--role",
            "front_door_advisor",
            "--password-stdin",
        ],
        target,
        config,
        Some(&format!("{PASSWORD}\n")),
    );
    ok(out, "user add");
}

fn crash_and_recover(target: Target, config: String) {
    setup_users(&target, &config);
    let server = Server::start(&target, &config);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    rt.block_on(async {
        let http = ::reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/api/v1/auth/token", server.base))
            .json(&json!({"username": "crash.advisor", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["token"].as_str().unwrap().to_owned();
        let mut tasks = Vec::new();
        for w in 0..16 {
            let (http, base, token, acked) = (http.clone(), server.base.clone(), token.clone(), acked.clone());
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let body = json!({"channel": "phone", "source_code": "6",
                        "child": {"given_name": format!("Crash{w}"), "family_name": format!("Child{n}"), "date_of_birth": "2012-01-02"},
                        "narrative": "Reported missing overnight."});
                    match http.post(format!("{base}/api/v1/contacts")).bearer_auth(&token).json(&body).send().await {
                        Ok(r) if r.status() == 201 => {
                            let v: Value = match r.json().await {
                                Ok(v) => v,
                                Err(_) => return, // the answer was cut off: not acknowledged
                            };
                            acked.lock().unwrap().push((v["id"].as_str().unwrap().to_owned(), v["reference"].as_str().unwrap().to_owned()));
                        }
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "too few contacts before the crash to mean anything: {}", acked.len());

    let server = Server::start(&target, &config);
    rt.block_on(async {
        let http = ::reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/api/v1/auth/token", server.base))
            .json(&json!({"username": "crash.advisor", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["token"].as_str().unwrap();
        for (id, reference) in &acked {
            let r = http.get(format!("{}/api/v1/contacts/{id}", server.base)).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200, "acknowledged contact {reference} was lost in the crash");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["reference"].as_str().unwrap(), reference);
        }
    });
    server.kill();
    let out = ok(frontdoor(&["audit", "verify"], &target, &config, None), "audit verify after the crash");
    assert!(out.contains("audit chains intact"), "{out}");
    eprintln!("{} acknowledged contacts all survived SIGKILL", acked.len());
}

#[test]
fn acknowledged_contacts_survive_sigkill_on_sqlite() {
    let dir = Dir::new();
    let target = Target(vec!["--data-dir".into(), dir.path().join("data").display().to_string()]);
    crash_and_recover(target, dir.config());
}

#[test]
fn acknowledged_contacts_survive_sigkill_on_postgres() {
    let Some(target) = fresh_postgres() else { return };
    let dir = Dir::new();
    crash_and_recover(target, dir.config());
}

#[test]
fn audit_verify_names_the_tampered_row() {
    let dir = Dir::new();
    let data = dir.path().join("data");
    let target = Target(vec!["--data-dir".into(), data.display().to_string()]);
    setup_users(&target, &dir.config());
    let out = ok(frontdoor(&["audit", "verify"], &target, &dir.config(), None), "audit verify");
    assert!(out.contains("audit chains intact: 2 events"), "{out}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", data.join("frontdoor.db").display())).await.unwrap();
        sqlx::raw_sql("DROP TRIGGER events_no_update; UPDATE events SET payload = replace(payload, 'Crash Advisor', 'Someone Else') WHERE seq = 2")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let out = frontdoor(&["audit", "verify"], &target, &dir.config(), None);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("events chain broken at seq 2"), "{text}");
}

#[test]
fn a_bad_config_file_stops_the_server_naming_file_and_line() {
    let dir = Dir::new();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = \"127.0.0.1:0\"\nlisten_port = 80\n").unwrap();
    let out = Command::new(BIN).args(["serve", "--config", bad.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2:") && err.contains("listen_port"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

// The caller kills and waits for the child; a failed assertion here ends the test process anyway.
#[allow(clippy::zombie_processes)]
fn run_demo(dir: &Dir, data: &Path) -> (Child, String, Vec<String>) {
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
            "--children",
            "150",
            "--contacts",
            "200",
        ])
        .args(["--config", &dir.config()])
        .env("FRONTDOOR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "demo exited early: {lines:?}");
        lines.push(line.trim_end().to_owned());
        if let Some(url) = line.trim().strip_prefix("Frontdoor is running at ") {
            return (child, url.trim_end_matches('/').to_owned(), lines);
        }
        assert!(Instant::now() < deadline);
    }
}

#[test]
fn demo_builds_once_writes_private_logins_and_reuses_its_data() {
    let dir = Dir::new();
    let data = dir.path().join("demo");
    let (mut child, url, lines) = run_demo(&dir, &data);
    assert!(lines.iter().any(|l| l.starts_with("Demo logins: ")), "{lines:?}");
    let logins_path = data.join("demo-logins.txt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&logins_path).unwrap().permissions().mode() & 0o777, 0o600);
        // The database beside it holds personal data: only the owner may enter the directory.
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
    let logins = std::fs::read_to_string(&logins_path).unwrap();
    for role in [
        "front_door_advisor",
        "safeguarding_lead",
        "cse_worker",
        "cse_manager",
        "agency_practitioner",
        "intelligence_submitter",
        "analyst",
        "administrator",
        "auditor",
    ] {
        assert!(logins.lines().any(|l| l.split('\t').nth(1) == Some(role)), "no {role} in {logins}");
    }
    let advisor: Vec<&str> = logins.lines().find(|l| l.starts_with("advisor1\t")).unwrap().split('\t').collect();
    assert_eq!(advisor.len(), 4);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = ::reqwest::Client::new()
            .post(format!("{url}/api/v1/auth/token"))
            .json(&json!({"username": "advisor1", "password": advisor[3]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "a demo login works");
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let target = Target(vec!["--data-dir".into(), data.display().to_string()]);
    let before = ok(frontdoor(&["audit", "verify"], &target, &dir.config(), None), "verify");
    assert!(before.contains("audit chains intact"));

    // Again on the same directory: nothing reseeded, nothing lost, same logins.
    let (mut child, _, _) = run_demo(&dir, &data);
    child.kill().unwrap();
    child.wait().unwrap();
    let after = ok(frontdoor(&["audit", "verify"], &target, &dir.config(), None), "verify");
    let events = |s: &str| s.split_whitespace().nth(3).unwrap().parse::<u64>().unwrap();
    assert_eq!(events(&before), events(&after), "{before} / {after}");
    assert!(events(&after) > 300);
    assert_eq!(std::fs::read_to_string(&logins_path).unwrap(), logins);
}

#[test]
fn a_feed_file_imports_whole_or_not_at_all() {
    let dir = Dir::new();
    let data = dir.path().join("data");
    let target = Target(vec!["--data-dir".into(), data.display().to_string()]);
    setup_users(&target, &dir.config());
    let good = dir.path().join("missing.csv");
    std::fs::write(
        &good,
        "given_name,family_name,date_of_birth,missing_from,returned_at,police_reference\n\
         Ria,Feedchild,2011-04-05,2026-10-01 21:00,2026-10-02 08:00,PM/101\n\
         Ria,Feedchild,2011-04-05,2026-10-20 22:00,2026-10-21 07:30,PM/117\n\
         Ria,Feedchild,2011-04-05,2026-11-10 20:15,,PM/140\n",
    )
    .unwrap();
    let args = ["import", "feed", "--kind", "police_missing", "--as", "crash.advisor", good.to_str().unwrap()];
    let out = ok(frontdoor(&args, &target, &dir.config(), None), "import feed");
    assert!(out.contains("3 contacts recorded"), "{out}");
    let third = out.lines().find(|l| l.starts_with("line 4:")).unwrap();
    assert!(third.contains("repeat_missing"), "the third episode in 90 days escalates: {out}");
    let events_before = ok(frontdoor(&["audit", "verify"], &target, &dir.config(), None), "verify");

    // One bad row among good ones: the file is refused, every problem named, nothing written.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "given_name,family_name,date_of_birth,missing_from\n\
         Sam,Good,2012-01-01,2026-11-01 10:00\n\
         ,Nofirst,2012-01-01,2026-11-01 10:00\n\
         Tom,Future,2012-01-01,2099-01-01 10:00\n",
    )
    .unwrap();
    let args = ["import", "feed", "--kind", "police_missing", "--as", "crash.advisor", bad.to_str().unwrap()];
    let out = frontdoor(&args, &target, &dir.config(), None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3: given_name"), "{err}");
    assert!(err.contains("bad.csv:4: missing_from"), "{err}");
    assert!(err.contains("nothing imported"), "{err}");
    let events_after = ok(frontdoor(&["audit", "verify"], &target, &dir.config(), None), "verify");
    assert_eq!(events_before, events_after, "a refused file writes nothing");

    let out =
        frontdoor(&["import", "feed", "--kind", "fax", "--as", "crash.advisor", "x.csv"], &target, &dir.config(), None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("police_missing"));
}

#[test]
fn people_import_into_an_empty_directory_is_idempotent_and_all_or_nothing() {
    let dir = Dir::new();
    let data = dir.path().join("fresh");
    people_import(&dir, Target(vec!["--data-dir".into(), data.display().to_string()]));
}

#[test]
fn people_import_on_postgres_is_idempotent_and_all_or_nothing() {
    let Some(target) = fresh_postgres() else { return };
    people_import(&Dir::new(), target);
}

/// A new, empty PostgreSQL database as a `--database-url` target (None, loudly, without a server).
fn fresh_postgres() -> Option<Target> {
    let server = frontdoor_store::testing::postgres_server_url()?;
    let name = format!("fd_test_{}", uuid::Uuid::new_v4().simple());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let admin = sqlx::PgPool::connect(&server).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    });
    let base = &server[..server.rfind('/').unwrap()];
    Some(Target(vec!["--database-url".into(), format!("{base}/{name}")]))
}

fn people_import(dir: &Dir, target: Target) {
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "record_id,given_name,family_name,date_of_birth,sex,postcode,address,phone\n\
         H1,Amy,Testcase,2012-05-01,F,LS1 4AP,1 High Street,0113 496 0000\n\
         H2,Ben,Testcase,,M,,,\n",
    )
    .unwrap();
    let args = ["import", "people", "--source", "health_rio", file.to_str().unwrap()];
    let out = ok(frontdoor(&args, &target, &dir.config(), None), "import people");
    assert!(out.contains("2 new, 0 changed, 0 unchanged"), "{out}");
    let out = ok(frontdoor(&args, &target, &dir.config(), None), "import people again");
    assert!(out.contains("0 new, 0 changed, 2 unchanged"), "re-import is idempotent: {out}");
    std::fs::write(
        &file,
        "record_id,given_name,family_name,date_of_birth,sex,postcode,address,phone\n\
         H1,Amy,Testcase,2012-05-01,F,LS2 7QP,9 New Road,0113 496 0000\n\
         H2,Ben,Testcase,,M,,,\n\
         H3,Cal,Testcase,2013-01-01,,,,\n",
    )
    .unwrap();
    let out = ok(frontdoor(&args, &target, &dir.config(), None), "import people changed");
    assert!(out.contains("1 new, 1 changed, 1 unchanged"), "{out}");
    let before = ok(frontdoor(&["audit", "verify"], &target, &dir.config(), None), "verify");

    // A mapped layout, and a bad file that changes nothing.
    let mapping = dir.path().join("police.toml");
    std::fs::write(&mapping, "date_format = \"%d/%m/%Y\"\n[columns]\nrecord_id = \"Ref\"\ngiven_name = \"Forename\"\nfamily_name = \"Surname\"\ndate_of_birth = \"DOB\"\n").unwrap();
    let police = dir.path().join("police.csv");
    std::fs::write(
        &police,
        "Ref,Surname,Forename,DOB\nP-1,Testcase,Amy,01/05/2012\nP-2,Testcase,,31/02/2012\n,Testcase,Dan,\n",
    )
    .unwrap();
    let args =
        ["import", "people", "--source", "police", "--mapping", mapping.to_str().unwrap(), police.to_str().unwrap()];
    let out = frontdoor(&args, &target, &dir.config(), None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("police.csv:3: DOB") && err.contains("police.csv:4: Ref"), "{err}");
    assert_eq!(ok(frontdoor(&["audit", "verify"], &target, &dir.config(), None), "verify"), before);
    std::fs::write(&police, "Ref,Surname,Forename,DOB\nP-1,Testcase,Amy,01/05/2012\n").unwrap();
    let out = ok(frontdoor(&args, &target, &dir.config(), None), "mapped import");
    assert!(out.contains("1 new"), "{out}");
}

/// Synthetic exports imported source by source; returns the labels file.
fn import_synthetic(dir: &Dir, target: &Target, records: &str) -> PathBuf {
    let out_dir = dir.path().join("synth");
    let out = Command::new(BIN)
        .args(["synth", "people", "--seed", "11", "--records", records, "--out", out_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files.iter().filter(|f| !f.ends_with("labels.csv")) {
        let source = f.file_stem().unwrap().to_str().unwrap();
        ok(
            frontdoor(&["import", "people", "--source", source, f.to_str().unwrap()], target, &dir.config(), None),
            "import",
        );
    }
    out_dir.join("labels.csv")
}

/// `synth people` is the same from the same seed, size and day, whenever it runs, so benchmark
/// sets can be regenerated; the day is where the people's ages are counted from.
#[test]
fn synthetic_people_are_the_same_for_the_same_seed_and_day() {
    let dir = Dir::new();
    let synth = |name: &str, extra: &[&str]| {
        let out_dir = dir.path().join(name);
        let out = Command::new(BIN)
            .args(["synth", "people", "--seed", "5", "--records", "400", "--out", out_dir.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        (out, out_dir)
    };
    let files = |d: &Path| {
        let mut names: Vec<PathBuf> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        names.iter().map(|f| (f.file_name().unwrap().to_owned(), std::fs::read(f).unwrap())).collect::<Vec<_>>()
    };
    let (first, a) = synth("a", &["--as-of", "2019-03-04"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let (second, b) = synth("b", &["--as-of", "2019-03-04"]);
    assert!(second.status.success());
    let (a, b) = (files(&a), files(&b));
    assert!(a.len() >= 3, "{a:?}");
    assert_eq!(a, b, "the same seed and day gave different files");
    // Everyone is born by that day, and the children were under 18 on it.
    let mut births = 0;
    for (name, bytes) in a.iter().filter(|(n, _)| n.to_str() != Some("labels.csv")) {
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header = reader.headers().unwrap().clone();
        assert_eq!(
            header.iter().collect::<Vec<_>>().join(","),
            "record_id,given_name,family_name,date_of_birth,sex,postcode,address,phone"
        );
        for row in reader.records() {
            let row = row.unwrap();
            assert_eq!(row.len(), 8, "{name:?}: {row:?}");
            if !row[3].is_empty() {
                assert!(&row[3] <= "2019-03-04", "{name:?}: born after the day: {row:?}");
                births += 1;
            }
        }
    }
    assert!(births > 300, "{births}");
    let (other, c) = synth("c", &["--as-of", "2024-03-04"]);
    assert!(other.status.success());
    assert_ne!(a, files(&c), "another day, the same ages");
    // A day that is not one says so and writes nothing.
    let (bad, d) = synth("d", &["--as-of", "2019-02-30"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--as-of") && err.contains("2019-02-30"), "{err}");
    assert!(!d.exists());
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or("").to_owned()
}

fn f1_of(line: &str) -> f64 {
    line.rsplit("f1=").next().unwrap().parse().unwrap()
}

fn link_dedupe_resumes_and_people_win(target: Target) {
    let dir = Dir::new();
    // On an empty index: the database is created, nothing to score.
    let out = ok(frontdoor(&["link", "dedupe"], &target, &dir.config(), None), "dedupe empty");
    assert!(out.contains("deduplicated 0 records"), "{out}");

    let labels = import_synthetic(&dir, &target, "2500");
    let labels = labels.to_str().unwrap();
    // Interrupted after two checkpoints, then resumed.
    let out = frontdoor(&["link", "dedupe", "--chunk", "400", "--stop-after", "2"], &target, &dir.config(), None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run again to resume"));
    let out = frontdoor(&["link", "dedupe", "--chunk", "400"], &target, &dir.config(), None);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("resuming run") && err.contains("at record 800"), "{err}");
    let summary = ok(out, "dedupe resumed");
    assert!(summary.contains("pairs linked automatically") && summary.contains("queued for review"), "{summary}");
    let resumed =
        last_line(&ok(frontdoor(&["link", "evaluate", "--labels", labels], &target, &dir.config(), None), "evaluate"));
    assert!(resumed.starts_with("precision=") && resumed.contains(" recall=") && resumed.contains(" f1="), "{resumed}");
    assert!(f1_of(&resumed) >= 0.9, "{resumed}");

    // A fresh run gives the same result as the interrupted one (its summary from the pairs in
    // memory, the resumed one's from its stored events).
    let fresh_summary = ok(frontdoor(&["link", "dedupe", "--restart"], &target, &dir.config(), None), "dedupe restart");
    // "deduplicated N records into P people in T s: A pairs linked ..., (run R)" without T and R.
    let counts = |s: &str| {
        let line = s.lines().find(|l| l.starts_with("deduplicated")).unwrap();
        let (head, tail) = line.split_once(" in ").unwrap();
        format!("{head}{}", tail.split_once(": ").unwrap().1.split(" (run ").next().unwrap())
    };
    assert_eq!(counts(&fresh_summary), counts(&summary));
    assert!(!summary.contains(": 0 pairs linked automatically"), "{summary}");
    let fresh =
        last_line(&ok(frontdoor(&["link", "evaluate", "--labels", labels], &target, &dir.config(), None), "evaluate"));
    assert_eq!(fresh, resumed);

    // The record check without storing anything: every synthetic record finds itself.
    let labels_text = std::fs::read_to_string(labels).unwrap();
    let (source, id) = {
        let line = labels_text.lines().nth(1).unwrap();
        let mut f = line.split(',');
        (f.next().unwrap().to_owned(), f.next().unwrap().to_owned())
    };
    let export = std::fs::read_to_string(dir.path().join("synth").join(format!("{source}.csv"))).unwrap();
    let row = export.lines().find(|l| l.starts_with(&format!("{id},"))).unwrap();
    let queries = dir.path().join("queries.csv");
    std::fs::write(&queries, format!("{}\nq-1{}\n", frontdoor_link::CANONICAL_HEADER, &row[id.len()..])).unwrap();
    let out = ok(
        frontdoor(&["link", "check", "--queries", queries.to_str().unwrap()], &target, &dir.config(), None),
        "check",
    );
    // Its best match is a record of the same child (an identical copy in another source ties
    // with it, so which of them comes first is not the point).
    let entity_of = |source: &str, id: &str| {
        labels_text.lines().find_map(|l| l.strip_prefix(&format!("{source},{id},")).map(str::to_owned))
    };
    let best = out.lines().next().unwrap().split('\t').nth(1).unwrap();
    let (best_source, best_id) = best.split_once('/').unwrap();
    assert!(out.starts_with("q-1\t"), "{out}");
    assert_eq!(entity_of(best_source, best_id), entity_of(&source, &id), "{out}");
    assert!(entity_of(&source, &id).is_some());
    assert!(last_line(&out).starts_with("queries=1 mean_ms="), "{out}");
    let before =
        last_line(&ok(frontdoor(&["link", "evaluate", "--labels", labels], &target, &dir.config(), None), "evaluate"));
    assert_eq!(before, fresh, "a check stores nothing");

    // A new run replaces the last run's verdicts (none linger from a looser threshold).
    let strict = ["link", "dedupe", "--restart", "--auto-link", "1", "--review", "1"];
    let out = ok(frontdoor(&strict, &target, &dir.config(), None), "strict dedupe");
    assert!(out.contains(": 0 pairs linked automatically, 0 queued"), "{out}");
    // Thresholds from the configuration file, stored with the run's model; contradictory ones
    // refused naming the file and line.
    let strict_cfg = dir.path().join("strict.toml");
    std::fs::write(&strict_cfg, "argon2_memory_kib = 1024\nlink_auto_link = 1.0\nlink_review = 1.0\n").unwrap();
    let strict_cfg = strict_cfg.to_str().unwrap();
    let out = ok(frontdoor(&["link", "dedupe", "--restart"], &target, strict_cfg, None), "configured strict dedupe");
    assert!(out.contains(": 0 pairs linked automatically, 0 queued"), "{out}");
    let bad_cfg = dir.path().join("contradictory.toml");
    std::fs::write(&bad_cfg, "argon2_memory_kib = 1024\nlink_auto_link = 0.5\nlink_review = 0.9\n").unwrap();
    let out = frontdoor(&["link", "dedupe", "--restart"], &target, bad_cfg.to_str().unwrap(), None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("contradictory.toml:2: link_review 0.9"), "{err}");
    ok(frontdoor(&["link", "dedupe", "--restart"], &target, &dir.config(), None), "dedupe restart again");

    // People's decisions win over the matcher, and survive the next run.
    let url = match target.0.as_slice() {
        [flag, v] if flag == "--data-dir" => format!("sqlite://{v}/frontdoor.db"),
        [_, v] => v.clone(),
        _ => unreachable!(),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (auto, other) = rt.block_on(async {
        let store = frontdoor_store::Store::open(&url).await.unwrap();
        let index = store.person_index().await.unwrap();
        let key_of = |num: i64| {
            let (source, p) = index.iter().find(|(_, p)| p.num == num).unwrap();
            frontdoor_core::RecordRef { source: source.clone(), record_id: p.record_id.clone() }
        };
        let run = store.latest_finished_run().await.unwrap().unwrap();
        let pairs = store.run_pairs(&run).await.unwrap();
        let linked = pairs.iter().find(|p| p.has(frontdoor_core::MachinePair::AUTO)).unwrap();
        let (a, b) = (key_of(linked.0), key_of(linked.1));
        let auto = if a < b { (a, b) } else { (b, a) };
        let (source, p) = index.iter().find(|(s, p)| *s != auto.0.source && p.record_id != auto.0.record_id).unwrap();
        let other = frontdoor_core::RecordRef { source: source.clone(), record_id: p.record_id.clone() };
        let meta = frontdoor_store::Meta::system("administration", chrono::Utc::now());
        let decide = |a: &frontdoor_core::RecordRef, b: &frontdoor_core::RecordRef, same: bool| {
            let (a, b) = if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
            frontdoor_store::NewEvent {
                event: frontdoor_core::Event::PersonLinkDecided { a, b, same, reason: "checked by phone".into() },
                expected: frontdoor_store::Expected::Any,
                meta: meta.clone(),
            }
        };
        store
            .append(vec![decide(&auto.0, &auto.1, false), decide(&auto.0, &other, true)], vec![], vec![])
            .await
            .unwrap();
        store.close().await;
        (auto, other)
    });
    ok(frontdoor(&["link", "dedupe", "--restart"], &target, &dir.config(), None), "dedupe after decisions");
    rt.block_on(async {
        let store = frontdoor_store::Store::open(&url).await.unwrap();
        let model: frontdoor_link::Model =
            serde_json::from_str(&store.latest_link_model().await.unwrap().unwrap()).unwrap();
        let stored = model.thresholds.unwrap();
        assert_eq!((stored.auto_link, stored.review), (0.95, 0.5), "the run's thresholds travel with its model");
        let split = store.person_link(&auto.0, &auto.1).await.unwrap().unwrap();
        assert_eq!(split.human.as_deref(), Some("different"));
        assert!(!split.linked(), "the person's 'different' wins over the matcher's link");
        let (a, b) = if auto.0 < other { (&auto.0, &other) } else { (&other, &auto.0) };
        assert!(store.person_link(a, b).await.unwrap().unwrap().linked());
        // And in who is whom: the split pair apart, the joined pair together.
        let (keys, nums): (Vec<_>, Vec<_>) = store
            .person_index()
            .await
            .unwrap()
            .into_iter()
            .map(|(source, p)| (frontdoor_core::RecordRef { source, record_id: p.record_id }, p.num))
            .unzip();
        let c = frontdoor_web::records::clusters(&store, None, &keys, &nums).await.unwrap().cluster;
        let at = |r: &frontdoor_core::RecordRef| c[keys.iter().position(|k| k == r).unwrap()];
        assert_ne!(at(&auto.0), at(&auto.1), "split by a person");
        assert_eq!(at(&auto.0), at(&other), "joined by a person");
        store.close().await;
    });
    let after = ok(frontdoor(&["link", "evaluate", "--labels", labels], &target, &dir.config(), None), "evaluate");
    assert_ne!(last_line(&after), fresh, "decisions change the clustering");

    // Bad labels are refused with file and line.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "source,record_id,entity\nx,1,2\n").unwrap();
    let out = frontdoor(&["link", "evaluate", "--labels", bad.to_str().unwrap()], &target, &dir.config(), None);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("bad.csv:1"));
}

#[test]
fn link_dedupe_on_sqlite_resumes_evaluates_and_people_win() {
    let dir = Dir::new();
    link_dedupe_resumes_and_people_win(Target(vec!["--data-dir".into(), dir.path().join("d").display().to_string()]));
}

#[test]
fn link_dedupe_on_postgres_resumes_evaluates_and_people_win() {
    let Some(target) = fresh_postgres() else { return };
    link_dedupe_resumes_and_people_win(target);
}

/// The anonymous public path leaves nothing identifying in the server's own log either (the
/// HTTP tests search the database): no user agent, no address, nothing typed.
#[test]
fn an_anonymous_online_concern_leaves_no_address_or_user_agent_in_the_log() {
    const AGENT: &str = "FrontdoorLogProbe/1.0";
    let dir = Dir::new();
    let target = Target(vec!["--data-dir".into(), dir.path().join("data").display().to_string()]);
    let config = dir.config();
    setup_users(&target, &config);
    let log = dir.path().join("server.log");
    let server = Server::start_logging(&target, &config, Some(&log));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = ::reqwest::Client::builder()
            .cookie_store(true)
            .user_agent(AGENT)
            .redirect(::reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let steps: [(&str, &[(&str, &str)]); 6] = [
            ("who", &[("who", "young_person_self")]),
            ("about", &[("given_name", "Logprobe")]),
            ("what", &[("what", "A man online asked me for photos.")]),
            ("urgent", &[("urgent", "no")]),
            ("contact", &[("contact", "anonymous")]),
            ("check", &[]),
        ];
        for (step, form) in steps {
            let r = c.post(format!("{}/concern/{step}", server.base)).form(form).send().await.unwrap();
            assert_eq!(r.status(), 303, "{step}");
        }
        let done = c.get(format!("{}/concern/done", server.base)).send().await.unwrap().text().await.unwrap();
        assert!(done.contains("Concern sent"));
    });
    server.kill();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("/concern/{step}"), "the request log is on: {text}");
    for line in text.lines().filter(|l| l.contains("concern")) {
        assert!(!line.contains(AGENT) && !line.contains("127.0.0.1") && !line.contains("Logprobe"), "{line}");
    }
    assert!(!text.contains(AGENT) && !text.contains("Logprobe"), "{text}");
}
