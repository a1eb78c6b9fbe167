//! Behaviour of the store, run on SQLite and (when configured) PostgreSQL alike.

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use chrono::{DateTime, TimeZone, Utc};
use frontdoor_core::contact::{ChildSubject, reference_from_random};
use frontdoor_core::policy::Action;
use frontdoor_core::{
    AgencyId, AgencyKind, Channel, ChildId, ContactId, Event, Narrative, PersonName, Purpose, Role, SourceCode, UserId,
    Username,
};
use frontdoor_store::testing::{self, TestStore};
use frontdoor_store::{AccessEntry, Expected, Meta, NewEvent, Store, StoreError};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + secs, 0).unwrap()
}

fn ev(event: Event, expected: Expected, at: DateTime<Utc>) -> NewEvent {
    NewEvent { event, expected, meta: Meta::system("test", at) }
}

struct World {
    agency: AgencyId,
    user: UserId,
}

async fn world(store: &Store) -> World {
    let agency = AgencyId::new();
    let user = UserId::new();
    store
        .append(
            vec![
                ev(
                    Event::AgencyRegistered {
                        agency_id: agency,
                        name: "Children's Services".into(),
                        agency_kind: AgencyKind::ChildrensServices,
                    },
                    Expected::NoStream,
                    t(0),
                ),
                ev(
                    Event::UserRegistered {
                        user_id: user,
                        username: Username::parse("advisor1").unwrap(),
                        display_name: "Advisor One".into(),
                        agency_id: agency,
                        roles: vec![Role::FrontDoorAdvisor],
                    },
                    Expected::NoStream,
                    t(0),
                ),
            ],
            vec![],
            vec![],
        )
        .await
        .unwrap();
    World { agency, user }
}

fn contact(w: &World, child: ChildId, n: u64) -> Vec<NewEvent> {
    let contact_id = ContactId::new();
    vec![NewEvent {
        event: Event::ContactReceived {
            contact_id,
            reference: reference_from_random(n),
            child_id: child,
            channel: Channel::Phone,
            source_code: SourceCode::parse("2A").unwrap(),
            narrative: Narrative::parse(&format!("concern number {n}")).unwrap(),
            received_at: t(n as i64),
            owner_agency: w.agency,
            anonymous: false,
            reporter: None,
            child_match: None,
        },
        expected: Expected::NoStream,
        meta: Meta {
            actor_user: Some(w.user),
            actor_agency: Some(w.agency),
            purpose: "triage".into(),
            at: t(100 + n as i64),
        },
    }]
}

fn child_event(child: ChildId) -> NewEvent {
    ev(
        Event::ChildRecorded {
            child_id: child,
            subject: ChildSubject {
                given_name: PersonName::parse("Amy").unwrap(),
                family_name: PersonName::parse("Example").unwrap(),
                date_of_birth: None,
                sex: None,
                postcode: None,
            },
        },
        Expected::NoStream,
        t(1),
    )
}

async fn each_backend<F, Fut>(f: F)
where
    F: Fn(TestStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for ts in testing::all().await {
        eprintln!("-- on {}", ts.label);
        f(ts).await;
    }
}

