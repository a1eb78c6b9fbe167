//! Intake and triage through the services, on SQLite and PostgreSQL: the protocol's verdict,
//! every alert trigger with its window edges, alert transitions, decisions, flags, and the sweep
//! (escalation and overdue decisions, with their notifications in the outbox).

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use chrono::{DateTime, Duration, Utc};
use frontdoor_core::{Actor, AgencyKind, AlertState, ContactDraft, Purpose, Role, SexualHealthService, Signal};
use frontdoor_store::Store;
use frontdoor_store::testing;
use frontdoor_web::intake::{self, AlertAction};
use frontdoor_web::screening::Screening;
use frontdoor_web::service::{self, NewUser, ServiceError};
use frontdoor_web::{Config, passwords::Passwords};
use serde_json::{Value, json};

struct World {
    store: Store,
    screening: Screening,
    advisor: Actor,
    lead: Actor,
}

async fn world(store: Store, cfg: Config) -> World {
    let now = Utc::now();
    let cs = service::register_agency(&store, "Children's Services", AgencyKind::ChildrensServices, None, now)
        .await
        .unwrap();
    let passwords =
        Passwords::new(&Config { argon2_memory_kib: 1024, argon2_iterations: 1, ..Config::default() }).unwrap();
    let mut actors = Vec::new();
    for (name, role) in [("advisor", Role::FrontDoorAdvisor), ("lead", Role::SafeguardingLead)] {
        let new = NewUser { username: name.into(), display_name: name.into(), agency_id: cs, roles: vec![role] };
        let user_id = service::register_user(&store, &passwords, new, "a long test password", None, now).await.unwrap();
        actors.push(Actor { user_id, agency_id: cs, agency_kind: AgencyKind::ChildrensServices, roles: vec![role] });
    }
    let lead = actors.pop().unwrap();
    let advisor = actors.pop().unwrap();
    World { store, screening: Screening::load(&cfg).unwrap(), advisor, lead }
}

async fn each(cfg: Config, f: impl AsyncFn(World)) {
    for ts in testing::all().await {
        eprintln!("-- on {}", ts.label);
        f(world(ts.store.clone(), cfg.clone()).await).await;
    }
}

fn draft(given: &str, narrative: &str, call_type: &str, answers: Value, received: DateTime<Utc>) -> ContactDraft {
    serde_json::from_value(json!({
        "channel": "phone", "source_code": "6",
        "child": {"given_name": given, "family_name": "Intake", "date_of_birth": "2011-04-05"},
        "narrative": narrative, "received_at": received.to_rfc3339(),
        "call_type": call_type, "answers": answers,
    }))
    .unwrap()
}

impl World {
    async fn contact(&self, given: &str, received: DateTime<Utc>) -> intake::RecordedContact {
        let d = draft(given, "Worried about her.", "general_advice", json!({}), received);
        intake::record_contact(&self.store, &self.screening, &self.advisor, Purpose::Triage, &d, received)
            .await
            .unwrap()
    }

    async fn with_signal(&self, given: &str, signal: Signal, received: DateTime<Utc>) -> intake::RecordedContact {
        let d = draft(given, "Notification from a partner system.", "general_advice", json!({}), received);
        intake::record_contact_with(
            &self.store,
            &self.screening,
            &self.advisor,
            Purpose::Triage,
            &d,
            Some(signal),
            received,
        )
        .await
        .unwrap()
    }

    async fn missing(&self, given: &str, received: DateTime<Utc>) -> intake::RecordedContact {
        let answers = json!({"police_category": "missing", "returned": true});
        let d = draft(given, "Reported missing by police.", "missing_child", answers, received);
        intake::record_contact(&self.store, &self.screening, &self.advisor, Purpose::Triage, &d, received)
            .await
            .unwrap()
    }
}

