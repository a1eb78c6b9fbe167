//! The front door's intake and triage services (SPEC F1–F4): recording a contact with its
//! screening, the protocol's verdict and the alerts it raises, all in one commit; the decision on
//! a contact; alert transitions; flags on a child's record; and the sweep that escalates
//! unacknowledged urgent alerts and surfaces overdue decisions.
//!
//! Knows no HTTP. Callers check access with `policy` first.

use crate::feeds::{FeedKind, FeedRejection, check_protocols, parse_feed};
use crate::notify;
use crate::screening::{DEFAULT_CALL_TYPE, Screening};
use crate::service::{ServiceError, map_conflicts, meta};
use chrono::{DateTime, Duration, Utc};
use frontdoor_core::contact::{ChildSubject, FieldError, reference_from_random};
use frontdoor_core::triage::one_working_day_after;
use frontdoor_core::{
    Actor, AlertId, AlertState, ChildFlag, ChildId, ChildMatch, ContactDraft, ContactId, DecisionOutcome, Event,
    IndicatorMention, NewContact, Purpose, Role, SexualHealthService, Signal,
};
use frontdoor_link::{Guard, Person};
use frontdoor_screen::protocol::{Answer, EvalInput, IndicatorHit, Protocol};
use frontdoor_store::{Expected, HistoryWindows, Meta, NewEvent, OutboxMessage, Store};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct RecordedContact {
    pub contact_id: ContactId,
    pub reference: String,
    pub child_id: ChildId,
    pub new_child: bool,
    /// Set when the matcher (F5), not the same name and date of birth, found the child.
    pub child_match: Option<ChildMatch>,
    pub level_of_need: u8,
    /// The protocol followed.
    pub call_type: String,
    /// Alert kinds raised by this contact.
    pub alerts: Vec<String>,
}

/// Record a contact, as [`record_contact_with`] without a feed signal.
pub async fn record_contact(
    store: &Store,
    screening: &Screening,
    actor: &Actor,
    purpose: Purpose,
    draft: &ContactDraft,
    now: DateTime<Utc>,
) -> Result<RecordedContact, ServiceError> {
    record_contact_with(store, screening, actor, purpose, draft, None, now).await
}

/// Record a contact: the child (found or first recorded), the contact, what screening found in
/// its narrative, the protocol's verdict, every alert it raises and the notifications those
/// need, atomically. Returns only after all of it is durably committed; on any invalid field,
/// nothing is written and every problem is named.
///
/// `signal` is what a machine feed brings (a missing episode, days of absence, a sexual-health
/// service); without one, the call type implies it (`missing_child` → a missing episode).
pub async fn record_contact_with(
    store: &Store,
    screening: &Screening,
    actor: &Actor,
    purpose: Purpose,
    draft: &ContactDraft,
    signal: Option<Signal>,
    now: DateTime<Utc>,
) -> Result<RecordedContact, ServiceError> {
    let m = meta(Some(actor), purpose.as_str(), now);
    let by = Recorder { meta: m, owner_agency: actor.agency_id, join_by_name: true, follow_up: None };
    record_as(store, screening, by, draft, signal, now).await
}

/// Record a contact raised on the public site: nobody signed in made it, so the event names no
/// user, and `owner_agency` (the front door's children's services) owns it. Without a family
/// name (`NOT_KNOWN`) the child is recorded anew rather than joined by name to another child
/// who happens to share the first name; the advisor links them on the record check.
/// `follow_up_hash`: the hash of an anonymous sender's follow-up code, kept with the contact in
/// the same commit.
pub async fn record_online(
    store: &Store,
    screening: &Screening,
    owner_agency: frontdoor_core::AgencyId,
    draft: &ContactDraft,
    follow_up_hash: Option<String>,
    now: DateTime<Utc>,
) -> Result<RecordedContact, ServiceError> {
    let m = frontdoor_store::Meta {
        actor_user: None,
        actor_agency: Some(owner_agency),
        purpose: Purpose::Referral.as_str().to_owned(),
        at: now,
    };
    let join_by_name = draft.child.family_name.trim() != NOT_KNOWN;
    let by = Recorder { meta: m, owner_agency, join_by_name, follow_up: follow_up_hash };
    record_as(store, screening, by, draft, None, now).await
}

/// The family name an online concern records when the sender does not know it.
pub const NOT_KNOWN: &str = "(not known)";

/// Who records a contact: the events' meta, the agency that owns the record, and whether the
/// child may be joined by name to one already recorded.
struct Recorder {
    meta: frontdoor_store::Meta,
    owner_agency: frontdoor_core::AgencyId,
    join_by_name: bool,
    /// An anonymous online sender's follow-up code hash.
    follow_up: Option<String>,
}

