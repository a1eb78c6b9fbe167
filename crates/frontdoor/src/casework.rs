//! The demo's case work after intake: a few multi-agency enquiries answered by the police and
//! health practitioners, CSE cases moved along the pathway by the CSE team, and actions
//! assigned to partners, all through the same services as the pages and the API. The texts
//! are synthetic, written for the demo.

use anyhow::{Context, Result};
use chrono::Utc;
use frontdoor_core::pathway::{Assessment, Attendance, IndicatorScore, PlanAction, RiskLevel, SafetyPlan, Step};
use frontdoor_core::{Actor, DecisionOutcome};
use frontdoor_store::Store;
use frontdoor_web::Config;
use frontdoor_web::actions::{self, ActionDraft};
use frontdoor_web::enquiry::{self, ContributionDraft, EnquiryDraft};
use frontdoor_web::service;

async fn actor(store: &Store, username: &str) -> Result<Actor> {
    let u = store.user_by_username(username).await?.with_context(|| format!("demo user {username} missing"))?;
    Ok(service::actor_of(&u))
}

const POLICE_NOTES: [&str; 3] = [
    "Seen twice this month in a grey hatchback with two adult males near the retail park after 22:00. Vehicle registered to a hire company.",
    "Reported missing overnight on one occasion; found at an address in the town centre known to officers. Return interview declined.",
    "No police record held beyond the missing episode already reported to the front door.",
];

const HEALTH_NOTES: [&str; 3] = [
    "Attended the sexual health clinic once in the last three months with an older friend; given advice. No safeguarding referral made at the time.",
    "School nurse notes low mood and two missed appointments; GP registered, no recent attendance.",
    "Not known to the community health services beyond routine immunisations.",
];

/// Opens up to three enquiries on children the front door decided needed one, has the police
/// and health practitioners answer, and concludes the first.
async fn enquiries(store: &Store, cfg: &Config) -> Result<usize> {
    let lead = actor(store, "lead1").await?;
    let police = actor(store, "police.practitioner").await?;
    let health = actor(store, "health.practitioner").await?;
    let now = Utc::now();
    let mut opened = 0;
    for contact in store.recent_contacts(2_000).await? {
        if opened == 3 {
            break;
        }
        let Some(d) = store.decision(contact.id).await? else { continue };
        if d.outcome != DecisionOutcome::MultiAgencyEnquiry
            || !store.enquiries_of_child(contact.child_id).await?.is_empty()
        {
            continue;
        }
        let draft = EnquiryDraft {
            child_id: contact.child_id.to_string(),
            agencies: vec![police.agency_id.to_string(), health.agency_id.to_string()],
            question:
                "Complex need at the front door. What do you hold about this young person, their associates and any \
                       places or vehicles linked to them in the last six months?"
                    .into(),
            ..EnquiryDraft::default()
        };
        let id = enquiry::open_enquiry(store, &lead, &draft, cfg.enquiry_due_working_days, now).await?;
        let e = store.enquiry(id).await?.context("enquiry just opened")?;
        for (who, text, source) in [
            (&police, POLICE_NOTES[opened], "Police national database and local intelligence"),
            (&health, HEALTH_NOTES[opened], "Trust electronic patient record"),
        ] {
            let c = ContributionDraft { text: text.into(), source: source.into(), ..ContributionDraft::default() };
            enquiry::contribute(store, who, &e, &c, now).await?;
        }
        opened += 1;
    }
    Ok(opened)
}

fn attendance(agencies: &[frontdoor_core::AgencyId]) -> Vec<Attendance> {
    agencies.iter().map(|a| Attendance { agency: *a, attended: true }).collect()
}