fn t0() -> DateTime<Utc> {
    // A Wednesday, so "one working day" is simply the next day.
    DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn the_protocol_sets_the_level_and_explains_itself_and_bad_answers_write_nothing() {
    each(Config::default(), async |w| {
        let now = t0();
        let d = draft(
            "Level",
            "She disclosed that an older boyfriend gives her alcohol and she has been missing overnight.",
            "cse_concern",
            json!({"disclosure": true}),
            now,
        );
        let r = intake::record_contact(&w.store, &w.screening, &w.advisor, Purpose::Triage, &d, now).await.unwrap();
        assert!(r.level_of_need >= 3, "level {}", r.level_of_need);
        assert!(r.alerts.contains(&"threshold_reached".to_owned()), "{:?}", r.alerts);
        let events = w.store.contact_events(r.contact_id).await.unwrap();
        let assessed = events.iter().find(|e| e.kind() == "contact_assessed").unwrap();
        let frontdoor_core::Event::ContactAssessed { explanation, decision_due, call_type, .. } = assessed else {
            unreachable!()
        };
        assert_eq!(call_type, "cse_concern");
        assert!(!explanation.is_empty() && explanation.iter().any(|l| l.contains("Rule")), "{explanation:?}");
        assert_eq!(*decision_due, now + Duration::days(1));

        // Wrong answer type, unknown question, unknown call type: every problem named, nothing written.
        let before = w.store.event_count().await.unwrap();
        let bad = draft("Bad", "x", "cse_concern", json!({"disclosure": "perhaps", "colour": "red"}), now);
        let Err(ServiceError::Invalid(errors)) =
            intake::record_contact(&w.store, &w.screening, &w.advisor, Purpose::Triage, &bad, now).await
        else {
            panic!("accepted a bad answer")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"answers.disclosure") && fields.contains(&"answers.colour"), "{fields:?}");
        let bad = draft("Bad", "x", "astrology", json!({}), now);
        let Err(ServiceError::Invalid(errors)) =
            intake::record_contact(&w.store, &w.screening, &w.advisor, Purpose::Triage, &bad, now).await
        else {
            panic!("accepted an unknown call type")
        };
        assert_eq!(errors[0].field, "call_type");
        assert!(errors[0].message.contains("cse_concern"));
        assert_eq!(w.store.event_count().await.unwrap(), before);
    })
    .await;
}

#[tokio::test]
async fn repeat_contacts_alert_at_the_third_within_the_window_edges_included() {
    each(Config::default(), async |w| {
        let now = t0();
        // 366 days before: outside the window; exactly 365 days before: inside.
        w.contact("Repeat", now - Duration::days(366)).await;
        w.contact("Repeat", now - Duration::days(10)).await;
        let second = w.contact("Repeat", now).await;
        assert!(!second.alerts.contains(&"repeat_contacts".to_owned()), "the 366-day-old contact must not count");

        w.contact("Edge", now - Duration::days(365)).await;
        w.contact("Edge", now - Duration::days(10)).await;
        let third = w.contact("Edge", now).await;
        assert_eq!(third.alerts, ["repeat_contacts"]);
        // While that alert is unresolved, a fourth contact does not raise another.
        let fourth = w.contact("Edge", now + Duration::hours(1)).await;
        assert!(fourth.alerts.is_empty(), "{:?}", fourth.alerts);
        // Once dismissed, the next contact raises it afresh.
        let alert = w.store.alerts_for_contact(third.contact_id).await.unwrap().remove(0);
        intake::update_alert(&w.store, &w.advisor, &alert, AlertAction::Dismiss("known, in hand".into()), now)
            .await
            .unwrap();
        let fifth = w.contact("Edge", now + Duration::hours(2)).await;
        assert_eq!(fifth.alerts, ["repeat_contacts"]);
    })
    .await;
}

