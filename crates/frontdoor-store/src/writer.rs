//! The single writer. Every write goes through one task that gathers whatever requests are
//! waiting into one transaction (group commit): one durable sync serves many callers, and each
//! caller is answered only after the commit is on disk. Each request runs inside its own
//! savepoint, so one request's conflict rolls back that request alone.

use crate::chain::{self, AccessRow, EventRow};
use crate::db::{Pool, Tx, Val, vals};
use crate::{AccessEntry, Committed, Expected, NewEvent, OutboxMessage, StoreError, micros};
use frontdoor_core::Event;
use frontdoor_core::pathway::ChildSetting;
use frontdoor_core::triage::Signal;
use tokio::sync::{mpsc, oneshot};

/// How many waiting requests one transaction takes at most.
const MAX_GROUP: usize = 512;

pub(crate) enum WriteOp {
    /// Events (all or none), access-log entries and notifications, in one atomic unit.
    Append {
        events: Vec<NewEvent>,
        access: Vec<AccessEntry>,
        outbox: Vec<OutboxMessage>,
        /// A user's password hash, stored with their registration: (user id, hash, at).
        credentials: Option<(String, String, i64)>,
    },
    /// Plain statements on operational tables (sessions, credentials, outbox state, meta).
    Sql(Vec<(&'static str, Vec<Val>)>),
}

pub(crate) struct WriteRequest {
    pub op: WriteOp,
    pub reply: oneshot::Sender<Result<Vec<Committed>, StoreError>>,
}

#[derive(Clone, Debug)]
struct Head {
    seq: i64,
    hash: String,
}

#[derive(Clone, Debug)]
struct Heads {
    events: Head,
    access: Head,
}

pub(crate) fn spawn(pool: Pool) -> mpsc::Sender<WriteRequest> {
    let (tx, rx) = mpsc::channel(4096);
    match pool {
        // The writer awaits one statement after another. On the shared runtime each of those
        // wake-ups queues behind HTTP work, and under load that queueing, not SQLite, set the
        // pace. SQLite connections live on their own threads (no reactor), so the writer can
        // run on a thread of its own. It ends when the last `Store` handle is dropped.
        Pool::Sqlite(_) => {
            let started = std::thread::Builder::new().name("frontdoor-writer".into()).spawn(move || {
                match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt.block_on(run(pool, rx)),
                    Err(e) => tracing::error!(error = %e, "cannot start the writer's runtime; writes will fail"),
                }
            });
            if let Err(e) = started {
                tracing::error!(error = %e, "cannot start the writer thread; writes will fail");
            }
        }
        // PostgreSQL connections belong to the runtime that opened them.
        Pool::Postgres(_) => {
            tokio::spawn(run(pool, rx));
        }
    }
    tx
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<WriteRequest>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<_>, Vec<_>) = group.into_iter().map(|r| (r.op, r.reply)).unzip();
        let res = commit_group(&pool, ops).await;
        match res {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "write transaction failed; every request in it is refused");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Database(e.to_string())));
                }
            }
        }
    }
}

async fn commit_group(pool: &Pool, ops: Vec<WriteOp>) -> Result<Vec<Result<Vec<Committed>, StoreError>>, sqlx::Error> {
    // Almost every group succeeds whole, so try it without per-request savepoints first; if any
    // request fails, throw the attempt away and run the group again with a savepoint around
    // each request, so only the failing one is refused.
    if let Some(results) = try_group(pool, &ops, false).await? {
        return Ok(results);
    }
    Ok(try_group(pool, &ops, true).await?.unwrap_or_default())
}

/// One attempt at a group. Without savepoints, returns `None` (having rolled back) as soon as a
/// request fails; with them, every request gets its own outcome.
async fn try_group(
    pool: &Pool,
    ops: &[WriteOp],
    savepoints: bool,
) -> Result<Option<Vec<Result<Vec<Committed>, StoreError>>>, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let mut heads = load_heads(&mut tx).await?;
    let start = heads.clone();
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        if savepoints {
            tx.exec("SAVEPOINT fd_request", &[]).await?;
        }
        let before = heads.clone();
        match apply(&mut tx, &mut heads, op, savepoints).await {
            Ok(done) => {
                if savepoints {
                    tx.exec("RELEASE SAVEPOINT fd_request", &[]).await?;
                }
                results.push(Ok(done));
            }
            Err(_) if !savepoints => {
                tx.rollback().await?;
                return Ok(None);
            }
            Err(e) => {
                tx.exec("ROLLBACK TO SAVEPOINT fd_request", &[]).await?;
                tx.exec("RELEASE SAVEPOINT fd_request", &[]).await?;
                heads = before;
                results.push(Err(e));
            }
        }
    }
    if heads.events.seq != start.events.seq {
        save_head(&mut tx, "events_head", &heads.events).await?;
    }
    if heads.access.seq != start.access.seq {
        save_head(&mut tx, "access_head", &heads.access).await?;
    }
    tx.commit().await?;
    Ok(Some(results))
}

async fn load_heads(tx: &mut Tx) -> Result<Heads, sqlx::Error> {
    let events = match tx.fetch_optional("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", &[]).await? {
        Some(r) => Head { seq: r.int(0)?, hash: r.text(1)? },
        None => Head { seq: 0, hash: chain::GENESIS.to_owned() },
    };
    let access = match tx.fetch_optional("SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1", &[]).await? {
        Some(r) => Head { seq: r.int(0)?, hash: r.text(1)? },
        None => Head { seq: 0, hash: chain::GENESIS.to_owned() },
    };
    Ok(Heads { events, access })
}