async fn record_as(
    store: &Store,
    screening: &Screening,
    by: Recorder,
    draft: &ContactDraft,
    signal: Option<Signal>,
    now: DateTime<Utc>,
) -> Result<RecordedContact, ServiceError> {
    let Recorder { meta: m, owner_agency, join_by_name, follow_up } = by;
    let (contact, protocol, answers) = check(screening, draft, now).map_err(ServiceError::Invalid)?;
    let mut events = Vec::with_capacity(4);
    let existing = if join_by_name { existing_child(store, screening, &contact.child).await? } else { None };
    let child_match = existing.and_then(|(_, p, moved_from)| {
        let p = p.or(moved_from.map(|_| 1.0))?;
        Some(ChildMatch {
            probability_ppm: (p * 1e6).round().clamp(0.0, 1e6) as u32,
            named: contact.child.clone(),
            moved_from,
        })
    });
    let (child_id, new_child) = match existing {
        Some((id, _, _)) => (id, false),
        None => {
            let child_id = ChildId::new();
            events.push(NewEvent {
                event: Event::ChildRecorded { child_id, subject: contact.child.clone() },
                expected: Expected::NoStream,
                meta: m.clone(),
            });
            (child_id, true)
        }
    };

    let indicators = screening.screen(contact.narrative.as_str());
    let age = contact.child.date_of_birth.map(|d| d.age_on(contact.received_at.date_naive()));
    let evaluation =
        protocol.evaluate(&EvalInput { answers: answers.clone(), indicators: hits(&indicators), child_age: age });
    let signal = signal.or_else(|| implied_signal(protocol, &answers));

    // What the alert rules need to know about the child's history.
    let cfg = &screening.cfg;
    let history = if new_child {
        History::default()
    } else {
        let h = store.child_history(child_id, &HistoryWindows::since(contact.received_at, window_days(cfg))).await?;
        History::of(h, [])
    };
    let open_case = history.flags.contains(&ChildFlag::OpenCase);
    let decision_due = one_working_day_after(contact.received_at, &[]);
    let specs = derive_alerts(
        &AlertInput {
            level: evaluation.level,
            protocol_alerts: &evaluation.alerts,
            fired: &evaluation.explanation,
            signal,
            history: &history,
        },
        cfg,
    );

    let contact_id = ContactId::new();
    let reference = reference_from_random(rand::random::<u64>());
    events.push(NewEvent {
        event: Event::ContactReceived {
            contact_id,
            reference: reference.clone(),
            child_id,
            channel: contact.channel,
            source_code: contact.source_code,
            narrative: contact.narrative,
            received_at: contact.received_at,
            owner_agency,
            anonymous: contact.anonymous,
            reporter: contact.reporter,
            child_match: child_match.clone(),
        },
        expected: Expected::NoStream,
        meta: m.clone(),
    });
    if let Some(code_hash) = follow_up {
        events.push(NewEvent {
            event: Event::ContactFollowUpIssued { contact_id, code_hash },
            expected: Expected::Any,
            meta: m.clone(),
        });
    }
    events.push(NewEvent {
        event: Event::ContactScreened { contact_id, lexicon_version: screening.version().to_owned(), indicators },
        expected: Expected::Any,
        meta: m.clone(),
    });
    events.push(NewEvent {
        event: Event::ContactAssessed {
            contact_id,
            child_id,
            call_type: protocol.id().to_owned(),
            answers: serde_json::to_value(&answers).map_err(|e| ServiceError::Internal(e.to_string()))?,
            level_of_need: evaluation.level,
            indicators_added: evaluation.indicators_added.clone(),
            manager_decision: evaluation.manager_decision,
            explanation: evaluation.explanation.clone(),
            decision_due,
            open_case,
            signal,
        },
        expected: Expected::Any,
        meta: m.clone(),
    });
    let mut outbox = Vec::new();
    let mut notify_kinds = Vec::new();
    for spec in &specs {
        events.push(spec.raised(cfg, (child_id, contact_id), spec.reason.clone(), (now, decision_due), &m));
        if spec.urgent || spec.kind == "threshold_reached" {
            notify_kinds.push(spec.kind.replace('_', " "));
        }
    }
    // Level 3 or 4, or anything urgent: the safeguarding advisors hear at once (no personal
    // details in the e-mail, only the reference and a link).
    if !notify_kinds.is_empty() && !cfg.notify_safeguarding_email.is_empty() {
        outbox.push(notify::email(
            cfg,
            &cfg.notify_safeguarding_email,
            &reference,
            &notify_kinds.join(", "),
            &format!("/contacts/{contact_id}"),
            now,
        ));
    }
    store.append(events, vec![], outbox).await.map_err(map_conflicts)?;
    Ok(RecordedContact {
        contact_id,
        reference,
        child_id,
        new_child,
        child_match,
        level_of_need: evaluation.level,
        call_type: protocol.id().to_owned(),
        alerts: specs.iter().map(|s| s.kind.to_owned()).collect(),
    })
}

/// The recorded child a contact names, if any: the one with the same name and date of birth;
/// or else the one child born that day whom the matcher (F5) is sure of, with its probability.
/// Sure means at or above the auto-link threshold under the last `link dedupe` run's model,
/// with no guard: possible twins and a record without a given name are never joined (the
/// child is recorded apart), and neither is a child when two recorded children are sure
/// matches. Without a date of birth or a trained model, only the same name and date of birth
/// join. Children born on another day are not weighed, so a slip in the date of birth still
/// records a new child. The contact page's record check lists the children it did not join.
/// A record whose contacts a person moved to another child's stands for that child (the third
/// answer: the record the exact key found).
async fn existing_child(
    store: &Store,
    screening: &Screening,
    child: &ChildSubject,
) -> Result<Option<(ChildId, Option<f64>, Option<ChildId>)>, ServiceError> {
    if let Some((id, moved_from)) = store.child_by_match_key(&child.match_key()).await? {
        return Ok(Some((id, None, moved_from)));
    }
    let Some(dob) = child.date_of_birth else { return Ok(None) };
    let Some(model) = crate::records::stored_model(store).await? else {
        return Ok(None);
    };
    let settings = screening.link.with_model(&model);
    let probe = Person {
        given_name: Some(child.given_name.as_str().to_owned()),
        family_name: Some(child.family_name.as_str().to_owned()),
        date_of_birth: Some(dob.date()),
        sex: child.sex.map(|s| s.as_str().to_owned()),
        postcode: child.postcode.as_ref().map(|p| p.as_str().to_owned()),
        ..Person::default()
    };
    let same_day = crate::records::same_day_children(store, &screening.nicknames, &model, &probe).await?;
    let mut sure = same_day
        .into_iter()
        .filter(|(_, e, guard)| *guard == Guard::None && e.probability >= settings.auto_link)
        .map(|(c, e, _)| (c.id, Some(e.probability), None));
    Ok(match (sure.next(), sure.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    })
}