#[tokio::test]
async fn every_missing_episode_alerts_and_three_in_ninety_days_escalate() {
    let cfg = Config { repeat_contacts_threshold: 100, ..Config::default() };
    each(cfg, async |w| {
        let now = t0();
        let first = w.missing("Runner", now - Duration::days(91)).await;
        // Returned, so the protocol also asks for a return home interview.
        assert_eq!(first.alerts, ["missing_episode", "return_interview"]);
        w.missing("Runner", now - Duration::days(30)).await;
        let third = w.missing("Runner", now).await;
        assert!(!third.alerts.contains(&"repeat_missing".to_owned()), "91 days ago is outside: {:?}", third.alerts);
        let fourth = w.missing("Runner", now + Duration::hours(1)).await;
        assert!(fourth.alerts.contains(&"repeat_missing".to_owned()), "{:?}", fourth.alerts);
        assert!(fourth.alerts.contains(&"missing_episode".to_owned()));
        let alerts = w.store.alerts_for_contact(fourth.contact_id).await.unwrap();
        let repeat = alerts.iter().find(|a| a.kind == "repeat_missing").unwrap();
        assert!(repeat.urgent && repeat.owner_role == "safeguarding_lead");
        // Exactly 90 days before is inside the window.
        w.missing("Edge90", now - Duration::days(90)).await;
        w.missing("Edge90", now - Duration::days(30)).await;
        let third = w.missing("Edge90", now).await;
        assert!(third.alerts.contains(&"repeat_missing".to_owned()), "{:?}", third.alerts);
    })
    .await;
}