async fn save_head(tx: &mut Tx, key: &'static str, head: &Head) -> Result<(), sqlx::Error> {
    tx.exec(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &vals![key, format!("{}:{}", head.seq, head.hash)],
    )
    .await?;
    Ok(())
}

async fn apply(tx: &mut Tx, heads: &mut Heads, op: &WriteOp, careful: bool) -> Result<Vec<Committed>, StoreError> {
    match op {
        WriteOp::Sql(statements) => {
            for (sql, args) in statements {
                tx.exec(sql, args).await?;
            }
            Ok(Vec::new())
        }
        WriteOp::Append { events, access, outbox, credentials } => {
            let mut committed = Vec::with_capacity(events.len());
            for e in events {
                committed.push(append_event(tx, &mut heads.events, e, careful).await?);
            }
            for a in access {
                append_access(tx, &mut heads.access, a).await?;
            }
            if let Some((user_id, hash, at)) = credentials {
                tx.exec(
                    "INSERT INTO credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
                    &vals![user_id.as_str(), hash.as_str(), *at],
                )
                .await?;
            }
            for m in outbox {
                tx.exec(
                    "INSERT INTO outbox (id, created_at, channel, recipient, subject, body, attempts, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 0, $2)",
                    &vals![
                        m.id.to_string(),
                        micros(m.created_at),
                        m.channel.as_str(),
                        m.recipient.as_str(),
                        m.subject.as_str(),
                        m.body.as_str()
                    ],
                )
                .await?;
            }
            Ok(committed)
        }
    }
}