/// A draft that passed [`check`]: the contact, its protocol and the parsed answers.
pub type Checked<'s> = (NewContact, &'s Protocol, BTreeMap<String, Answer>);

/// Everything about a draft that can be checked without the database: its fields, its call
/// type and the answers to that protocol's questions. Every problem is named.
pub fn check<'s>(
    screening: &'s Screening,
    draft: &ContactDraft,
    now: DateTime<Utc>,
) -> Result<Checked<'s>, Vec<FieldError>> {
    let parsed = draft.parse(now);
    let call_type = draft.call_type.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or(DEFAULT_CALL_TYPE);
    let protocol = screening.protocol(call_type);
    let mut errors = parsed.as_ref().err().map(|e| e.0.clone()).unwrap_or_default();
    let answers = match protocol {
        None => {
            errors.push(FieldError {
                field: "call_type".into(),
                message: format!(
                    "is not a known call type (expected one of {})",
                    screening.protocols().ids().collect::<Vec<_>>().join(", ")
                ),
            });
            BTreeMap::new()
        }
        Some(p) => {
            let raw = draft.answers.clone().unwrap_or_else(|| serde_json::json!({}));
            match p.parse_answers(&raw) {
                Ok(a) => a,
                Err(mut e) => {
                    errors.append(&mut e);
                    BTreeMap::new()
                }
            }
        }
    };
    match (parsed, protocol) {
        (Ok(c), Some(p)) if errors.is_empty() => Ok((c, p, answers)),
        _ => Err(errors),
    }
}

/// Screening's mentions as the rules see them: negated and hypothetical mentions carry no weight.
fn hits(indicators: &[IndicatorMention]) -> Vec<IndicatorHit> {
    indicators
        .iter()
        .map(|m| IndicatorHit {
            group: m.group.clone(),
            term: m.term.clone(),
            weight: m.weight,
            negated: !m.is_positive(),
        })
        .collect()
}

/// The signal a call type carries without a feed: a missing-child call is a missing episode; a
/// school-absence call with days of absence answered is an absence of that many days.
fn implied_signal(protocol: &Protocol, answers: &BTreeMap<String, Answer>) -> Option<Signal> {
    match protocol.id() {
        "missing_child" => Some(Signal::MissingEpisode),
        "school_absence" => {
            let days = ["days_unauthorised", "days_continuous"]
                .iter()
                .filter_map(|q| match answers.get(*q) {
                    Some(Answer::Number(n)) if *n >= 0.0 => Some(n.min(f64::from(u32::MAX)) as u32),
                    _ => None,
                })
                .max()?;
            Some(Signal::SchoolAbsence { days_absent: days })
        }
        _ => None,
    }
}

/// Alert kinds raised at most once per child while one is unresolved (open or acknowledged):
/// they describe the child's situation rather than one contact.
pub const DEDUPLICATED: [&str; 5] =
    ["repeat_contacts", "repeat_missing", "sexual_health", "protection_flag", "known_association"];

/// The child's history as the alert rules count it, each count *before* this contact.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub contacts_in_window: i64,
    pub missing_in_window: i64,
    pub emergency_contraception_in_window: i64,
    pub condom_card_in_window: i64,
    pub flags: Vec<ChildFlag>,
    /// Kinds in [`DEDUPLICATED`] with an unresolved alert about the child.
    pub unresolved: Vec<String>,
}

impl History {
    /// The stored history as the rules read it, with alert kinds also held back by `unresolved`
    /// (those on a contact that is moving).
    fn of(h: frontdoor_store::ChildHistory, unresolved: impl IntoIterator<Item = String>) -> History {
        let mut held = h.unresolved_alerts;
        held.extend(unresolved);
        held.retain(|k| DEDUPLICATED.contains(&k.as_str()));
        History {
            contacts_in_window: h.contacts,
            missing_in_window: h.missing_episodes,
            emergency_contraception_in_window: h.emergency_contraception,
            condom_card_in_window: h.condom_card,
            flags: h.flags,
            unresolved: held,
        }
    }
}

pub struct AlertInput<'a> {
    pub level: u8,
    /// Alert kinds the protocol's rules raised.
    pub protocol_alerts: &'a [String],
    /// The explanation lines of the rules that fired.
    pub fired: &'a [String],
    pub signal: Option<Signal>,
    pub history: &'a History,
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSpec {
    pub kind: &'static str,
    pub urgent: bool,
    pub owner: Role,
    pub reason: String,
}

impl AlertSpec {
    /// The event raising this alert about a child from a contact, with `reason`: due after the
    /// escalation delay when urgent, else at the decision's due time.
    fn raised(
        &self,
        cfg: &crate::Config,
        (child_id, contact_id): (ChildId, ContactId),
        reason: String,
        (now, decision_due): (DateTime<Utc>, DateTime<Utc>),
        meta: &Meta,
    ) -> NewEvent {
        let due_at =
            if self.urgent { now + Duration::minutes(i64::from(cfg.escalate_after_minutes)) } else { decision_due };
        NewEvent {
            event: Event::AlertRaised {
                alert_id: AlertId::new(),
                alert_kind: self.kind.to_owned(),
                child_id,
                contact_id: Some(contact_id),
                urgent: self.urgent,
                owner_role: self.owner,
                due_at,
                reason,
                for_user: None,
            },
            expected: Expected::NoStream,
            meta: meta.clone(),
        }
    }
}