/// Allocates most CSE cases and moves some along the pathway, so the board shows each stage.
async fn pathway(store: &Store, cfg: &Config) -> Result<usize> {
    let manager = actor(store, "cse.manager").await?;
    let workers = [actor(store, "cse.worker1").await?, actor(store, "cse.worker2").await?];
    let police = actor(store, "police.practitioner").await?;
    let health = actor(store, "health.practitioner").await?;
    let present = attendance(&[manager.agency_id, police.agency_id, health.agency_id]);
    let weights = &cfg.caseload;
    let mut moved = 0;
    for (i, c) in store.cse_cases(false, 200).await?.into_iter().enumerate() {
        // Every fifth case waits for allocation.
        if i % 5 == 4 {
            continue;
        }
        let worker = &workers[i % 2];
        let now = Utc::now();
        let load = frontdoor_web::cse::caseload(store, weights, worker.user_id, None).await?;
        if matches!(weights.check(load, None), frontdoor_core::pathway::Allocation::Breach { .. }) {
            continue;
        }
        let steps = |level: RiskLevel| {
            vec![
                Step::Assess(Assessment {
                    indicators: vec![
                        IndicatorScore { group: "missing".into(), score: 2 },
                        IndicatorScore { group: "older_associate".into(), score: 2 },
                        IndicatorScore { group: "vehicles_places".into(), score: 1 },
                    ],
                    young_person_views: "Says the adults are friends who look after her.".into(),
                    parents_views: "Worried about late returns and new clothes.".into(),
                    needs: vec!["camhs".into(), "sexual_health".into()],
                    disclosure: false,
                    learning_disability: false,
                    proposed_level: level,
                    summary: "Missing episodes with older associates and a vehicle.".into(),
                }),
                Step::Panel { level, attendance: present.clone(), notes: "Agreed by the multi-agency panel.".into() },
            ]
        };
        if i % 5 == 2
            && let Some(gp) = store.agencies().await?.into_iter().find(|a| a.name.contains("GP"))
        {
            // The GP practice is known, so the allocation below tells it (F15).
            let child = store.child(c.child_id).await?.context("child")?;
            let settings = frontdoor_web::cse::SettingsInput { gp_practice: gp.id.to_string(), ..Default::default() };
            frontdoor_web::cse::record_settings(store, &manager, &child, &settings, now).await?;
        }
        let mut path = vec![Step::Allocate { worker: worker.user_id, override_reason: None }];
        match i % 5 {
            1 => path.extend(steps(RiskLevel::Low).into_iter().take(1)),
            2 => {
                path.extend(steps(RiskLevel::MediumHigh));
                path.push(Step::StrategyMeeting {
                    plan: SafetyPlan {
                        actions: vec![PlanAction {
                            what: "Disruption visit and abduction notice".into(),
                            owner: "Police".into(),
                            due: (now + chrono::Duration::days(14)).date_naive(),
                        }],
                        young_person_involved: true,
                        parents_involved: true,
                        not_involved_reason: String::new(),
                    },
                    attendance: present.clone(),
                });
            }
            3 => path.extend(steps(RiskLevel::LowMedium)),
            _ => {}
        }
        for step in path {
            let record = store.cse_case(c.id).await?.context("case")?;
            let by = if matches!(step, Step::Allocate { .. }) { &manager } else { worker };
            frontdoor_web::cse::take_step(store, by, &record, step, weights, Utc::now()).await?;
        }
        if i % 5 == 2 {
            let draft = ActionDraft {
                child_id: c.child_id.to_string(),
                case_id: c.id.to_string(),
                what: "Disruption visit to the address; serve a child abduction warning notice".into(),
                agency: police.agency_id.to_string(),
                assignee: police.user_id.to_string(),
                due: (Utc::now() + chrono::Duration::days(14)).date_naive().to_string(),
                ..ActionDraft::default()
            };
            actions::assign(store, &manager, &draft, Utc::now()).await?;
            if i == 2 {
                // One action the police let slip: the sweep finds it overdue when the server
                // starts, alerts the manager who set it and tells the police's safeguarding lead.
                let set = Utc::now() - chrono::Duration::days(10);
                let late = ActionDraft {
                    what: "Share the intelligence log for the address with the CSE worker".into(),
                    assignee: String::new(),
                    due: (set + chrono::Duration::days(5)).date_naive().to_string(),
                    ..draft
                };
                actions::assign(store, &manager, &late, set).await?;
            }
            if i == 7
                && let Some(college) =
                    store.agencies().await?.into_iter().find(|a| a.kind == frontdoor_core::AgencyKind::Education)
            {
                // She leaves her school for the college: the college is told, naming her worker (F15).
                if let Some(school) =
                    store.agencies().await?.into_iter().find(|a| a.kind == frontdoor_core::AgencyKind::School)
                {
                    let child = store.child(c.child_id).await?.context("child")?;
                    let at_school = frontdoor_web::cse::SettingsInput {
                        education_setting: school.id.to_string(),
                        ..Default::default()
                    };
                    frontdoor_web::cse::record_settings(store, &manager, &child, &at_school, Utc::now()).await?;
                }
                let child = store.child(c.child_id).await?.context("child")?;
                let settings = frontdoor_web::cse::SettingsInput {
                    education_setting: college.id.to_string(),
                    ..Default::default()
                };
                frontdoor_web::cse::record_settings(store, &manager, &child, &settings, Utc::now()).await?;
            }
        }
        moved += 1;
    }
    Ok(moved)
}

/// The demo's case work; returns (enquiries opened, CSE cases moved on).
pub async fn seed(store: &Store, cfg: &Config) -> Result<(usize, usize)> {
    Ok((enquiries(store, cfg).await?, pathway(store, cfg).await?))
}