async fn append_event(tx: &mut Tx, head: &mut Head, new: &NewEvent, careful: bool) -> Result<Committed, StoreError> {
    let stream = new.event.stream();
    // A new stream needs no look-up on the fast pass: the unique (stream, version) index
    // refuses a second version 1, which sends the group to the careful pass, which looks up
    // the version so the refusal can say what it found.
    let current = if new.expected == Expected::NoStream && !careful {
        0
    } else {
        tx.fetch_optional("SELECT MAX(stream_version) FROM events WHERE stream = $1", &vals![stream.as_str()])
            .await?
            .map(|r| r.opt_int(0))
            .transpose()?
            .flatten()
            .unwrap_or(0)
    };
    let ok = match new.expected {
        Expected::Any => true,
        Expected::NoStream => current == 0,
        Expected::Version(v) => current == v,
    };
    if !ok {
        return Err(StoreError::Conflict { stream, expected: new.expected, actual: current });
    }
    let version = current + 1;
    let seq = head.seq + 1;
    let payload = serde_json::to_string(&new.event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let actor_user = new.meta.actor_user.map(|u| u.to_string());
    let actor_agency = new.meta.actor_agency.map(|a| a.to_string());
    let at = micros(new.meta.at);
    let hash = EventRow {
        seq,
        stream: &stream,
        stream_version: version,
        kind: new.event.kind(),
        payload: &payload,
        actor_user: actor_user.as_deref(),
        actor_agency: actor_agency.as_deref(),
        purpose: &new.meta.purpose,
        recorded_at: at,
        prev_hash: &head.hash,
    }
    .hash();
    tx.exec(
        "INSERT INTO events (seq, stream, stream_version, kind, payload, actor_user, actor_agency, purpose, recorded_at, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &vals![seq, stream.as_str(), version, new.event.kind(), payload, actor_user.clone(), actor_agency.clone(), new.meta.purpose.as_str(), at, head.hash.as_str(), hash.as_str()],
    )
    .await?;
    project(tx, seq, at, new.meta.at, &new.event, actor_user, actor_agency).await?;
    *head = Head { seq, hash };
    Ok(Committed { seq, stream, stream_version: version })
}

/// Keep the read tables in step with the log, inside the same transaction.
async fn project(
    tx: &mut Tx,
    seq: i64,
    at: i64,
    meta_at: chrono::DateTime<chrono::Utc>,
    event: &Event,
    actor_user: Option<String>,
    actor_agency: Option<String>,
) -> Result<(), StoreError> {
    match event {
        Event::AgencyRegistered { agency_id, name, agency_kind } => {
            tx.exec(
                "INSERT INTO agencies (id, name, kind) VALUES ($1, $2, $3)",
                &vals![agency_id.to_string(), name.as_str(), agency_kind.as_str()],
            )
            .await?;
        }
        Event::UserRegistered { user_id, username, display_name, agency_id, roles } => {
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            let n = tx
                .exec(
                    "INSERT INTO users (id, username, display_name, agency_id, roles, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (username) DO NOTHING",
                    &vals![
                        user_id.to_string(),
                        username.as_str(),
                        display_name.as_str(),
                        agency_id.to_string(),
                        roles.join(","),
                        at
                    ],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Duplicate { what: format!("username '{username}'") });
            }
        }
        Event::UserDisabled { user_id, .. } => {
            let id = user_id.to_string();
            tx.exec("UPDATE users SET disabled = 1 WHERE id = $1", &vals![id.as_str()]).await?;
            // A disabled user's sessions die with the same commit.
            tx.exec("DELETE FROM sessions WHERE user_id = $1", &vals![id.as_str()]).await?;
        }
        Event::ChildRecorded { child_id, subject } => {
            tx.exec(
                "INSERT INTO children (id, given_name, family_name, date_of_birth, sex, postcode, match_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &vals![
                    child_id.to_string(),
                    subject.given_name.as_str(),
                    subject.family_name.as_str(),
                    subject.date_of_birth.map(|d| d.to_string()),
                    subject.sex.map(|s| s.as_str()),
                    subject.postcode.as_ref().map(|p| p.as_str()),
                    subject.match_key(),
                    at
                ],
            )
            .await?;
            tx.exec(
                "INSERT INTO child_events (child_id, seq, agency_id, occurred_at) VALUES ($1, $2, $3, $4)",
                &vals![child_id.to_string(), seq, actor_agency, at],
            )
            .await?;
        }
        Event::ContactReceived {
            contact_id,
            reference,
            child_id,
            channel,
            source_code,
            narrative,
            received_at,
            owner_agency,
            ..
        } => {
            let n = tx
                .exec(
                    "INSERT INTO contacts (id, reference, child_id, channel, source_code, narrative, received_at, recorded_by, owner_agency, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (reference) DO NOTHING",
                    &vals![
                        contact_id.to_string(),
                        reference.as_str(),
                        child_id.to_string(),
                        channel.as_str(),
                        source_code.as_str(),
                        narrative.as_str(),
                        micros(*received_at),
                        actor_user,
                        owner_agency.to_string(),
                        seq
                    ],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Duplicate { what: format!("contact reference {reference}") });
            }
            tx.exec(
                "INSERT INTO child_events (child_id, seq, agency_id, occurred_at) VALUES ($1, $2, $3, $4)",
                &vals![child_id.to_string(), seq, owner_agency.to_string(), micros(*received_at)],
            )
            .await?;
        }
        Event::ContactMoved { contact_id, from, to, .. } => {
            let stream = format!("contact-{contact_id}");
            let (contact, from_id, to_id) = (contact_id.to_string(), from.to_string(), to.to_string());
            // Another child the front door has recorded, and no CSE case opened from the contact
            // (the service says why; here the log is kept from ever recording such a move).
            let target = tx.fetch_optional("SELECT 1 FROM children WHERE id = $1", &vals![to_id.as_str()]).await?;
            let case =
                tx.fetch_optional("SELECT 1 FROM cse_cases WHERE contact_id = $1", &vals![contact.as_str()]).await?;
            if from == to || target.is_none() || case.is_some() {
                return Err(moved(stream));
            }
            let n = tx
                .exec(
                    "UPDATE contacts SET child_id = $1 WHERE id = $2 AND child_id = $3",
                    &vals![to_id.as_str(), contact.as_str(), from_id.as_str()],
                )
                .await?;
            if n == 0 {
                return Err(moved(stream));
            }
            let args = vals![to_id.as_str(), contact.as_str()];
            tx.exec("UPDATE assessments SET child_id = $1 WHERE contact_id = $2", &args).await?;
            tx.exec("UPDATE alerts SET child_id = $1 WHERE contact_id = $2", &args).await?;
            // The contact's entries and its alerts' follow the contact; earlier moves stay in
            // both chronologies they touched.
            tx.exec(
                "UPDATE child_events SET child_id = $1 WHERE child_id = $2 AND seq IN \
                 (SELECT seq FROM events WHERE stream = $3 AND kind <> 'contact_moved')",
                &vals![to_id.as_str(), from_id.as_str(), stream.as_str()],
            )
            .await?;
            tx.exec(
                "UPDATE child_events SET child_id = $1 WHERE child_id = $2 AND seq IN \
                 (SELECT e.seq FROM events e JOIN alerts a ON e.stream = 'alert-' || a.id WHERE a.contact_id = $3)",
                &vals![to_id.as_str(), from_id.as_str(), contact.as_str()],
            )
            .await?;
            // The record left with nothing of its own is that child recorded twice: it points to
            // where its contacts went (and the one they went to is a record in its own right).
            tx.exec("UPDATE children SET moved_to = NULL WHERE id = $1", &vals![to_id.as_str()]).await?;
            tx.exec(
                "UPDATE children SET moved_to = $1 WHERE id = $2 \
                 AND NOT EXISTS (SELECT 1 FROM contacts WHERE child_id = $2) \
                 AND NOT EXISTS (SELECT 1 FROM child_flags WHERE child_id = $2) \
                 AND NOT EXISTS (SELECT 1 FROM enquiries WHERE child_id = $2) \
                 AND NOT EXISTS (SELECT 1 FROM cse_cases WHERE child_id = $2)",
                &vals![to_id.as_str(), from_id.as_str()],
            )
            .await?;
            child_event(tx, *from, seq, actor_agency.clone(), at).await?;
            child_event(tx, *to, seq, actor_agency, at).await?;
        }
        // Read back from the log itself (`Store::contact_screening`); no table of its own.
        Event::ContactScreened { .. } => {}
        Event::ContactAssessed {
            contact_id,
            child_id,
            call_type,
            level_of_need,
            manager_decision,
            decision_due,
            open_case,
            signal,
            ..
        } => {
            let value = match signal {
                Some(Signal::SchoolAbsence { days_absent }) => Some(i64::from(*days_absent)),
                _ => None,
            };
            tx.exec(
                "INSERT INTO assessments (contact_id, child_id, call_type, level_of_need, manager_decision, decision_due_at, open_case, signal, signal_value) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &vals![
                    contact_id.to_string(),
                    child_id.to_string(),
                    call_type.as_str(),
                    i64::from(*level_of_need),
                    i64::from(*manager_decision),
                    micros(*decision_due),
                    i64::from(*open_case),
                    signal.map(|s| s.as_str()),
                    value
                ],
            )
            .await?;
        }
        Event::ContactDecided { contact_id, child_id, outcome, reasons } => {
            contact_on(tx, *contact_id, *child_id).await?;
            let n = tx
                .exec(
                    "INSERT INTO decisions (contact_id, outcome, reasons, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (contact_id) DO NOTHING",
                    &vals![contact_id.to_string(), outcome.as_str(), reasons.as_str(), actor_user, at],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Duplicate { what: "a decision on this contact".into() });
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::AlertRaised {
            alert_id,
            alert_kind,
            child_id,
            contact_id,
            urgent,
            owner_role,
            due_at,
            reason,
            for_user,
        } => {
            if let Some(contact) = contact_id {
                contact_on(tx, *contact, *child_id).await?;
            }
            tx.exec(
                "INSERT INTO alerts (id, kind, child_id, contact_id, urgent, owner_role, state, raised_at, due_at, reason, escalated, for_user) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, 0, $10)",
                &vals![
                    alert_id.to_string(),
                    alert_kind.as_str(),
                    child_id.to_string(),
                    contact_id.map(|c| c.to_string()),
                    i64::from(*urgent),
                    owner_role.as_str(),
                    at,
                    micros(*due_at),
                    reason.as_str(),
                    for_user.map(|u| u.to_string())
                ],
            )
            .await?;
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::AlertAcknowledged { alert_id, .. } => {
            let n = tx
                .exec(
                    "UPDATE alerts SET state = 'acknowledged', updated_by = $2, updated_at = $3 WHERE id = $1 AND state = 'open'",
                    &vals![alert_id.to_string(), actor_user, at],
                )
                .await?;
            if n == 0 {
                return Err(alert_moved(*alert_id));
            }
        }
        Event::AlertActioned { alert_id, child_id, note: text }
        | Event::AlertDismissed { alert_id, child_id, reason: text } => {
            let state = if matches!(event, Event::AlertActioned { .. }) { "actioned" } else { "dismissed" };
            let n = tx
                .exec(
                    "UPDATE alerts SET state = $2, resolution = $3, updated_by = $4, updated_at = $5 \
                     WHERE id = $1 AND state = 'acknowledged' AND child_id = $6",
                    &vals![alert_id.to_string(), state, text.as_str(), actor_user, at, child_id.to_string()],
                )
                .await?;
            if n == 0 {
                return Err(alert_moved(*alert_id));
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::AlertEscalated { alert_id, child_id, .. } => {
            let n = tx
                .exec(
                    "UPDATE alerts SET escalated = 1 WHERE id = $1 AND state = 'open' AND escalated = 0 AND child_id = $2",
                    &vals![alert_id.to_string(), child_id.to_string()],
                )
                .await?;
            if n == 0 {
                return Err(alert_moved(*alert_id));
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::ChildFlagged { child_id, flag, set, note } => {
            if *set {
                tx.exec(
                    "INSERT INTO child_flags (child_id, flag, note, set_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (child_id, flag) DO UPDATE SET note = excluded.note, set_at = excluded.set_at",
                    &vals![child_id.to_string(), flag.as_str(), note.as_str(), at],
                )
                .await?;
            } else {
                tx.exec(
                    "DELETE FROM child_flags WHERE child_id = $1 AND flag = $2",
                    &vals![child_id.to_string(), flag.as_str()],
                )
                .await?;
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::ContactFollowUpIssued { contact_id, code_hash } => {
            tx.exec(
                "INSERT INTO contact_followups (contact_id, code_hash) VALUES ($1, $2)",
                &vals![contact_id.to_string(), code_hash.as_str()],
            )
            .await?;
        }
        Event::ContactStatusLeft { contact_id, message } => {
            let n = tx
                .exec(
                    "UPDATE contact_followups SET status_message = $2, status_at = $3 WHERE contact_id = $1",
                    &vals![contact_id.to_string(), message.as_str(), at],
                )
                .await?;
            if n == 0 {
                return Err(moved(format!("contact-{contact_id}")));
            }
        }
        Event::ContactInformationAdded { contact_id, child_id, text } => {
            contact_on(tx, *contact_id, *child_id).await?;
            tx.exec(
                "INSERT INTO contact_additions (contact_id, seq, text, added_at) VALUES ($1, $2, $3, $4)",
                &vals![contact_id.to_string(), seq, text.as_str(), at],
            )
            .await?;
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::ChildSettingRecorded { child_id, setting, agency_id } => {
            let sql = match setting {
                ChildSetting::GpPractice => "UPDATE children SET gp_practice = $2 WHERE id = $1",
                ChildSetting::Education => "UPDATE children SET education_setting = $2 WHERE id = $1",
            };
            if tx.exec(sql, &vals![child_id.to_string(), agency_id.to_string()]).await? == 0 {
                return Err(moved(format!("child-{child_id}")));
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::PersonRecordImported {
            source,
            record_id,
            given_name,
            family_name,
            date_of_birth,
            sex,
            postcode,
            address,
            phone,
        } => {
            tx.exec(
                "INSERT INTO person_records (source, record_id, given_name, family_name, date_of_birth, sex, postcode, address, phone, seq, num) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                 ON CONFLICT (source, record_id) DO UPDATE SET given_name = excluded.given_name, family_name = excluded.family_name, \
                 date_of_birth = excluded.date_of_birth, sex = excluded.sex, postcode = excluded.postcode, address = excluded.address, \
                 phone = excluded.phone, seq = excluded.seq",
                &vals![
                    source.as_str(),
                    record_id.as_str(),
                    given_name.as_ref().map(|n| n.as_str()),
                    family_name.as_ref().map(|n| n.as_str()),
                    date_of_birth.map(|d| d.to_string()),
                    sex.map(|s| s.as_str()),
                    postcode.as_ref().map(|p| p.as_str()),
                    address.clone(),
                    phone.clone(),
                    seq
                ],
            )
            .await?;
        }
        Event::PersonSourceRegistered { name, label, agency_id, fields } => {
            tx.exec(
                "INSERT INTO person_sources (name, label, agency_id, fields, seq) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (name) DO UPDATE SET label = excluded.label, agency_id = excluded.agency_id, \
                 fields = excluded.fields, seq = excluded.seq",
                &vals![name.as_str(), label.as_str(), agency_id.to_string(), fields.join(","), seq],
            )
            .await?;
        }
        Event::PersonDedupeStarted { run, records, last_record_seq, model } => {
            // A new run scores every pair afresh: the last run's verdicts go; people's stay.
            tx.exec("DELETE FROM person_links WHERE human IS NULL", &[]).await?;
            tx.exec("UPDATE person_links SET machine = 'none', probability_ppm = NULL, guard = 0, run = NULL", &[])
                .await?;
            tx.exec(
                "INSERT INTO link_runs (run, records, last_record_seq, model, next_record, started_seq, finished) \
                 VALUES ($1, $2, $3, $4, 0, $5, 0)",
                &vals![run.as_str(), *records as i64, *last_record_seq, model.as_str(), seq],
            )
            .await?;
        }
        Event::PersonLinksScored { run, to, links, .. } => {
            // Rows only for the pairs people see (queued); automatic links and walls stay in the
            // event's `pairs` and are read from there (`Store::run_pairs`). All of a chunk's rows
            // travel as ONE parameter, a JSON array the database unpacks: binding thousands of
            // `$N` parameters costs SQLite the square of their number, and a statement a row
            // costs a round trip each.
            if !links.is_empty() {
                let rows: Vec<_> = links
                    .iter()
                    .map(|l| {
                        let machine = if l.auto {
                            "auto"
                        } else if l.queued {
                            "queued"
                        } else {
                            "held"
                        };
                        let guard = i64::from(l.guard) + 2 * i64::from(l.weak);
                        (&l.a.source, &l.a.record_id, &l.b.source, &l.b.record_id, machine, l.probability_ppm, guard)
                    })
                    .collect();
                let json = serde_json::to_string(&rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let sql = match tx {
                    Tx::Sqlite(_) => INSERT_LINKS_SQLITE,
                    Tx::Postgres(_) => INSERT_LINKS_POSTGRES,
                };
                tx.exec(sql, &vals![json, run.as_str(), seq]).await?;
            }
            tx.exec("UPDATE link_runs SET next_record = $1 WHERE run = $2", &vals![*to as i64, run.as_str()]).await?;
        }
        Event::PersonDedupeFinished { run, clusters, auto_linked, queued, .. } => {
            tx.exec(
                "UPDATE link_runs SET finished = 1, clusters = $1, auto_linked = $2, queued = $3 WHERE run = $4",
                &vals![*clusters as i64, *auto_linked as i64, *queued as i64, run.as_str()],
            )
            .await?;
        }
        Event::PersonLinkDecided { a, b, same, reason } => {
            tx.exec(
                "INSERT INTO person_links (a_source, a_record, b_source, b_record, machine, human, decided_by, reason, seq) \
                 VALUES ($1, $2, $3, $4, 'none', $5, $6, $7, $8) \
                 ON CONFLICT (a_source, a_record, b_source, b_record) DO UPDATE SET human = excluded.human, \
                 decided_by = excluded.decided_by, reason = excluded.reason, seq = excluded.seq",
                &vals![
                    a.source.as_str(),
                    a.record_id.as_str(),
                    b.source.as_str(),
                    b.record_id.as_str(),
                    if *same { "same" } else { "different" },
                    actor_user.clone(),
                    reason.as_str(),
                    seq
                ],
            )
            .await?;
        }
        Event::PersonLinkUndone { a, b, .. } => {
            tx.exec(
                "UPDATE person_links SET human = NULL, decided_by = NULL, reason = NULL, seq = $1 \
                 WHERE a_source = $2 AND a_record = $3 AND b_source = $4 AND b_record = $5",
                &vals![seq, a.source.as_str(), a.record_id.as_str(), b.source.as_str(), b.record_id.as_str()],
            )
            .await?;
        }
        Event::EnquiryOpened { enquiry_id, child_id, person_of_concern, question, agencies, managers, due_at } => {
            let id = enquiry_id.to_string();
            let person = person_of_concern.as_ref();
            tx.exec(
                "INSERT INTO enquiries (id, child_id, person_name, person_dob, person_description, lead_user, lead_agency, question, opened_at, due_at, seq) \
                 VALUES ($1, $2, $9, $10, $11, $3, $4, $5, $6, $7, $8)",
                &vals![
                    id.as_str(),
                    child_id.map(|c| c.to_string()),
                    actor_user.clone().unwrap_or_default(),
                    actor_agency.clone().unwrap_or_default(),
                    question.as_str(),
                    at,
                    micros(*due_at),
                    seq,
                    person.map(|p| p.name.clone()),
                    person.and_then(|p| p.date_of_birth).map(|d| d.to_string()),
                    person.map(|p| p.description.clone())
                ],
            )
            .await?;
            let members = agencies
                .iter()
                .map(|a| ("agency", a.to_string()))
                .chain(managers.iter().map(|m| ("manager", m.to_string())));
            for (kind, member) in members {
                tx.exec(
                    "INSERT INTO enquiry_members (enquiry_id, kind, member_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &vals![id.as_str(), kind, member],
                )
                .await?;
            }
            if let Some(child_id) = child_id {
                child_event(tx, *child_id, seq, actor_agency, at).await?;
            }
        }
        Event::EnquiryContributed { enquiry_id, contribution_id, child_id, agency_id, contribution: c } => {
            enquiry_open(tx, *enquiry_id).await?;
            tx.exec(
                "INSERT INTO enquiry_contributions (id, enquiry_id, agency_id, user_id, text, known_on, source, confidence, recorded_at, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &vals![
                    contribution_id.to_string(),
                    enquiry_id.to_string(),
                    agency_id.to_string(),
                    actor_user,
                    c.text.as_str(),
                    c.known_on.map(|d| d.to_string()),
                    c.source.as_str(),
                    c.confidence.as_str(),
                    at,
                    seq
                ],
            )
            .await?;
            if let Some(child_id) = child_id {
                child_event(tx, *child_id, seq, Some(agency_id.to_string()), at).await?;
            }
        }
        Event::EnquiryContributionAmended { enquiry_id, contribution_id, child_id, agency_id, contribution: c } => {
            enquiry_open(tx, *enquiry_id).await?;
            let changed = tx
                .exec(
                    "UPDATE enquiry_contributions SET text = $1, known_on = $2, source = $3, confidence = $4, amended_at = $5, seq = $6 \
                     WHERE id = $7 AND agency_id = $8",
                    &vals![
                        c.text.as_str(),
                        c.known_on.map(|d| d.to_string()),
                        c.source.as_str(),
                        c.confidence.as_str(),
                        at,
                        seq,
                        contribution_id.to_string(),
                        agency_id.to_string()
                    ],
                )
                .await?;
            if changed == 0 {
                return Err(StoreError::Corrupt(format!("no contribution {contribution_id} of agency {agency_id}")));
            }
            if let Some(child_id) = child_id {
                child_event(tx, *child_id, seq, Some(agency_id.to_string()), at).await?;
            }
        }
        Event::EnquiryInformationReleased {
            contribution_id, child_id, to_agency, basis, lawful_basis, reason, ..
        } => {
            tx.exec(
                "INSERT INTO enquiry_releases (contribution_id, to_agency, basis, lawful_basis, reason, released_by, released_at, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (contribution_id, to_agency) DO UPDATE SET \
                 basis = excluded.basis, lawful_basis = excluded.lawful_basis, reason = excluded.reason, \
                 released_by = excluded.released_by, released_at = excluded.released_at, seq = excluded.seq",
                &vals![
                    contribution_id.to_string(),
                    to_agency.to_string(),
                    basis.as_str(),
                    lawful_basis.as_str(),
                    reason.as_str(),
                    actor_user,
                    at,
                    seq
                ],
            )
            .await?;
            if let Some(child_id) = child_id {
                child_event(tx, *child_id, seq, actor_agency, at).await?;
            }
        }
        Event::EnquiryConcluded { enquiry_id, child_id, outcome, reasons } => {
            // Concluded once: a second conclusion finds no open enquiry and fails the append.
            let changed = tx
                .exec(
                    "UPDATE enquiries SET outcome = $1, outcome_reasons = $2, concluded_by = $3, concluded_at = $4 \
                     WHERE id = $5 AND outcome IS NULL",
                    &vals![outcome.as_str(), reasons.as_str(), actor_user, at, enquiry_id.to_string()],
                )
                .await?;
            if changed == 0 {
                return Err(moved(format!("enquiry-{enquiry_id}")));
            }
            if let Some(child_id) = child_id {
                child_event(tx, *child_id, seq, actor_agency, at).await?;
            }
        }
        Event::CseCaseOpened { case_id, child_id, contact_id, enquiry_id, reason } => {
            if let Some(contact) = contact_id {
                contact_on(tx, *contact, *child_id).await?;
            }
            // One open case per child (the unique index holds it too): a second referral racing
            // the first is a conflict, not a database error.
            let open = tx
                .fetch_optional(
                    "SELECT id FROM cse_cases WHERE child_id = $1 AND stage <> 'closed'",
                    &vals![child_id.to_string()],
                )
                .await?;
            if open.is_some() {
                return Err(moved(format!("cse-case-{case_id}")));
            }
            let case = frontdoor_core::pathway::Case::referred(meta_at);
            let state = serde_json::to_string(&case).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.exec(
                "INSERT INTO cse_cases (id, child_id, contact_id, enquiry_id, reason, stage, worker, level, state, referred_at, updated_at, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $8, $8, $9)",
                &vals![
                    case_id.to_string(),
                    child_id.to_string(),
                    contact_id.map(|c| c.to_string()),
                    enquiry_id.map(|e| e.to_string()),
                    reason.as_str(),
                    case.stage.as_str(),
                    state,
                    at,
                    seq
                ],
            )
            .await?;
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::CseCaseStepped { case_id, child_id, step, age_years } => {
            // The step is judged again here, in the writer's transaction: two people acting on one
            // case at once cannot both move it, and no illegal step is ever recorded.
            let stream = || moved(format!("cse-case-{case_id}"));
            let row = tx
                .fetch_optional("SELECT state FROM cse_cases WHERE id = $1", &vals![case_id.to_string()])
                .await?
                .ok_or_else(stream)?;
            let case: frontdoor_core::pathway::Case =
                serde_json::from_str(&row.text(0)?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let ctx = frontdoor_core::pathway::Context { at: meta_at, age_years: *age_years };
            let next = case.apply(step, &ctx).map_err(|_| stream())?;
            let state = serde_json::to_string(&next).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.exec(
                "UPDATE cse_cases SET stage = $1, worker = $2, level = $3, state = $4, updated_at = $5, seq = $6 WHERE id = $7",
                &vals![
                    next.stage.as_str(),
                    next.worker.map(|w| w.to_string()),
                    next.level.map(|l| l.as_str()),
                    state,
                    at,
                    seq,
                    case_id.to_string()
                ],
            )
            .await?;
            if let frontdoor_core::pathway::Step::Allocate { worker, override_reason: Some(reason) } = step {
                tx.exec(
                    "INSERT INTO caseload_overrides (case_id, worker, reason, decided_by, at, seq) VALUES ($1, $2, $3, $4, $5, $6)",
                    &vals![case_id.to_string(), worker.to_string(), reason.as_str(), actor_user, at, seq],
                )
                .await?;
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::CseDeadlineMissed { case_id, child_id, deadline, due_at } => {
            let changed = tx
                .exec(
                    "INSERT INTO cse_deadline_alerts (case_id, deadline, due_at, seq) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &vals![case_id.to_string(), deadline.as_str(), micros(*due_at), seq],
                )
                .await?;
            if changed == 0 {
                return Err(moved(format!("cse-case-{case_id}")));
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::ActionAssigned { action_id, child_id, case_id, enquiry_id, what, agency_id, assignee, due_on } => {
            tx.exec(
                "INSERT INTO action_items (id, child_id, case_id, enquiry_id, what, agency_id, assignee, due_on, assigned_by, assigned_at, overdue, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)",
                &vals![
                    action_id.to_string(),
                    child_id.to_string(),
                    case_id.map(|c| c.to_string()),
                    enquiry_id.map(|e| e.to_string()),
                    what.as_str(),
                    agency_id.to_string(),
                    assignee.map(|u| u.to_string()),
                    due_on.to_string(),
                    actor_user,
                    at,
                    seq
                ],
            )
            .await?;
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::ActionCompleted { action_id, child_id, outcome } => {
            // Done once: a second completion finds it done and fails the append.
            let changed = tx
                .exec(
                    "UPDATE action_items SET completed_at = $1, completed_by = $2, outcome = $3, seq = $4 \
                     WHERE id = $5 AND completed_at IS NULL",
                    &vals![at, actor_user, outcome.as_str(), seq, action_id.to_string()],
                )
                .await?;
            if changed == 0 {
                return Err(moved(format!("action-{action_id}")));
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::ActionOverdue { action_id, child_id } => {
            // Once: another server's sweep that got there first makes this a conflict.
            let changed = tx
                .exec(
                    "UPDATE action_items SET overdue = 1 WHERE id = $1 AND overdue = 0",
                    &vals![action_id.to_string()],
                )
                .await?;
            if changed == 0 {
                return Err(moved(format!("action-{action_id}")));
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::SupportReferralRecorded { case_id, child_id, service, outcome, note, recontact_on } => {
            // The latest outcome per service stands (made, then accepted or declined).
            tx.exec(
                "INSERT INTO support_referrals (case_id, service, outcome, note, recontact_on, recontact_alerted, recorded_by, recorded_at, seq) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8) ON CONFLICT (case_id, service) DO UPDATE SET \
                 outcome = excluded.outcome, note = excluded.note, recontact_on = excluded.recontact_on, recontact_alerted = 0, \
                 recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at, seq = excluded.seq",
                &vals![
                    case_id.to_string(),
                    service.as_str(),
                    outcome.as_str(),
                    note.as_str(),
                    recontact_on.map(|d| d.to_string()),
                    actor_user,
                    at,
                    seq
                ],
            )
            .await?;
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::SupportRecontactDue { case_id, child_id, service } => {
            let changed = tx
                .exec(
                    "UPDATE support_referrals SET recontact_alerted = 1 WHERE case_id = $1 AND service = $2 AND recontact_alerted = 0",
                    &vals![case_id.to_string(), service.as_str()],
                )
                .await?;
            if changed == 0 {
                return Err(moved(format!("cse-case-{case_id}")));
            }
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::AuditSampleDrawn { audit_id, from, to, seed, percent, population, cases } => {
            let cases: Vec<String> = cases.iter().map(|c| c.to_string()).collect();
            tx.exec(
                "INSERT INTO audits (id, period_from, period_to, seed, percent, population, cases, drawn_by, drawn_at, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &vals![
                    audit_id.to_string(),
                    from.to_string(),
                    to.to_string(),
                    seed.to_string(),
                    i64::from(*percent),
                    i64::from(*population),
                    cases.join(","),
                    actor_user,
                    at,
                    seq
                ],
            )
            .await?;
        }
        Event::AuditFindingRecorded { audit_id, case_id, child_id, rating, finding } => {
            tx.exec(
                "INSERT INTO audit_findings (audit_id, case_id, rating, finding, recorded_by, recorded_at, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (audit_id, case_id) DO UPDATE SET rating = excluded.rating, \
                 finding = excluded.finding, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at, seq = excluded.seq",
                &vals![audit_id.to_string(), case_id.to_string(), rating.as_str(), finding.as_str(), actor_user, at, seq],
            )
            .await?;
            child_event(tx, *child_id, seq, actor_agency, at).await?;
        }
        Event::PartnerNotified { notification_id, child_id, case_id, to_agency, transition, lawful_basis, message } => {
            tx.exec(
                "INSERT INTO partner_notifications (id, child_id, case_id, to_agency, transition, lawful_basis, message, sent_by, sent_at, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &vals![
                    notification_id.to_string(),
                    child_id.to_string(),
                    case_id.map(|c| c.to_string()),
                    to_agency.to_string(),
                    transition.as_str(),
                    lawful_basis.as_str(),
                    message.as_str(),
                    actor_user,
                    at,
                    seq
                ],
            )
            .await?;
            // In the receiving agency's part of the chronology: the notice is theirs to read.
            child_event(tx, *child_id, seq, Some(to_agency.to_string()), at).await?;
        }
    }
    Ok(())
}

/// A concluded enquiry takes no more contributions: checked in the writer's transaction, so a
/// contribution racing the conclusion is refused as a conflict.
async fn enquiry_open(tx: &mut Tx, enquiry_id: frontdoor_core::EnquiryId) -> Result<(), StoreError> {
    let row = tx.fetch_optional("SELECT outcome FROM enquiries WHERE id = $1", &vals![enquiry_id.to_string()]).await?;
    match row {
        Some(r) if r.opt_text(0)?.is_none() => Ok(()),
        _ => Err(moved(format!("enquiry-{enquiry_id}"))),
    }
}

/// The upsert of a chunk's queued pairs from `$1`, a JSON array of
/// `[a_source, a_record, b_source, b_record, machine, probability_ppm, guard]`, for run `$2` at
/// sequence `$3` (the two backends unpack JSON differently; `WHERE true` lets SQLite parse the
/// `ON CONFLICT` after a `SELECT`).
macro_rules! insert_links {
    ($rows:literal) => {
        concat!(
            "INSERT INTO person_links (a_source, a_record, b_source, b_record, machine, probability_ppm, guard, run, seq) ",
            $rows,
            " ON CONFLICT (a_source, a_record, b_source, b_record) DO UPDATE SET machine = excluded.machine, \
             probability_ppm = excluded.probability_ppm, guard = excluded.guard, run = excluded.run, seq = excluded.seq"
        )
    };
}
const INSERT_LINKS_SQLITE: &str = insert_links!(
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, $2, $3 \
     FROM json_each($1) WHERE true"
);
const INSERT_LINKS_POSTGRES: &str = insert_links!(
    "SELECT r ->> 0, r ->> 1, r ->> 2, r ->> 3, r ->> 4, (r ->> 5)::bigint, (r ->> 6)::bigint, $2, $3 \
     FROM json_array_elements($1::json) AS r"
);

/// An alert transition found the alert in another state (someone else got there first).
fn alert_moved(alert_id: frontdoor_core::AlertId) -> StoreError {
    moved(format!("alert-{alert_id}"))
}

/// A record a projection guards (once-only, state-dependent) was found changed by someone else
/// first: the whole append fails as a conflict on `stream`.
fn moved(stream: String) -> StoreError {
    StoreError::Conflict { stream, expected: Expected::Any, actual: -1 }
}

/// An event about a contact and its child was worked out while the contact was on that child's
/// record: if the contact has moved since (`ContactMoved`), the whole append is a conflict, so
/// nothing lands on the record the contact left.
async fn contact_on(
    tx: &mut Tx,
    contact: frontdoor_core::ContactId,
    child: frontdoor_core::ChildId,
) -> Result<(), StoreError> {
    let on = tx
        .fetch_optional(
            "SELECT 1 FROM contacts WHERE id = $1 AND child_id = $2",
            &vals![contact.to_string(), child.to_string()],
        )
        .await?;
    if on.is_none() {
        return Err(moved(format!("contact-{contact}")));
    }
    Ok(())
}

/// Enter an event in the child's chronology.
async fn child_event(
    tx: &mut Tx,
    child_id: frontdoor_core::ChildId,
    seq: i64,
    agency: Option<String>,
    at: i64,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO child_events (child_id, seq, agency_id, occurred_at) VALUES ($1, $2, $3, $4)",
        &vals![child_id.to_string(), seq, agency, at],
    )
    .await?;
    Ok(())
}

async fn append_access(tx: &mut Tx, head: &mut Head, a: &AccessEntry) -> Result<(), StoreError> {
    let seq = head.seq + 1;
    let at = micros(a.at);
    let user = a.user_id.to_string();
    let agency = a.agency_id.to_string();
    let outcome = if a.allowed { "allowed" } else { "denied" };
    let hash = AccessRow {
        seq,
        at,
        user_id: &user,
        agency_id: &agency,
        action: a.action.as_str(),
        record_type: &a.record_type,
        record_id: &a.record_id,
        purpose: a.purpose.as_str(),
        outcome,
        reason: &a.reason,
        prev_hash: &head.hash,
    }
    .hash();
    tx.exec(
        "INSERT INTO access_log (seq, at, user_id, agency_id, action, record_type, record_id, purpose, outcome, reason, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &vals![seq, at, user, agency, a.action.as_str(), a.record_type.as_str(), a.record_id.as_str(), a.purpose.as_str(), outcome, a.reason.as_str(), head.hash.as_str(), hash.as_str()],
    )
    .await?;
    *head = Head { seq, hash };
    Ok(())
}