/// The alert rules (F4), pure: what this contact raises given the child's history. Each kind at
/// most once per contact; the kinds in [`DEDUPLICATED`] not while one is unresolved.
pub fn derive_alerts(input: &AlertInput, cfg: &crate::Config) -> Vec<AlertSpec> {
    let h = input.history;
    let mut out: Vec<AlertSpec> = Vec::new();
    let mut raise = |kind: &'static str, urgent: bool, owner: Role, reason: String| {
        let dedup = DEDUPLICATED.contains(&kind) && h.unresolved.iter().any(|k| k == kind);
        if !dedup && !out.iter().any(|a| a.kind == kind) {
            out.push(AlertSpec { kind, urgent, owner, reason });
        }
    };
    let contacts = h.contacts_in_window + 1;
    if contacts >= i64::from(cfg.repeat_contacts_threshold) {
        // The seed: "three records of the same name" alert the group specialist.
        raise(
            "repeat_contacts",
            false,
            Role::SafeguardingLead,
            format!("contact number {contacts} about this child within {} days", cfg.repeat_contacts_window_days),
        );
    }
    match input.signal {
        Some(Signal::MissingEpisode) => {
            raise("missing_episode", false, Role::FrontDoorAdvisor, "a missing episode was reported".into());
            let episodes = h.missing_in_window + 1;
            if episodes >= i64::from(cfg.repeat_missing_threshold) {
                raise(
                    "repeat_missing",
                    true,
                    Role::SafeguardingLead,
                    format!("missing episode number {episodes} within {} days", cfg.repeat_missing_window_days),
                );
            }
        }
        Some(Signal::SchoolAbsence { days_absent }) if days_absent >= cfg.school_absence_days => {
            raise(
                "school_absence",
                false,
                Role::FrontDoorAdvisor,
                format!("{days_absent} days absent from school (alert at {})", cfg.school_absence_days),
            );
        }
        Some(Signal::SexualHealth { service: SexualHealthService::EmergencyContraception }) => {
            let n = h.emergency_contraception_in_window + 1;
            if n >= i64::from(cfg.emergency_contraception_repeat) {
                raise(
                    "sexual_health",
                    true,
                    Role::CseWorker,
                    format!("emergency contraception {n} times within {} days", cfg.sexual_health_window_days),
                );
            }
        }
        Some(Signal::SexualHealth { service: SexualHealthService::CondomCard }) => {
            let n = h.condom_card_in_window + 1;
            if n >= i64::from(cfg.condom_card_uses) {
                raise(
                    "sexual_health",
                    true,
                    Role::CseWorker,
                    format!("condom card used {n} times within {} days", cfg.sexual_health_window_days),
                );
            }
        }
        _ => {}
    }
    let protection: Vec<&str> = h
        .flags
        .iter()
        .filter(|f| matches!(f, ChildFlag::ChildProtectionPlan | ChildFlag::LookedAfter))
        .map(|f| f.label())
        .collect();
    if !protection.is_empty() {
        raise(
            "protection_flag",
            false,
            Role::FrontDoorAdvisor,
            format!("the child's record shows: {}", protection.join(", ")),
        );
    }
    let association: Vec<&str> = h
        .flags
        .iter()
        .filter(|f| matches!(f, ChildFlag::OpenCseCase | ChildFlag::FlaggedAssociation))
        .map(|f| f.label())
        .collect();
    if !association.is_empty() {
        raise(
            "known_association",
            true,
            Role::CseWorker,
            format!("the child's record shows: {}", association.join(", ")),
        );
    }
    if input.level >= 3 {
        // Complex or acute: the safeguarding advisors review the case.
        raise(
            "threshold_reached",
            input.level >= 4,
            Role::SafeguardingLead,
            format!("level of need {} ({})", input.level, frontdoor_screen::protocol::level_name(input.level)),
        );
    }
    // Whatever else the protocol's rules raised, with the rule's own explanation.
    for kind in input.protocol_alerts {
        let Some(kind) = frontdoor_screen::protocol::ALERT_KINDS.iter().copied().find(|k| k == kind) else { continue };
        let reason = input
            .fired
            .iter()
            .find(|line| line.contains(&format!("alert {kind} raised")))
            .cloned()
            .unwrap_or_else(|| "raised by the protocol's rules".to_owned());
        let urgent = matches!(kind, "police_notification" | "repeat_missing" | "known_association");
        let owner = match kind {
            "known_association" | "sexual_health" => Role::CseWorker,
            "repeat_missing" | "police_notification" => Role::SafeguardingLead,
            _ => Role::FrontDoorAdvisor,
        };
        raise(kind, urgent, owner, reason);
    }
    out
}

/// The team an unacknowledged urgent alert escalates to.
pub fn escalation_role(owner: &str) -> Role {
    match owner {
        "cse_worker" => Role::CseManager,
        _ => Role::SafeguardingLead,
    }
}

// ---- machine feeds --------------------------------------------------------------------------

/// Why a feed file was not (wholly) imported.
#[derive(Debug)]
pub enum FeedImportError {
    /// Bad rows: nothing was written. Every problem, by line and column.
    Rejected(Vec<FeedRejection>),
    /// The file was good but the store failed after `written` rows (the first ones, in file
    /// order, each durably recorded): send the rest again.
    Interrupted { written: Vec<(usize, RecordedContact)>, error: ServiceError },
}