#[tokio::test]
async fn events_project_into_tables_and_the_chronology() {
    each_backend(|ts| async move {
        let s = &ts.store;
        let w = world(s).await;
        let child = ChildId::new();
        s.append(vec![child_event(child)], vec![], vec![]).await.unwrap();
        for n in [3, 1, 2] {
            s.append(contact(&w, child, n), vec![], vec![]).await.unwrap();
        }
        let chron = s.chronology(child).await.unwrap();
        assert_eq!(chron.len(), 4, "{}", ts.label);
        // Ordered by when things happened, not when they were typed in.
        let refs: Vec<String> = chron
            .iter()
            .filter_map(|e| match &e.event {
                Event::ContactReceived { reference, .. } => Some(reference.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(refs, [reference_from_random(1), reference_from_random(2), reference_from_random(3)]);
        assert_eq!(chron[1].actor_username.as_deref(), Some("advisor1"));
        assert_eq!(s.contacts_for_child(child).await.unwrap().len(), 3);
        assert_eq!(s.child_agencies(child).await.unwrap(), vec![w.agency]);
        let u = s.user_by_username("advisor1").await.unwrap().unwrap();
        assert_eq!(u.roles, vec![Role::FrontDoorAdvisor]);
        assert_eq!(u.agency.kind, AgencyKind::ChildrensServices);
        assert!(s.verify_chains().await.unwrap().intact());
    })
    .await;
}

#[tokio::test]
async fn two_writers_to_one_stream_one_wins_and_nothing_is_lost() {
    each_backend(|ts| async move {
        let s = ts.store.clone();
        let w = world(&s).await;
        let user_stream_version = 1;
        // Both writers read version 1 of the user's stream and try to extend it.
        let a = s.append(
            vec![ev(
                Event::UserDisabled { user_id: w.user, reason: "writer a".into() },
                Expected::Version(user_stream_version),
                t(5),
            )],
            vec![],
            vec![],
        );
        let b = s.append(
            vec![ev(
                Event::UserDisabled { user_id: w.user, reason: "writer b".into() },
                Expected::Version(user_stream_version),
                t(5),
            )],
            vec![],
            vec![],
        );
        let (ra, rb) = tokio::join!(a, b);
        let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{}: exactly one writer wins: {ra:?} {rb:?}", ts.label);
        let loser = if ra.is_err() { ra } else { rb };
        assert!(matches!(loser, Err(StoreError::Conflict { actual: 2, .. })), "{loser:?}");

        // Many concurrent writers to different streams: every acknowledged append is there.
        let child = ChildId::new();
        s.append(vec![child_event(child)], vec![], vec![]).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..200u64 {
            let s = s.clone();
            let evs = contact(&w, child, 1000 + n);
            tasks.push(tokio::spawn(async move { s.append(evs, vec![], vec![]).await }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(s.contacts_for_child(child).await.unwrap().len(), 200);
        let report = s.verify_chains().await.unwrap();
        assert!(report.intact(), "{:?}", report.breaks);
        assert_eq!(report.events, 2 + 1 + 1 + 200);
    })
    .await;
}

#[tokio::test]
async fn a_failed_batch_writes_nothing() {
    each_backend(|ts| async move {
        let s = &ts.store;
        let w = world(s).await;
        let before = s.event_count().await.unwrap();
        let child = ChildId::new();
        // Second event conflicts (the user stream exists), so the first must not land either.
        let r = s
            .append(
                vec![
                    child_event(child),
                    ev(Event::UserDisabled { user_id: w.user, reason: "x".into() }, Expected::NoStream, t(9)),
                ],
                vec![],
                vec![],
            )
            .await;
        assert!(matches!(r, Err(StoreError::Conflict { .. })));
        assert_eq!(s.event_count().await.unwrap(), before);
        assert!(s.child(child).await.unwrap().is_none());
        assert!(s.verify_chains().await.unwrap().intact());
        // A duplicate username is refused by its projection, and also leaves nothing behind.
        let dup = s
            .append(
                vec![ev(
                    Event::UserRegistered {
                        user_id: UserId::new(),
                        username: Username::parse("advisor1").unwrap(),
                        display_name: "Someone else".into(),
                        agency_id: w.agency,
                        roles: vec![Role::Analyst],
                    },
                    Expected::NoStream,
                    t(9),
                )],
                vec![],
                vec![],
            )
            .await;
        assert!(matches!(dup, Err(StoreError::Duplicate { .. })), "{dup:?}");
        assert_eq!(s.event_count().await.unwrap(), before);
    })
    .await;
}

fn access(w: &World, record: &str) -> AccessEntry {
    AccessEntry {
        at: t(50),
        user_id: w.user,
        agency_id: w.agency,
        action: Action::ViewChronology,
        record_type: "child".into(),
        record_id: record.into(),
        purpose: Purpose::Triage,
        allowed: true,
        reason: "test".into(),
    }
}

/// A connection of its own, as someone with direct database access would have.
async fn raw(ts: &TestStore, sql: &str) -> Result<u64, sqlx::Error> {
    if ts.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&ts.url).await?;
        let r = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.map(|r| r.rows_affected());
        pool.close().await;
        r
    } else {
        let pool = sqlx::PgPool::connect(&ts.url).await?;
        let r = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.map(|r| r.rows_affected());
        pool.close().await;
        r
    }
}

const DROP_TRIGGERS_SQLITE: &str = "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; \
     DROP TRIGGER access_log_no_update; DROP TRIGGER access_log_no_delete;";
const DROP_TRIGGERS_PG: &str =
    "DROP TRIGGER events_no_change ON events; DROP TRIGGER access_log_no_change ON access_log;";

async fn tampered_world(ts: &TestStore) {
    let s = &ts.store;
    let w = world(s).await;
    let child = ChildId::new();
    s.append(vec![child_event(child)], vec![], vec![]).await.unwrap();
    for n in 0..5 {
        s.append(contact(&w, child, n), vec![], vec![]).await.unwrap();
        s.log_access(access(&w, &child.to_string())).await.unwrap();
    }
    assert!(s.verify_chains().await.unwrap().intact());
    let drop = if ts.url.starts_with("sqlite:") { DROP_TRIGGERS_SQLITE } else { DROP_TRIGGERS_PG };
    raw(ts, drop).await.unwrap();
}

#[tokio::test]
async fn the_database_refuses_updates_and_deletes_of_the_logs() {
    each_backend(|ts| async move {
        let w = world(&ts.store).await;
        ts.store.log_access(access(&w, "x")).await.unwrap();
        for sql in [
            "UPDATE events SET payload = '{}' WHERE seq = 1",
            "DELETE FROM events WHERE seq = 1",
            "UPDATE access_log SET purpose = 'x' WHERE seq = 1",
            "DELETE FROM access_log WHERE seq = 1",
        ] {
            let err = raw(&ts, sql).await.expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{}: {sql}: {err}", ts.label);
        }
        assert!(ts.store.verify_chains().await.unwrap().intact());
    })
    .await;
}

/// Each way of tampering, and the row `audit verify` must name.
#[tokio::test]
async fn tampering_is_detected_and_named() {
    let cases: [(&str, &str, &str, i64); 6] = [
        (
            "edit an event",
            "UPDATE events SET payload = replace(payload, 'concern number 2', 'nothing to see') WHERE seq = 6",
            "events",
            6,
        ),
        ("delete an event", "DELETE FROM events WHERE seq = 4", "events", 4),
        (
            "reorder events",
            "UPDATE events SET seq = -1 WHERE seq = 5; UPDATE events SET seq = 5 WHERE seq = 6; UPDATE events SET seq = 6 WHERE seq = -1",
            "events",
            5,
        ),
        ("cut the tail", "DELETE FROM events WHERE seq = 8", "events", 8),
        ("edit the access log", "UPDATE access_log SET purpose = 'analysis' WHERE seq = 3", "access_log", 3),
        ("delete an access entry", "DELETE FROM access_log WHERE seq = 2", "access_log", 2),
    ];
    for (what, sql, chain, seq) in cases {
        for ts in testing::all().await {
            tampered_world(&ts).await;
            let n = raw(&ts, sql).await.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(n > 0, "{what}: the tamper changed nothing");
            let report = ts.store.verify_chains().await.unwrap();
            let first = report.breaks.first().unwrap_or_else(|| panic!("{} {what}: not detected", ts.label));
            assert_eq!((first.chain, first.seq), (chain, seq), "{} {what}: {first}", ts.label);
        }
    }
}

#[tokio::test]
async fn sessions_die_with_a_disabled_user() {
    each_backend(|ts| async move {
        let s = &ts.store;
        let w = world(s).await;
        s.create_session("h1", w.user, "browser", "csrf", t(0), t(1000)).await.unwrap();
        assert!(s.session("h1", t(10)).await.unwrap().is_some());
        assert!(s.session("h1", t(1000)).await.unwrap().is_none(), "expired");
        s.append(
            vec![ev(Event::UserDisabled { user_id: w.user, reason: "left".into() }, Expected::Any, t(20))],
            vec![],
            vec![],
        )
        .await
        .unwrap();
        assert!(s.session("h1", t(10)).await.unwrap().is_none());
        assert!(s.user(w.user).await.unwrap().unwrap().disabled);
    })
    .await;
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let ts = testing::sqlite().await;
    let w = world(&ts.store).await;
    let child = ChildId::new();
    ts.store.append(vec![child_event(child)], vec![], vec![]).await.unwrap();
    ts.store.append(contact(&w, child, 7), vec![], vec![]).await.unwrap();
    ts.store.close().await;
    let again = Store::open(&ts.url).await.unwrap();
    assert_eq!(again.contacts_for_child(child).await.unwrap().len(), 1);
    assert!(again.verify_chains().await.unwrap().intact());
    // And the chain continues where it left off.
    again.append(contact(&w, child, 8), vec![], vec![]).await.unwrap();
    assert!(again.verify_chains().await.unwrap().intact());
}

/// The two migration folders must describe the same tables and columns.
#[test]
fn sqlite_and_postgres_schemas_are_equivalent() {
    fn shape(sql: &str) -> Vec<(String, Vec<String>)> {
        let mut tables = Vec::new();
        for chunk in sql.split("CREATE TABLE ").skip(1) {
            let name = chunk.split_whitespace().next().unwrap().to_owned();
            let body = &chunk[chunk.find('(').unwrap() + 1..chunk.find("\n);").unwrap()];
            let cols = body
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty() && !l.starts_with("UNIQUE") && !l.starts_with("PRIMARY KEY") && !l.starts_with("--")
                })
                .map(|l| {
                    let mut it = l.split_whitespace();
                    let col = it.next().unwrap().to_owned();
                    let ty = it.next().unwrap().trim_end_matches(',').to_owned();
                    format!("{col} {}", if ty == "INTEGER" { "BIGINT".to_owned() } else { ty })
                })
                .collect();
            tables.push((name, cols));
        }
        tables
    }
    let sqlite = shape(include_str!("../migrations/sqlite/0001_foundation.sql"));
    let pg = shape(include_str!("../migrations/postgres/0001_foundation.sql"));
    assert!(sqlite.len() >= 10);
    assert_eq!(sqlite, pg);
    let sqlite = shape(include_str!("../migrations/sqlite/0002_front_door.sql"));
    let pg = shape(include_str!("../migrations/postgres/0002_front_door.sql"));
    assert_eq!(sqlite.len(), 4);
    assert_eq!(sqlite, pg);
}

#[tokio::test]
async fn queued_pairs_are_stored_exactly_and_a_rescore_replaces_them() {
    each_backend(|ts| async move {
        let s = &ts.store;
        let key = |source: &str, id: &str| frontdoor_core::RecordRef { source: source.into(), record_id: id.into() };
        let link = |a: &str, b: &str, ppm: u32, guard: bool, weak: bool| frontdoor_core::ScoredLink {
            a: key("police", a),
            b: key("health", b),
            probability_ppm: ppm,
            auto: false,
            queued: true,
            guard,
            weak,
        };
        let run = "run-1".to_owned();
        let started =
            Event::PersonDedupeStarted { run: run.clone(), records: 4, last_record_seq: 0, model: "{}".into() };
        // Record ids with quotes, a backslash, a control character and accents travel as JSON.
        let awkward = "O'Brien \"Zoë\" \\ \u{1f}";
        let scored = |links| Event::PersonLinksScored { run: run.clone(), from: 0, to: 4, links, pairs: vec![] };
        let first = vec![link("P-1", "H-1", 700_000, false, false), link(awkward, "H-2", 650_001, true, true)];
        s.append(vec![ev(started, Expected::Any, t(1)), ev(scored(first), Expected::Any, t(2))], vec![], vec![])
            .await
            .unwrap();
        let queued = s.queued_links(10).await.unwrap();
        let shown: Vec<_> = queued
            .iter()
            .map(|l| (l.a.record_id.as_str(), l.b.record_id.as_str(), l.probability_ppm, l.guard, l.weak))
            .collect();
        assert_eq!(shown, [("P-1", "H-1", Some(700_000), false, false), (awkward, "H-2", Some(650_001), true, true)]);
        assert_eq!(s.queued_link_count().await.unwrap(), 2);
        assert!(queued.iter().all(|l| l.machine == "queued" && l.a.source == "police" && l.b.source == "health"));
        // The same pair scored again is updated in place, not doubled.
        let again = vec![link("P-1", "H-1", 800_000, false, false)];
        s.append(vec![ev(scored(again), Expected::Any, t(3))], vec![], vec![]).await.unwrap();
        assert_eq!(s.queued_link_count().await.unwrap(), 2);
        assert_eq!(s.queued_links(1).await.unwrap()[0].probability_ppm, Some(800_000));
    })
    .await;
}

#[tokio::test]
async fn the_person_index_reads_back_every_record_exactly() {
    each_backend(|ts| async move {
        let s = &ts.store;
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let person = |source: &str, id: &str, given: Option<&str>, address: Option<&str>| {
            ev(
                Event::PersonRecordImported {
                    source: source.into(),
                    record_id: id.into(),
                    given_name: given.map(|g| PersonName::parse(g).unwrap()),
                    family_name: Some(PersonName::parse("O'Brien-Ślusarz").unwrap()),
                    date_of_birth: Some(frontdoor_core::DateOfBirth::parse("2012-05-01", today).unwrap()),
                    sex: Some(frontdoor_core::Sex::parse("F").unwrap()),
                    postcode: None,
                    address: address.map(str::to_owned),
                    phone: Some("01632 960000".into()),
                },
                Expected::Any,
                t(5),
            )
        };
        let awkward = "Flat 2, \"The Mill\" \\ Back Lane\u{1f}\ttab";
        s.append(
            vec![
                person("police", "P-2", Some("Zoë"), Some(awkward)),
                person("health", "H-1", None, None),
                person("police", "P-1", Some("Amy"), Some("1 High St")),
            ],
            vec![],
            vec![],
        )
        .await
        .unwrap();
        let before = s.person_index().await.unwrap();
        // Numbers far apart (the index is read in parts by number) and one without a number.
        raw(&ts, "UPDATE person_records SET num = num * 100000").await.unwrap();
        raw(&ts, "UPDATE person_records SET num = NULL WHERE record_id = 'P-1'").await.unwrap();
        let after = s.person_index().await.unwrap();
        let show = |rows: &[(String, frontdoor_store::StoredPerson)]| {
            rows.iter().map(|(src, p)| format!("{src}/{}: {:?}", p.record_id, p.fields)).collect::<Vec<_>>()
        };
        assert_eq!(show(&after), show(&before));
        assert_eq!(
            show(&after).iter().map(|l| l.split(':').next().unwrap().to_owned()).collect::<Vec<_>>(),
            ["health/H-1", "police/P-1", "police/P-2"],
            "sorted by source and record id"
        );
        let p2 = &after[2].1;
        assert_eq!(p2.fields[0].as_deref(), Some("Zoë"));
        assert_eq!(p2.fields[5].as_deref(), Some(awkward));
        assert_eq!(after[0].1.fields[0], None);
        assert_eq!(after[0].1.fields[4], None, "no postcode");
        // Numbers come back as stored (the unnumbered record falls back to its sequence).
        assert_eq!(after[0].1.num, before[0].1.num * 100_000);
        assert!(after[1].1.num > 0);
    })
    .await;
}

/// `ContactMoved` is refused by the writer itself when it cannot be right (the same child, no
/// such child, a contact no longer on the child it moves from), and after a move nothing worked
/// out against the contact's old child (a decision, an alert, a CSE case, an alert's escalation)
/// can land on the record the contact left.
#[tokio::test]
async fn after_a_move_nothing_lands_on_the_record_the_contact_left() {
    use frontdoor_core::{AlertId, CaseId, DecisionOutcome};
    each_backend(|ts| async move {
        let s = &ts.store;
        let w = world(s).await;
        let (a, b) = (ChildId::new(), ChildId::new());
        s.append(vec![child_event(a), child_event(b)], vec![], vec![]).await.unwrap();
        let received = contact(&w, a, 1);
        let Event::ContactReceived { contact_id: c, .. } = received[0].event else { unreachable!() };
        let alert = AlertId::new();
        let raise = |child: ChildId, id: AlertId| {
            ev(
                Event::AlertRaised {
                    alert_id: id,
                    alert_kind: "repeat_contacts".into(),
                    child_id: child,
                    contact_id: Some(c),
                    urgent: true,
                    owner_role: Role::SafeguardingLead,
                    due_at: t(500),
                    reason: "test".into(),
                    for_user: None,
                },
                Expected::NoStream,
                t(3),
            )
        };
        s.append(received.into_iter().chain([raise(a, alert)]).collect(), vec![], vec![]).await.unwrap();
        let moving = |from: ChildId, to: ChildId| {
            ev(Event::ContactMoved { contact_id: c, from, to, reason: "same child".into() }, Expected::Any, t(4))
        };
        let conflict = |r: Result<_, StoreError>, what: &str| {
            assert!(matches!(r, Err(StoreError::Conflict { .. })), "{what}: {r:?}");
        };
        conflict(s.append(vec![moving(a, a)], vec![], vec![]).await, "to the same child");
        conflict(s.append(vec![moving(a, ChildId::new())], vec![], vec![]).await, "to no child");
        conflict(s.append(vec![moving(b, a)], vec![], vec![]).await, "from a child it is not on");
        s.append(vec![moving(a, b)], vec![], vec![]).await.unwrap();
        conflict(s.append(vec![moving(a, b)], vec![], vec![]).await, "the same move twice");
        assert_eq!(s.alerts_for_contact(c).await.unwrap()[0].child_id, b);

        // Worked out while the contact was on `a`: refused, and nothing of it is written.
        let before = s.chronology(a).await.unwrap().len();
        let decided = Event::ContactDecided {
            contact_id: c,
            child_id: a,
            outcome: DecisionOutcome::CsePathway,
            reasons: "test".into(),
        };
        conflict(s.append(vec![ev(decided, Expected::Any, t(5))], vec![], vec![]).await, "a decision");
        conflict(s.append(vec![raise(a, AlertId::new())], vec![], vec![]).await, "an alert");
        let case = Event::CseCaseOpened {
            case_id: CaseId::new(),
            child_id: a,
            contact_id: Some(c),
            enquiry_id: None,
            reason: "test".into(),
        };
        conflict(s.append(vec![ev(case, Expected::NoStream, t(5))], vec![], vec![]).await, "a CSE case");
        let escalated = Event::AlertEscalated { alert_id: alert, child_id: a, to_role: Role::SafeguardingLead };
        conflict(s.append(vec![ev(escalated, Expected::Any, t(5))], vec![], vec![]).await, "an escalation");
        assert_eq!(s.chronology(a).await.unwrap().len(), before);
        assert!(s.decision(c).await.unwrap().is_none());
        assert!(s.cse_cases_of_child(a).await.unwrap().is_empty());

        // The same, worked out on `b`, is accepted.
        let decided = Event::ContactDecided {
            contact_id: c,
            child_id: b,
            outcome: DecisionOutcome::EarlyHelp,
            reasons: "test".into(),
        };
        s.append(vec![ev(decided, Expected::Any, t(6))], vec![], vec![]).await.unwrap();
        let escalated = Event::AlertEscalated { alert_id: alert, child_id: b, to_role: Role::SafeguardingLead };
        s.append(vec![ev(escalated, Expected::Any, t(6))], vec![], vec![]).await.unwrap();
        // Moved back, the decision and the escalation go with it.
        let kinds = |entries: Vec<frontdoor_store::ChronologyEntry>| -> Vec<&'static str> {
            entries.iter().map(|e| e.event.kind()).collect()
        };
        s.append(vec![moving(b, a)], vec![], vec![]).await.unwrap();
        let on_a = kinds(s.chronology(a).await.unwrap());
        for kind in ["contact_received", "alert_raised", "contact_decided", "alert_escalated"] {
            assert!(on_a.contains(&kind), "{kind} follows the contact: {on_a:?}");
        }
        let on_b = kinds(s.chronology(b).await.unwrap());
        assert_eq!(on_b, ["child_recorded", "contact_moved", "contact_moved"], "{on_b:?}");
        assert!(s.verify_chains().await.unwrap().intact());
    })
    .await;
}