#[tokio::test]
async fn school_absence_at_ten_days_and_sexual_health_repeats() {
    each(Config::default(), async |w| {
        let now = t0();
        let nine = w.with_signal("Absent", Signal::SchoolAbsence { days_absent: 9 }, now).await;
        assert!(nine.alerts.is_empty(), "{:?}", nine.alerts);
        let ten = w.with_signal("Absent2", Signal::SchoolAbsence { days_absent: 10 }, now).await;
        assert_eq!(ten.alerts, ["school_absence"]);
        // The school_absence protocol's own answer implies the signal too.
        let d = draft("Absent3", "Not in school.", "school_absence", json!({"days_unauthorised": 12}), now);
        let r = intake::record_contact(&w.store, &w.screening, &w.advisor, Purpose::Triage, &d, now).await.unwrap();
        assert!(r.alerts.contains(&"school_absence".to_owned()), "{:?}", r.alerts);

        let ec = Signal::SexualHealth { service: SexualHealthService::EmergencyContraception };
        let first = w.with_signal("Clinic", ec, now - Duration::days(366)).await;
        assert!(first.alerts.is_empty());
        let second = w.with_signal("Clinic", ec, now).await;
        assert!(second.alerts.is_empty(), "a year and a day apart is not a repeat");
        let third = w.with_signal("Clinic", ec, now + Duration::days(1)).await;
        assert!(third.alerts.contains(&"sexual_health".to_owned()), "{:?}", third.alerts);
        // Exactly 365 days apart is inside the window.
        w.with_signal("Clinic2", ec, now - Duration::days(365)).await;
        let again = w.with_signal("Clinic2", ec, now).await;
        assert!(again.alerts.contains(&"sexual_health".to_owned()), "{:?}", again.alerts);

        let cc = Signal::SexualHealth { service: SexualHealthService::CondomCard };
        for i in 0..4 {
            let r = w.with_signal("Cards", cc, now + Duration::days(i)).await;
            assert!(!r.alerts.contains(&"sexual_health".to_owned()), "use {}", i + 1);
        }
        let fifth = w.with_signal("Cards", cc, now + Duration::days(5)).await;
        assert!(fifth.alerts.contains(&"sexual_health".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn flags_raise_protection_and_association_alerts_and_open_cases_are_not_referrals() {
    each(Config::default(), async |w| {
        let now = t0();
        let first = w.contact("Flagged", now - Duration::days(1)).await;
        let child = first.child_id;
        let err = intake::flag_child(&w.store, &w.advisor, child, "looked_after", true, " ", now).await.unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(ref e) if e[0].field == "note"));
        let err = intake::flag_child(&w.store, &w.advisor, child, "vip", true, "x", now).await.unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(ref e) if e[0].field == "flag"));
        intake::flag_child(&w.store, &w.advisor, child, "looked_after", true, "LAC 4411", now).await.unwrap();
        intake::flag_child(&w.store, &w.advisor, child, "open_cse_case", true, "CSE pathway 17", now).await.unwrap();
        intake::flag_child(&w.store, &w.advisor, child, "open_case", true, "CIN 2231", now).await.unwrap();
        let r = w.contact("Flagged", now).await;
        assert_eq!(r.alerts, ["protection_flag", "known_association"]);
        let events = w.store.contact_events(r.contact_id).await.unwrap();
        assert!(events.iter().any(|e| matches!(e, frontdoor_core::Event::ContactAssessed { open_case: true, .. })));
        // Cleared flags stop alerting.
        for f in ["looked_after", "open_cse_case", "open_case"] {
            intake::flag_child(&w.store, &w.advisor, child, f, false, "", now).await.unwrap();
        }
        // (the two unresolved alerts would dedupe anyway; resolve them first)
        for a in w.store.alerts_for_contact(r.contact_id).await.unwrap() {
            intake::update_alert(&w.store, &w.advisor, &a, AlertAction::Action("seen".into()), now).await.unwrap();
        }
        let r = w.contact("Flagged", now + Duration::hours(1)).await;
        assert!(r.alerts.is_empty() || r.alerts == ["repeat_contacts"], "{:?}", r.alerts);
        assert!(w.store.child_flags(child).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn alerts_go_open_acknowledged_then_actioned_or_dismissed_and_never_back() {
    each(Config::default(), async |w| {
        let now = t0();
        let r = w.missing("States", now).await;
        let alert = w.store.alerts_for_contact(r.contact_id).await.unwrap().remove(0);
        assert_eq!(alert.state, AlertState::Open);
        assert!(matches!(AlertAction::parse("dismiss", " "), Err(ServiceError::Invalid(_))));
        assert!(matches!(AlertAction::parse("action", ""), Err(ServiceError::Invalid(_))));
        assert!(matches!(AlertAction::parse("explode", "x"), Err(ServiceError::Invalid(_))));
        let s = intake::update_alert(&w.store, &w.advisor, &alert, AlertAction::Acknowledge, now).await.unwrap();
        assert_eq!(s, AlertState::Acknowledged);
        // A stale copy (someone else acknowledged first) conflicts instead of double-acknowledging.
        let again = intake::update_alert(&w.store, &w.lead, &alert, AlertAction::Acknowledge, now).await;
        assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
        let alert = w.store.alert(alert.id).await.unwrap().unwrap();
        let s = intake::update_alert(
            &w.store,
            &w.advisor,
            &alert,
            AlertAction::Action("return interview booked".into()),
            now,
        )
        .await
        .unwrap();
        assert_eq!(s, AlertState::Actioned);
        let alert = w.store.alert(alert.id).await.unwrap().unwrap();
        assert_eq!(alert.resolution.as_deref(), Some("return interview booked"));
        let after = intake::update_alert(&w.store, &w.advisor, &alert, AlertAction::Dismiss("no".into()), now).await;
        assert!(matches!(after, Err(ServiceError::Conflict(_))));
    })
    .await;
}

#[tokio::test]
async fn decisions_need_reasons_happen_once_and_leave_the_worklist() {
    each(Config::default(), async |w| {
        let now = t0();
        let low = w.contact("Low", now).await;
        let d = draft(
            "High",
            "Disclosed sexual exploitation by older men.",
            "cse_concern",
            json!({"disclosure": true}),
            now,
        );
        let high = intake::record_contact(&w.store, &w.screening, &w.advisor, Purpose::Triage, &d, now).await.unwrap();
        let list = w.store.worklist(50).await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].contact.id, high.contact_id, "the most urgent first");
        assert_eq!(list[1].contact.id, low.contact_id);

        let err = intake::decide_contact(&w.store, &w.advisor, high.contact_id, "early_help", "  ", now).await;
        assert!(matches!(err, Err(ServiceError::Invalid(ref e)) if e[0].field == "reasons"));
        let err = intake::decide_contact(&w.store, &w.advisor, high.contact_id, "shrug", "why", now).await;
        assert!(matches!(err, Err(ServiceError::Invalid(ref e)) if e[0].field == "outcome"));
        intake::decide_contact(&w.store, &w.lead, high.contact_id, "cse_pathway", "disclosure; older men", now)
            .await
            .unwrap();
        let again = intake::decide_contact(&w.store, &w.lead, high.contact_id, "early_help", "changed mind", now).await;
        assert!(matches!(again, Err(ServiceError::Conflict(_))));
        let d = w.store.decision(high.contact_id).await.unwrap().unwrap();
        assert_eq!(d.outcome.as_str(), "cse_pathway");
        assert_eq!(d.decided_by.as_deref(), Some("lead"));
        let list = w.store.worklist(50).await.unwrap();
        assert_eq!(list.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_sweep_escalates_unacknowledged_urgent_alerts_and_surfaces_overdue_decisions_once() {
    let cfg = Config {
        notify_managers_email: "managers@frontdoor.test".into(),
        notify_safeguarding_email: "mash@frontdoor.test".into(),
        escalate_after_minutes: 30,
        ..Config::default()
    };
    each(cfg, async |w| {
        let now = t0();
        let d = draft("Urgent", "Disclosed sexual exploitation.", "cse_concern", json!({"disclosure": true}), now);
        let r = intake::record_contact(&w.store, &w.screening, &w.advisor, Purpose::Triage, &d, now).await.unwrap();
        let urgent: Vec<_> =
            w.store.alerts_for_contact(r.contact_id).await.unwrap().into_iter().filter(|a| a.urgent).collect();
        assert!(!urgent.is_empty(), "a level-4 contact raises an urgent alert");
        // The safeguarding advisors were told at once, with no personal details.
        let mail = w.store.due_outbox(now, 100).await.unwrap();
        assert!(mail.iter().any(|m| m.recipient == "mash@frontdoor.test" && m.subject.contains(&r.reference)));
        assert!(mail.iter().all(|m| !m.body.contains("Urgent") && !m.subject.contains("Urgent")), "no child's name");

        // Before the escalation time: nothing.
        let s = intake::sweep(&w.store, &w.screening, now + Duration::minutes(29)).await.unwrap();
        assert_eq!(s.escalated, 0);
        // After it: every urgent alert escalates once, and the managers are told.
        let s = intake::sweep(&w.store, &w.screening, now + Duration::minutes(31)).await.unwrap();
        assert_eq!(s.escalated, urgent.len());
        assert_eq!(s.overdue, 0);
        let s = intake::sweep(&w.store, &w.screening, now + Duration::minutes(32)).await.unwrap();
        assert_eq!(s.escalated, 0, "idempotent");
        assert!(w.store.alert(urgent[0].id).await.unwrap().unwrap().escalated);

        // A day and a minute later the decision is overdue: one alert, once.
        let late = now + Duration::days(1) + Duration::minutes(1);
        let s = intake::sweep(&w.store, &w.screening, late).await.unwrap();
        assert_eq!(s.overdue, 1);
        let s = intake::sweep(&w.store, &w.screening, late + Duration::minutes(1)).await.unwrap();
        assert_eq!(s.overdue, 0);
        let overdue =
            w.store.alerts_for_contact(r.contact_id).await.unwrap().into_iter().find(|a| a.kind == "decision_overdue");
        assert!(overdue.is_some());
        let mail = w.store.due_outbox(late + Duration::minutes(2), 100).await.unwrap();
        assert!(mail.iter().filter(|m| m.recipient == "managers@frontdoor.test").count() >= 2);
        // Deciding closes the overdue alert.
        intake::decide_contact(&w.store, &w.lead, r.contact_id, "cse_pathway", "in hand", late).await.unwrap();
        let overdue = w.store.alert(overdue.unwrap().id).await.unwrap().unwrap();
        assert_eq!(overdue.state, AlertState::Actioned);
    })
    .await;
}

/// A model as a finished `link dedupe` run leaves it in the store, trained on a synthetic
/// borough's person records.
async fn store_link_model(store: &Store) {
    use frontdoor_link::{Index, Nicknames, Person, Settings};
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let b = frontdoor_synth::generate(42, today, &frontdoor_synth::Params { children: 1_500, contacts: 0, years: 1 });
    let people: Vec<Person> = b
        .person_records
        .iter()
        .map(|r| Person {
            source: r.source.clone(),
            record_id: r.record_id.clone(),
            given_name: r.given_name.clone(),
            family_name: r.family_name.clone(),
            date_of_birth: r.date_of_birth,
            sex: r.sex.map(|s| s.as_str().to_owned()),
            postcode: r.postcode.clone(),
            address: r.address.clone(),
            phone: r.phone.clone(),
        })
        .collect();
    let settings = Settings::default();
    let model = Index::build(&people, Nicknames::builtin(), &settings).train(&settings);
    let run = "intake-test".to_owned();
    let records = people.len() as u64;
    let meta = frontdoor_store::Meta { actor_user: None, actor_agency: None, purpose: "test".into(), at: Utc::now() };
    let ev = |event| frontdoor_store::NewEvent { event, expected: frontdoor_store::Expected::Any, meta: meta.clone() };
    let model = serde_json::to_string(&model).unwrap();
    let started = frontdoor_core::Event::PersonDedupeStarted { run: run.clone(), records, last_record_seq: 0, model };
    let finished =
        frontdoor_core::Event::PersonDedupeFinished { run, records, clusters: records, auto_linked: 0, queued: 0 };
    store.append(vec![ev(started), ev(finished)], vec![], vec![]).await.unwrap();
}

impl World {
    async fn child(&self, given: &str, family: &str, sex: &str, received: DateTime<Utc>) -> intake::RecordedContact {
        let d: ContactDraft = serde_json::from_value(json!({
            "channel": "phone", "source_code": "6",
            "child": {"given_name": given, "family_name": family, "date_of_birth": "2012-05-01", "sex": sex, "postcode": "WK1 2AB"},
            "narrative": "Seen with older men outside the shops.", "received_at": received.to_rfc3339(),
            "call_type": "general_advice", "answers": {},
        }))
        .unwrap();
        intake::record_contact(&self.store, &self.screening, &self.advisor, Purpose::Triage, &d, received)
            .await
            .unwrap()
    }
}

/// Contacts from different agencies spell a child differently: once a `link dedupe` run has
/// trained a model, the matcher finds the child recorded under other details (the contact keeps
/// how sure it was and the child as it named them), so repeat contacts count across spellings.
/// Twins, and a child two recorded children match equally, are recorded apart.
#[tokio::test]
async fn a_child_named_differently_is_found_by_the_matcher_but_never_a_twin() {
    each(Config::default(), async |w| {
        let now = t0();
        let first = w.child("Jonathan", "Okafor", "M", now).await;
        let jonny = w.child("Jonny", "Okafor", "M", now + Duration::minutes(1)).await;
        // Without a model only the same name and date of birth join.
        assert!(jonny.new_child && jonny.child_id != first.child_id);

        store_link_model(&w.store).await;
        let jon = w.child("Jon", "Okafor", "M", now + Duration::minutes(2)).await;
        // Jonathan and Jonny are both sure matches for Jon: neither is guessed.
        assert!(jon.new_child, "two recorded children match: a new record, not a guess");

        let other_day = now + Duration::days(1);
        let named = w.child("Amarachi", "Eze", "F", other_day).await;
        let again = w.child("Amara", "Eze", "F", other_day + Duration::minutes(1)).await;
        assert!(!again.new_child && again.child_id == named.child_id, "a short form of the name joins");
        let m = again.child_match.clone().unwrap();
        assert!(m.probability_ppm >= 950_000, "{m:?}");
        assert_eq!(m.named.given_name.as_str(), "Amara");
        // Kept with the contact: the event says how the child was found and as whom.
        let events = w.store.contact_events(again.contact_id).await.unwrap();
        let Some(frontdoor_core::Event::ContactReceived { child_match: Some(kept), .. }) =
            events.iter().find(|e| e.kind() == "contact_received")
        else {
            panic!("no child match kept: {events:?}")
        };
        assert_eq!(kept, &m);
        // The exact name joins as before, with no match recorded.
        let exact = w.child("Amarachi", "Eze", "F", other_day + Duration::minutes(2)).await;
        assert!(exact.child_id == named.child_id && exact.child_match.is_none());
        assert_eq!(exact.alerts, ["repeat_contacts"], "the third contact about her, under two spellings");

        // A twin: same family, birthday and home, another given name and sex.
        let twin = w.child("Chidi", "Eze", "M", other_day + Duration::minutes(3)).await;
        assert!(twin.new_child && twin.child_match.is_none());
    })
    .await;
}

/// A contact moved to the other record of its child counts there for the sexual-health rule as
/// for the others, in the rule's window around the contact (not back from the day of the move):
/// a second emergency contraception, first recorded against another record of the child,
/// alerts the CSE team when it joins the first, however long after the duplicate is put right;
/// two a year and more apart do not.
#[tokio::test]
async fn a_moved_sexual_health_notification_counts_towards_the_repeat() {
    each(Config::default(), async |w| {
        let now = t0();
        let ec = Signal::SexualHealth { service: SexualHealthService::EmergencyContraception };
        let cfg = Config::default();
        let move_to = async |from: &intake::RecordedContact, to: &intake::RecordedContact, on| {
            assert_ne!(from.child_id, to.child_id, "recorded as another child");
            assert!(from.alerts.is_empty() && to.alerts.is_empty(), "{:?} {:?}", from.alerts, to.alerts);
            let child = to.child_id.to_string();
            let moved = intake::move_contact(&w.store, &cfg, &w.advisor, from.contact_id, &child, "one child", on);
            assert_eq!(moved.await.unwrap(), to.child_id);
            w.store.alerts_for_contact(from.contact_id).await.unwrap()
        };
        // The moved one is the later: the window back from it holds the first.
        let first = w.with_signal("Clinic", ec, now).await;
        let second = w.with_signal("Klinnic", ec, now + Duration::days(300)).await;
        let alerts = move_to(&second, &first, now + Duration::days(500)).await;
        let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["sexual_health"]);
        let health = &alerts[0];
        assert_eq!(health.child_id, first.child_id);
        assert!(health.reason.contains("emergency contraception 2 times"), "{}", health.reason);
        assert!(health.urgent && health.owner_role == "cse_worker", "{health:?}");
        // The moved one is the earlier: the window on from it holds the other.
        let earlier = w.with_signal("Harbour", ec, now).await;
        let later = w.with_signal("Harbouur", ec, now + Duration::days(200)).await;
        let kinds: Vec<String> =
            move_to(&earlier, &later, now + Duration::days(400)).await.into_iter().map(|a| a.kind).collect();
        assert_eq!(kinds, ["sexual_health"]);
        // A year and a day apart: no repeat, either way round.
        let apart = w.with_signal("Meadow", ec, now).await;
        let year_on = w.with_signal("Meaddow", ec, now + Duration::days(366)).await;
        assert!(move_to(&apart, &year_on, now + Duration::days(400)).await.is_empty());
    })
    .await;
}