/// Import a machine feed file: police missing-person, school absence, helpline or sexual-health
/// notifications, each row a contact (with its feed signal for the alert rules), recorded as
/// `actor` (whose agency owns them). All-or-nothing for bad input: every row is parsed and
/// checked against the protocols before any is written, and one bad row refuses the file.
/// Rows are then recorded in file order, so alert counts within one file are right (a third
/// missing episode in the file raises `repeat_missing`).
pub async fn import_feed(
    store: &Store,
    screening: &Screening,
    actor: &Actor,
    purpose: Purpose,
    kind: FeedKind,
    csv: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(usize, RecordedContact)>, FeedImportError> {
    let rows = parse_feed(kind, csv, now).map_err(FeedImportError::Rejected)?;
    check_protocols(kind, &rows, screening.protocols()).map_err(FeedImportError::Rejected)?;
    // Whatever else intake would refuse, refuse now, before anything is written.
    let mut rejections = Vec::new();
    for row in &rows {
        if let Err(errors) = check(screening, &row.draft, now) {
            rejections.extend(errors.into_iter().map(|e| FeedRejection {
                line: row.line,
                column: e.field.trim_start_matches("child.").to_owned(),
                message: e.message,
            }));
        }
    }
    if !rejections.is_empty() {
        return Err(FeedImportError::Rejected(rejections));
    }
    let mut written = Vec::with_capacity(rows.len());
    for row in &rows {
        match record_contact_with(store, screening, actor, purpose, &row.draft, row.facts.signal(), now).await {
            Ok(r) => written.push((row.line, r)),
            Err(error) => return Err(FeedImportError::Interrupted { written, error }),
        }
    }
    Ok(written)
}

// ---- decisions -------------------------------------------------------------------------------

/// Record the front door's decision on a contact, with reasons, as `actor`. A contact is decided
/// once; an open `decision_overdue` alert on it is actioned in the same commit.
pub async fn decide_contact(
    store: &Store,
    actor: &Actor,
    contact_id: ContactId,
    outcome: &str,
    reasons: &str,
    now: DateTime<Utc>,
) -> Result<DecisionOutcome, ServiceError> {
    let mut errors = Vec::new();
    let parsed = DecisionOutcome::parse(outcome);
    if parsed.is_none() {
        errors.push(FieldError {
            field: "outcome".into(),
            message: format!("choose one of {}", DecisionOutcome::expected()),
        });
    }
    let reasons = required_text(&mut errors, "reasons", reasons, 5_000, "say why: the reasons are part of the record");
    let Some(outcome) = parsed.filter(|_| errors.is_empty()) else { return Err(ServiceError::Invalid(errors)) };
    let contact = store.contact(contact_id).await?.ok_or_else(|| ServiceError::NotFound("contact".into()))?;
    if store.decision(contact_id).await?.is_some() {
        return Err(ServiceError::Conflict("this contact has already been decided".into()));
    }
    let m = meta(Some(actor), Purpose::Triage.as_str(), now);
    let mut events = vec![NewEvent {
        event: Event::ContactDecided { contact_id, child_id: contact.child_id, outcome, reasons: reasons.to_owned() },
        expected: Expected::Any,
        meta: m.clone(),
    }];
    for alert in store.alerts_for_contact(contact_id).await? {
        if alert.kind == "decision_overdue" && !alert.state.is_closed() {
            events.extend(transition_events(&alert, AlertAction::Action("decision recorded".into()), &m));
        }
    }
    if outcome == DecisionOutcome::CsePathway {
        let reason = format!("front-door decision on contact {}: {reasons}", contact.reference);
        events.extend(
            crate::cse::referral_events_unless_open(store, contact.child_id, Some(contact_id), None, &reason, &m)
                .await?,
        );
    }
    store.append(events, vec![], vec![]).await.map_err(map_conflicts)?;
    Ok(outcome)
}

/// `text` trimmed; a problem named for `field` when it is empty (`missing` says what to give) or
/// longer than `max` characters.
fn required_text<'t>(errors: &mut Vec<FieldError>, field: &str, text: &'t str, max: usize, missing: &str) -> &'t str {
    let text = text.trim();
    if text.is_empty() {
        errors.push(FieldError { field: field.into(), message: missing.into() });
    } else if text.chars().count() > max {
        let max = max.to_string();
        // 5000 → "5,000", as the other messages write it.
        let grouped = if max.len() > 3 { format!("{},{}", &max[..max.len() - 3], &max[max.len() - 3..]) } else { max };
        errors.push(FieldError { field: field.into(), message: format!("must be at most {grouped} characters") });
    }
    text
}

/// Moves a contact to another record of the same child: the child was recorded twice (a slip in
/// the name or date of birth, two contacts at once), and the record check listed the other. The
/// contact's assessment, decision, alerts and chronology entries follow it, so the child's history
/// (and what the alert rules count next) is whole again; both records keep the move. Moving it
/// back is another move. A contact that referred its child to the CSE pathway is not moved: the
/// case belongs to that record.
pub async fn move_contact(
    store: &Store,
    cfg: &crate::Config,
    actor: &Actor,
    contact_id: ContactId,
    to_child: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ChildId, ServiceError> {
    let mut errors = Vec::new();
    let to = to_child.trim().parse::<ChildId>().ok();
    if to.is_none() {
        errors.push(FieldError {
            field: "to_child".into(),
            message: format!("{:?} is not a child's record: choose the child to move the contact to", to_child.trim()),
        });
    }
    let reason = required_text(
        &mut errors,
        "move_reason",
        reason,
        2_000,
        "say why they are the same child: the reason is kept on both records",
    );
    let Some(to) = to.filter(|_| errors.is_empty()) else { return Err(ServiceError::Invalid(errors)) };
    let contact = store.contact(contact_id).await?.ok_or_else(|| ServiceError::NotFound("contact".into()))?;
    let invalid =
        |message: &str| ServiceError::Invalid(vec![FieldError { field: "to_child".into(), message: message.into() }]);
    if to == contact.child_id {
        return Err(invalid("the contact is already on this child's record"));
    }
    let Some(target) = store.child(to).await? else { return Err(invalid("no child recorded here has this id")) };
    // A guard against a wrong id: one child's two records name the same birthday, or one a slip
    // from the other (or one has none).
    let day = |d: &Option<String>| d.as_deref().and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let current = store.child(contact.child_id).await?;
    if let (Some(here), Some(there)) =
        (current.as_ref().and_then(|c| day(&c.date_of_birth)), day(&target.date_of_birth))
        && here != there
        && !frontdoor_link::compare::slipped_dates(here, chrono::NaiveDate::MIN, chrono::NaiveDate::MAX)
            .contains(&there)
    {
        return Err(invalid(&format!(
            "that child was born on {there}, this one on {here}: not a slip of one date, so not the same child"
        )));
    }
    let cases = store.cse_cases_of_child(contact.child_id).await?;
    if let Some(case) = cases.iter().find(|c| c.contact_id == Some(contact_id)) {
        return Err(ServiceError::Conflict(format!(
            "this contact referred the child to the CSE pathway (case {}), which belongs to this record; \
             record a new contact on the other child instead",
            case.id
        )));
    }
    let event = Event::ContactMoved { contact_id, from: contact.child_id, to, reason: reason.to_owned() };
    let m = meta(Some(actor), Purpose::Triage.as_str(), now);
    let mut events = vec![NewEvent { event, expected: Expected::Any, meta: m.clone() }];
    // One child's history, whole again, may cross a threshold neither record did alone. The
    // alerts belong to the moved contact, so they follow it if it moves back.
    let specs = history_alerts_after_move(store, cfg, &contact, to).await?;
    let decision_due = one_working_day_after(now, &[]);
    for spec in &specs {
        let reason = format!(
            "{}, counted when contact {} joined this record from another record of the same child",
            spec.reason, contact.reference
        );
        events.push(spec.raised(cfg, (to, contact_id), reason, (now, decision_due), &m));
    }
    let urgent: Vec<String> = specs.iter().filter(|s| s.urgent).map(|s| s.kind.replace('_', " ")).collect();
    let mut outbox = Vec::new();
    if !urgent.is_empty() && !cfg.notify_safeguarding_email.is_empty() {
        outbox.push(notify::email(
            cfg,
            &cfg.notify_safeguarding_email,
            &contact.reference,
            &urgent.join(", "),
            &format!("/contacts/{contact_id}"),
            now,
        ));
    }
    store.append(events, vec![], outbox).await.map_err(map_conflicts)?;
    Ok(to)
}

/// The alert kinds a child's history decides, worked out again when a contact moves to another
/// record of its child.
const HISTORY_KINDS: [&str; 3] = ["repeat_contacts", "repeat_missing", "sexual_health"];

/// The history rules ([`HISTORY_KINDS`]: repeat contacts, repeat missing episodes, repeated
/// sexual-health signals) worked out for `to` as if `contact` had been recorded there: in each
/// rule's window back from the contact, and in the window on from it (a later contact there
/// would have counted it). An unresolved alert of the kind on `to` or on the contact itself
/// holds a new one back.
async fn history_alerts_after_move(
    store: &Store,
    cfg: &crate::Config,
    contact: &frontdoor_store::ContactRecord,
    to: ChildId,
) -> Result<Vec<AlertSpec>, ServiceError> {
    let at = contact.received_at;
    let days = window_days(cfg);
    let span = |d: u32| Duration::days(i64::from(d));
    let (before, after) = (|d: u32| (at - span(d), at), |d: u32| (at, at + span(d)));
    let windows = [
        HistoryWindows { contacts: before(days[0]), missing: before(days[1]), sexual_health: before(days[2]) },
        HistoryWindows { contacts: after(days[0]), missing: after(days[1]), sexual_health: after(days[2]) },
    ];
    let own: Vec<String> = store
        .alerts_for_contact(contact.id)
        .await?
        .into_iter()
        .filter(|a| !a.state.is_closed())
        .map(|a| a.kind)
        .collect();
    let signal = store.contact_events(contact.id).await?.into_iter().find_map(|e| match e {
        Event::ContactAssessed { signal, .. } => signal,
        _ => None,
    });
    let mut specs: Vec<AlertSpec> = Vec::new();
    for w in &windows {
        // `derive_alerts` counts the contact it is given on top of the history.
        let history = History::of(store.child_history(to, w).await?, own.iter().cloned());
        let input = AlertInput { level: 0, protocol_alerts: &[], fired: &[], signal, history: &history };
        for spec in derive_alerts(&input, cfg) {
            if HISTORY_KINDS.contains(&spec.kind) && !specs.iter().any(|s| s.kind == spec.kind) {
                specs.push(spec);
            }
        }
    }
    Ok(specs)
}

/// Each history rule's window in days: contacts, missing episodes, sexual health.
fn window_days(cfg: &crate::Config) -> [u32; 3] {
    [cfg.repeat_contacts_window_days, cfg.repeat_missing_window_days, cfg.sexual_health_window_days]
}

// ---- alerts ------------------------------------------------------------------------------------

/// What a user does to an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertAction {
    Acknowledge,
    /// Done something about it (what, in the note).
    Action(String),
    /// Nothing to do, with the reason.
    Dismiss(String),
}

impl AlertAction {
    /// From a form or API body: `acknowledge`, `action` (with a note) or `dismiss` (with a reason).
    pub fn parse(action: &str, text: &str) -> Result<AlertAction, ServiceError> {
        let text = text.trim();
        let need = |field: &str, what: &str| {
            Err(ServiceError::Invalid(vec![FieldError { field: field.into(), message: what.into() }]))
        };
        if text.chars().count() > 2_000 {
            return need("note", "must be at most 2,000 characters");
        }
        match action.trim() {
            "acknowledge" => Ok(AlertAction::Acknowledge),
            "action" if text.is_empty() => need("note", "say what was done"),
            "action" => Ok(AlertAction::Action(text.to_owned())),
            "dismiss" if text.is_empty() => need("note", "a dismissal needs a reason"),
            "dismiss" => Ok(AlertAction::Dismiss(text.to_owned())),
            _ => need("action", "choose one of acknowledge, action, dismiss"),
        }
    }
}

/// The events taking `alert` through `action`: acting on or dismissing an open alert
/// acknowledges it first, so every alert passes open → acknowledged → actioned | dismissed.
fn transition_events(alert: &frontdoor_store::AlertRecord, action: AlertAction, m: &Meta) -> Vec<NewEvent> {
    let (alert_id, child_id) = (alert.id, alert.child_id);
    let event = |e| NewEvent { event: e, expected: Expected::Any, meta: m.clone() };
    let mut out = Vec::new();
    if alert.state == AlertState::Open {
        out.push(event(Event::AlertAcknowledged { alert_id, child_id }));
    }
    match action {
        AlertAction::Acknowledge => {}
        AlertAction::Action(note) => out.push(event(Event::AlertActioned { alert_id, child_id, note })),
        AlertAction::Dismiss(reason) => out.push(event(Event::AlertDismissed { alert_id, child_id, reason })),
    }
    out
}

/// Move an alert on. Finished alerts do not change; acknowledging an acknowledged alert is a
/// conflict (someone else has it).
pub async fn update_alert(
    store: &Store,
    actor: &Actor,
    alert: &frontdoor_store::AlertRecord,
    action: AlertAction,
    now: DateTime<Utc>,
) -> Result<AlertState, ServiceError> {
    if alert.state.is_closed() {
        return Err(ServiceError::Conflict(format!("this alert is already {}", alert.state.as_str())));
    }
    if action == AlertAction::Acknowledge && alert.state == AlertState::Acknowledged {
        return Err(ServiceError::Conflict("this alert is already acknowledged".into()));
    }
    let new_state = match &action {
        AlertAction::Acknowledge => AlertState::Acknowledged,
        AlertAction::Action(_) => AlertState::Actioned,
        AlertAction::Dismiss(_) => AlertState::Dismissed,
    };
    let events = transition_events(alert, action, &meta(Some(actor), Purpose::Triage.as_str(), now));
    store.append(events, vec![], vec![]).await.map_err(map_conflicts)?;
    Ok(new_state)
}

// ---- flags --------------------------------------------------------------------------------------

/// Set or clear a flag on a child's record. Setting needs a note saying where it comes from.
pub async fn flag_child(
    store: &Store,
    actor: &Actor,
    child_id: ChildId,
    flag: &str,
    set: bool,
    note: &str,
    now: DateTime<Utc>,
) -> Result<ChildFlag, ServiceError> {
    let Some(flag) = ChildFlag::parse(flag) else {
        return Err(ServiceError::Invalid(vec![FieldError {
            field: "flag".into(),
            message: format!("choose one of {}", ChildFlag::expected()),
        }]));
    };
    let note = note.trim();
    if set && note.is_empty() {
        return Err(ServiceError::Invalid(vec![FieldError {
            field: "note".into(),
            message: "say where the flag comes from (plan, case or system reference)".into(),
        }]));
    }
    if note.chars().count() > 500 {
        return Err(ServiceError::Invalid(vec![FieldError {
            field: "note".into(),
            message: "must be at most 500 characters".into(),
        }]));
    }
    store
        .append(
            vec![NewEvent {
                event: Event::ChildFlagged { child_id, flag, set, note: note.to_owned() },
                expected: Expected::Any,
                meta: meta(Some(actor), Purpose::CaseWork.as_str(), now),
            }],
            vec![],
            vec![],
        )
        .await
        .map_err(map_conflicts)?;
    Ok(flag)
}

// ---- the sweep ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub escalated: usize,
    pub overdue: usize,
    /// CSE pathway deadlines found missed (each alerted once).
    pub pathway_overdue: usize,
    /// Assigned actions found past their due date (each alerted once).
    pub actions_overdue: usize,
    /// Declined support referrals due a re-contact (each alerted once).
    pub support_recontacts: usize,
}

/// Escalate urgent alerts nobody acknowledged within `escalate_after_minutes`, and raise a
/// `decision_overdue` alert on every contact past its decision time; each tells the managers by
/// e-mail. Idempotent (a second run at the same time does nothing), so several servers on one
/// database may all run it; a race between them loses harmlessly on the alert's state.
pub async fn sweep(store: &Store, screening: &Screening, now: DateTime<Utc>) -> Result<SweepReport, ServiceError> {
    let cfg = &screening.cfg;
    let m = Meta::system(Purpose::Triage.as_str(), now);
    let mut report = SweepReport::default();
    let cutoff = now - Duration::minutes(i64::from(cfg.escalate_after_minutes));
    for alert in store.alerts_to_escalate(cutoff).await? {
        let reference = match alert.contact_id {
            Some(c) => store.contact(c).await?.map(|c| c.reference).unwrap_or_default(),
            None => String::new(),
        };
        let outbox =
            manager_mail(screening, &reference, "urgent alert not acknowledged", &format!("/alerts#{}", alert.id), now);
        let event = NewEvent {
            event: Event::AlertEscalated {
                alert_id: alert.id,
                child_id: alert.child_id,
                to_role: escalation_role(&alert.owner_role),
            },
            expected: Expected::Any,
            meta: m.clone(),
        };
        match store.append(vec![event], vec![], outbox).await {
            Ok(_) => report.escalated += 1,
            // Acknowledged (or escalated by another server) meanwhile: nothing to do.
            Err(frontdoor_store::StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for overdue in store.overdue_decisions(now).await? {
        let outbox = manager_mail(
            screening,
            &overdue.reference,
            "decision overdue",
            &format!("/contacts/{}", overdue.contact_id),
            now,
        );
        let event = NewEvent {
            event: Event::AlertRaised {
                alert_id: AlertId::new(),
                alert_kind: "decision_overdue".into(),
                child_id: overdue.child_id,
                contact_id: Some(overdue.contact_id),
                urgent: false,
                owner_role: Role::SafeguardingLead,
                due_at: now,
                reason: format!(
                    "no decision within one working day (due {})",
                    overdue.decision_due.format("%Y-%m-%d %H:%M UTC")
                ),
                for_user: None,
            },
            expected: Expected::NoStream,
            meta: m.clone(),
        };
        store.append(vec![event], vec![], outbox).await?;
        report.overdue += 1;
    }
    report.pathway_overdue = crate::cse::sweep_deadlines(store, cfg, now).await?;
    report.actions_overdue = crate::actions::sweep_overdue(store, cfg, now).await?;
    report.support_recontacts = crate::cse::sweep_recontacts(store, now).await?;
    Ok(report)
}

fn manager_mail(
    screening: &Screening,
    reference: &str,
    what: &str,
    path: &str,
    now: DateTime<Utc>,
) -> Vec<OutboxMessage> {
    let cfg = &screening.cfg;
    if cfg.notify_managers_email.is_empty() {
        return vec![];
    }
    vec![notify::email(cfg, &cfg.notify_managers_email, reference, what, path, now)]
}

/// Leaves (or replaces) the short message an anonymous online sender reads with their follow-up
/// code (F14): plain words, no detail of what the front door found.
pub async fn leave_status_message(
    store: &Store,
    actor: &Actor,
    contact_id: ContactId,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let message = message.trim();
    if message.is_empty() || message.chars().count() > 500 {
        return Err(ServiceError::Invalid(vec![FieldError {
            field: "message".into(),
            message: "write a short message for the sender, at most 500 characters".into(),
        }]));
    }
    if store.follow_up_of(contact_id).await?.is_none() {
        return Err(ServiceError::Conflict(
            "this contact's sender has no follow-up code: it was not raised anonymously online".into(),
        ));
    }
    let event = Event::ContactStatusLeft { contact_id, message: message.to_owned() };
    crate::service::append_by(store, actor, event, Expected::Any, Purpose::Triage, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> crate::Config {
        crate::Config::default()
    }

    fn kinds(input: &AlertInput) -> Vec<&'static str> {
        derive_alerts(input, &cfg()).into_iter().map(|a| a.kind).collect()
    }

    fn input<'a>(history: &'a History, signal: Option<Signal>, level: u8) -> AlertInput<'a> {
        AlertInput { level, protocol_alerts: &[], fired: &[], signal, history }
    }

    #[test]
    fn repeat_contacts_at_the_third() {
        let h = History { contacts_in_window: 1, ..Default::default() };
        assert!(kinds(&input(&h, None, 1)).is_empty(), "second contact");
        let h = History { contacts_in_window: 2, ..Default::default() };
        assert_eq!(kinds(&input(&h, None, 1)), ["repeat_contacts"]);
        let h = History { contacts_in_window: 5, unresolved: vec!["repeat_contacts".into()], ..Default::default() };
        assert!(kinds(&input(&h, None, 1)).is_empty(), "one unresolved alert is enough");
    }

    #[test]
    fn missing_every_episode_and_repeat_at_three() {
        let h = History::default();
        assert_eq!(kinds(&input(&h, Some(Signal::MissingEpisode), 1)), ["missing_episode"]);
        let h = History { missing_in_window: 1, ..Default::default() };
        assert_eq!(kinds(&input(&h, Some(Signal::MissingEpisode), 1)), ["missing_episode"]);
        let h = History { missing_in_window: 2, ..Default::default() };
        let a = derive_alerts(&input(&h, Some(Signal::MissingEpisode), 1), &cfg());
        assert_eq!(a.iter().map(|a| a.kind).collect::<Vec<_>>(), ["missing_episode", "repeat_missing"]);
        assert!(a[1].urgent && a[1].owner == Role::SafeguardingLead);
    }

    #[test]
    fn school_absence_at_ten_days() {
        let h = History::default();
        assert!(kinds(&input(&h, Some(Signal::SchoolAbsence { days_absent: 9 }), 1)).is_empty());
        assert_eq!(kinds(&input(&h, Some(Signal::SchoolAbsence { days_absent: 10 }), 1)), ["school_absence"]);
    }

    #[test]
    fn sexual_health_repeat_ec_and_frequent_condom_card() {
        let ec = Some(Signal::SexualHealth { service: SexualHealthService::EmergencyContraception });
        let cc = Some(Signal::SexualHealth { service: SexualHealthService::CondomCard });
        let h = History::default();
        assert!(kinds(&input(&h, ec, 1)).is_empty(), "a first emergency contraception");
        let h = History { emergency_contraception_in_window: 1, ..Default::default() };
        assert_eq!(kinds(&input(&h, ec, 1)), ["sexual_health"]);
        let h = History { condom_card_in_window: 3, ..Default::default() };
        assert!(kinds(&input(&h, cc, 1)).is_empty(), "fourth use");
        let h = History { condom_card_in_window: 4, ..Default::default() };
        assert_eq!(kinds(&input(&h, cc, 1)), ["sexual_health"]);
    }

    #[test]
    fn flags_threshold_and_protocol_alerts() {
        let h = History { flags: vec![ChildFlag::LookedAfter, ChildFlag::OpenCseCase], ..Default::default() };
        assert_eq!(kinds(&input(&h, None, 1)), ["protection_flag", "known_association"]);
        let h = History { flags: vec![ChildFlag::OpenCase], ..Default::default() };
        assert!(kinds(&input(&h, None, 2)).is_empty(), "an open case alone raises nothing");
        let h = History::default();
        let a = derive_alerts(&input(&h, None, 3), &cfg());
        assert_eq!(a.len(), 1);
        assert!(a[0].kind == "threshold_reached" && !a[0].urgent);
        assert!(derive_alerts(&input(&h, None, 4), &cfg())[0].urgent);
        let raised = vec!["police_notification".to_owned(), "threshold_reached".to_owned(), "bogus".to_owned()];
        let fired = vec!["Rule `x` fired: because ...; alert police_notification raised.".to_owned()];
        let i = AlertInput { level: 4, protocol_alerts: &raised, fired: &fired, signal: None, history: &h };
        let a = derive_alerts(&i, &cfg());
        assert_eq!(a.iter().map(|a| a.kind).collect::<Vec<_>>(), ["threshold_reached", "police_notification"]);
        assert!(a[1].reason.starts_with("Rule `x`"));
    }
}
