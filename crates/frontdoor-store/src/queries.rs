//! Reads of the projections, and writes to operational tables (sessions, credentials, login
//! throttling, outbox state, settings).

use crate::db::{Row, Val, vals};

/// The person-link columns, then a query's own tail.
macro_rules! links_sql {
    ($tail:literal) => {
        concat!(
            "SELECT a_source, a_record, b_source, b_record, machine, probability_ppm, human, decided_by, reason, seq, guard \
             FROM person_links ",
            $tail
        )
    };
}
use crate::{Backend, Store, StoreError, from_micros, micros};
use chrono::{DateTime, Utc};
use frontdoor_core::{
    AgencyId, AgencyKind, AlertId, AlertState, ChildFlag, ChildId, ContactId, DecisionOutcome, Event, IndicatorMention,
    MachinePair, RecordRef, Role, UserId,
};
use std::str::FromStr;

/// The person-record columns [`stored_person`] reads, in order.
macro_rules! person_columns {
    () => {
        "record_id, given_name, family_name, date_of_birth, sex, postcode, address, phone, COALESCE(num, seq)"
    };
}

/// The columns [`child_record`] reads, in order.
macro_rules! child_columns {
    () => {
        "id, given_name, family_name, date_of_birth, sex, postcode, gp_practice, education_setting, moved_to"
    };
}

/// One JSON array of `[source, record_id, seven fields, number]` per matching person record,
/// built by the database (the two backends spell it differently).
macro_rules! person_json {
    (sqlite, $where:literal) => {
        concat!("SELECT json_group_array(json_array(source, ", person_columns!(), ")) FROM person_records ", $where)
    };
    (postgres, $where:literal) => {
        concat!("SELECT json_agg(json_build_array(source, ", person_columns!(), "))::text FROM person_records ", $where)
    };
}

/// A person record from `record_id`, the seven fields and the number, starting at column `at`.
fn stored_person(r: &Row, at: usize) -> Result<StoredPerson, StoreError> {
    let field = |i: usize| r.opt_text(at + 1 + i);
    Ok(StoredPerson {
        record_id: r.text(at)?,
        fields: [field(0)?, field(1)?, field(2)?, field(3)?, field(4)?, field(5)?, field(6)?],
        num: r.int(at + 8)?,
    })
}

pub(crate) fn parse<T: FromStr>(s: &str, what: &str) -> Result<T, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("bad {what} '{s}'")))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyRecord {
    pub id: AgencyId,
    pub name: String,
    pub kind: AgencyKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub agency: AgencyRecord,
    pub roles: Vec<Role>,
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct ChildRecord {
    pub id: ChildId,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub postcode: Option<String>,
    /// The child's GP practice and school or college, as agencies (F15).
    pub gp_practice: Option<AgencyId>,
    pub education_setting: Option<AgencyId>,
    /// Every contact moved from this record to that child's, and nothing else was left here
    /// (see `Event::ContactMoved`): this record is that child recorded twice.
    pub moved_to: Option<ChildId>,
}

#[derive(Debug, Clone)]
pub struct ContactRecord {
    pub id: ContactId,
    pub reference: String,
    pub child_id: ChildId,
    pub channel: String,
    pub source_code: String,
    pub narrative: String,
    pub received_at: DateTime<Utc>,
    pub recorded_by: Option<UserId>,
    pub owner_agency: AgencyId,
    pub seq: i64,
}

#[derive(Debug, Clone)]
pub struct ChronologyEntry {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub event: Event,
    pub actor_username: Option<String>,
    pub agency_id: Option<AgencyId>,
    pub agency_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user_id: UserId,
    pub kind: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AccessLogRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub username: Option<String>,
    pub agency_name: Option<String>,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub purpose: String,
    pub outcome: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ContactStats {
    pub contacts: i64,
    pub children: i64,
    pub by_source: Vec<(String, i64)>,
    pub received_at: Vec<DateTime<Utc>>,
    /// Decisions by outcome (`referral_to_csc`, ...), excluding contacts about open cases.
    pub decisions: Vec<(String, i64)>,
    /// Contacts about children with an open case: recorded on the case, not counted as
    /// referrals (Rec 24).
    pub open_case_contacts: i64,
}

fn user_from(r: &Row) -> Result<UserRecord, StoreError> {
    let roles = r.text(4)?;
    Ok(UserRecord {
        id: parse(&r.text(0)?, "user id")?,
        username: r.text(1)?,
        display_name: r.text(2)?,
        disabled: r.int(3)? != 0,
        roles: roles.split(',').filter(|s| !s.is_empty()).map(|s| parse(s, "role")).collect::<Result<_, _>>()?,
        agency: AgencyRecord {
            id: parse(&r.text(5)?, "agency id")?,
            name: r.text(6)?,
            kind: parse(&r.text(7)?, "agency kind")?,
        },
    })
}

/// A child from the `child_columns!` columns.
fn child_record(r: &Row) -> Result<ChildRecord, StoreError> {
    Ok(ChildRecord {
        id: parse(&r.text(0)?, "child id")?,
        given_name: r.text(1)?,
        family_name: r.text(2)?,
        date_of_birth: r.opt_text(3)?,
        sex: r.opt_text(4)?,
        postcode: r.opt_text(5)?,
        gp_practice: r.opt_text(6)?.map(|s| parse(&s, "agency id")).transpose()?,
        education_setting: r.opt_text(7)?.map(|s| parse(&s, "agency id")).transpose()?,
        moved_to: r.opt_text(8)?.map(|s| parse(&s, "child id")).transpose()?,
    })
}

fn contact_from(r: &Row) -> Result<ContactRecord, StoreError> {
    Ok(ContactRecord {
        id: parse(&r.text(0)?, "contact id")?,
        reference: r.text(1)?,
        child_id: parse(&r.text(2)?, "child id")?,
        channel: r.text(3)?,
        source_code: r.text(4)?,
        narrative: r.text(5)?,
        received_at: from_micros(r.int(6)?),
        recorded_by: r.opt_text(7)?.map(|s| parse(&s, "user id")).transpose()?,
        owner_agency: parse(&r.text(8)?, "agency id")?,
        seq: r.int(9)?,
    })
}

impl Store {
    // ---- agencies and users -------------------------------------------------------------

    pub async fn agencies(&self) -> Result<Vec<AgencyRecord>, StoreError> {
        self.read()
            .fetch_all("SELECT id, name, kind FROM agencies ORDER BY name", &[])
            .await?
            .iter()
            .map(|r| {
                Ok(AgencyRecord {
                    id: parse(&r.text(0)?, "agency id")?,
                    name: r.text(1)?,
                    kind: parse(&r.text(2)?, "agency kind")?,
                })
            })
            .collect()
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = "SELECT u.id, u.username, u.display_name, u.disabled, u.roles, a.id, a.name, a.kind \
                           FROM users u JOIN agencies a ON a.id = u.agency_id WHERE u.username = $1";
        self.read().fetch_optional(SQL, &vals![username]).await?.map(|r| user_from(&r)).transpose()
    }

    pub async fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = "SELECT u.id, u.username, u.display_name, u.disabled, u.roles, a.id, a.name, a.kind \
                           FROM users u JOIN agencies a ON a.id = u.agency_id WHERE u.id = $1";
        self.read().fetch_optional(SQL, &vals![id.to_string()]).await?.map(|r| user_from(&r)).transpose()
    }

    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        const SQL: &str = "SELECT u.id, u.username, u.display_name, u.disabled, u.roles, a.id, a.name, a.kind \
                           FROM users u JOIN agencies a ON a.id = u.agency_id ORDER BY u.username";
        self.read().fetch_all(SQL, &[]).await?.iter().map(user_from).collect()
    }

    pub async fn password_hash(&self, user: UserId) -> Result<Option<String>, StoreError> {
        Ok(self
            .read()
            .fetch_optional("SELECT password_hash FROM credentials WHERE user_id = $1", &vals![user.to_string()])
            .await?
            .map(|r| r.text(0))
            .transpose()?)
    }

    pub async fn set_password_hash(&self, user: UserId, hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write_sql(vec![(
            "INSERT INTO credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            vals![user.to_string(), hash, micros(at)].to_vec(),
        )])
        .await
    }

    // ---- sessions and login throttling ---------------------------------------------------

    pub async fn create_session(
        &self,
        id_hash: &str,
        user: UserId,
        kind: &str,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_sql(vec![(
            "INSERT INTO sessions (id_hash, user_id, kind, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vals![id_hash, user.to_string(), kind, csrf_token, micros(now), micros(expires_at)].to_vec(),
        )])
        .await
    }

    /// A live session: present, not expired, and its user not disabled.
    pub async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, StoreError> {
        const SQL: &str = "SELECT s.user_id, s.kind, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
                           WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled = 0";
        self.read()
            .fetch_optional(SQL, &vals![id_hash, micros(now)])
            .await?
            .map(|r| {
                Ok(SessionRecord {
                    user_id: parse(&r.text(0)?, "user id")?,
                    kind: r.text(1)?,
                    csrf_token: r.text(2)?,
                    expires_at: from_micros(r.int(3)?),
                })
            })
            .transpose()
    }

    /// A live session with its user, in one query (every authenticated request asks this).
    pub async fn session_user(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        const SQL: &str = "SELECT u.id, u.username, u.display_name, u.disabled, u.roles, a.id, a.name, a.kind, \
                           s.kind, s.csrf_token, s.expires_at \
                           FROM sessions s JOIN users u ON u.id = s.user_id JOIN agencies a ON a.id = u.agency_id \
                           WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled = 0";
        self.read()
            .fetch_optional(SQL, &vals![id_hash, micros(now)])
            .await?
            .map(|r| {
                let user = user_from(&r)?;
                let session = SessionRecord {
                    user_id: user.id,
                    kind: r.text(8)?,
                    csrf_token: r.text(9)?,
                    expires_at: from_micros(r.int(10)?),
                };
                Ok((session, user))
            })
            .transpose()
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.write_sql(vec![("DELETE FROM sessions WHERE id_hash = $1", vals![id_hash].to_vec())]).await
    }

    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write_sql(vec![("DELETE FROM sessions WHERE expires_at <= $1", vals![micros(now)].to_vec())]).await
    }

    pub async fn record_login_failure(&self, username: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write_sql(vec![(
            "INSERT INTO login_failures (username, at) VALUES ($1, $2)",
            vals![username, micros(at)].to_vec(),
        )])
        .await
    }

    pub async fn login_failures_since(&self, username: &str, since: DateTime<Utc>) -> Result<i64, StoreError> {
        let r = self
            .read()
            .fetch_one(
                "SELECT COUNT(*) FROM login_failures WHERE username = $1 AND at > $2",
                &vals![username, micros(since)],
            )
            .await?;
        Ok(r.int(0)?)
    }

    pub async fn forget_login_failures_before(&self, before: DateTime<Utc>) -> Result<(), StoreError> {
        self.write_sql(vec![("DELETE FROM login_failures WHERE at < $1", vals![micros(before)].to_vec())]).await
    }

    pub async fn clear_login_failures(&self, username: &str) -> Result<(), StoreError> {
        self.write_sql(vec![("DELETE FROM login_failures WHERE username = $1", vals![username].to_vec())]).await
    }

    // ---- children, contacts, chronology --------------------------------------------------

    /// The child recorded with this exact key (normalised names and date of birth) — or, when
    /// that record's contacts all moved to another child's record, that child (followed through
    /// at most 20 such moves), with the record the key found.
    pub async fn child_by_match_key(&self, key: &str) -> Result<Option<(ChildId, Option<ChildId>)>, StoreError> {
        const SQL: &str = "SELECT id, moved_to FROM children WHERE match_key = $1 ORDER BY created_at LIMIT 1";
        let Some(row) = self.read().fetch_optional(SQL, &vals![key]).await? else { return Ok(None) };
        let found: ChildId = parse(&row.text(0)?, "child id")?;
        let mut id = found;
        let mut next = row.opt_text(1)?;
        for _ in 0..20 {
            let Some(to) = next else { break };
            id = parse(&to, "child id")?;
            next = self
                .read()
                .fetch_optional("SELECT moved_to FROM children WHERE id = $1", &vals![id.to_string()])
                .await?
                .map(|r| r.opt_text(0))
                .transpose()?
                .flatten();
        }
        Ok(Some((id, (id != found).then_some(found))))
    }

    pub async fn child(&self, id: ChildId) -> Result<Option<ChildRecord>, StoreError> {
        const SQL: &str = concat!("SELECT ", child_columns!(), " FROM children WHERE id = $1");
        self.read().fetch_optional(SQL, &vals![id.to_string()]).await?.map(|r| child_record(&r)).transpose()
    }

    /// The children recorded with this date of birth (`YYYY-MM-DD`), oldest first, at most
    /// `limit`: the candidates the matcher weighs when a contact names a child (F5). A record
    /// whose contacts all moved to another child's is not one.
    pub async fn children_born_on(&self, date_of_birth: &str, limit: i64) -> Result<Vec<ChildRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            child_columns!(),
            " FROM children WHERE date_of_birth = $1 AND moved_to IS NULL ORDER BY created_at, id LIMIT $2"
        );
        self.read().fetch_all(SQL, &vals![date_of_birth, limit]).await?.iter().map(child_record).collect()
    }

    /// Every agency that has contributed an entry to the child's record (for the policy).
    pub async fn child_agencies(&self, id: ChildId) -> Result<Vec<AgencyId>, StoreError> {
        self.read()
            .fetch_all(
                "SELECT DISTINCT agency_id FROM child_events WHERE child_id = $1 AND agency_id IS NOT NULL",
                &vals![id.to_string()],
            )
            .await?
            .iter()
            .map(|r| parse(&r.text(0)?, "agency id"))
            .collect()
    }

    pub async fn contact(&self, id: ContactId) -> Result<Option<ContactRecord>, StoreError> {
        const SQL: &str = "SELECT id, reference, child_id, channel, source_code, narrative, received_at, recorded_by, owner_agency, seq \
                           FROM contacts WHERE id = $1";
        self.read().fetch_optional(SQL, &vals![id.to_string()]).await?.map(|r| contact_from(&r)).transpose()
    }

    pub async fn contacts_for_child(&self, id: ChildId) -> Result<Vec<ContactRecord>, StoreError> {
        const SQL: &str = "SELECT id, reference, child_id, channel, source_code, narrative, received_at, recorded_by, owner_agency, seq \
                           FROM contacts WHERE child_id = $1 ORDER BY received_at";
        self.read().fetch_all(SQL, &vals![id.to_string()]).await?.iter().map(contact_from).collect()
    }

    /// The most recently received contacts, newest first (the practitioner home's list).
    pub async fn recent_contacts(&self, limit: i64) -> Result<Vec<ContactRecord>, StoreError> {
        const SQL: &str = "SELECT id, reference, child_id, channel, source_code, narrative, received_at, recorded_by, owner_agency, seq \
                           FROM contacts ORDER BY received_at DESC, seq DESC LIMIT $1";
        self.read().fetch_all(SQL, &vals![limit]).await?.iter().map(contact_from).collect()
    }

    /// Recent contacts owned by one agency, newest first.
    pub async fn recent_contacts_of_agency(
        &self,
        agency: AgencyId,
        limit: i64,
    ) -> Result<Vec<ContactRecord>, StoreError> {
        const SQL: &str = "SELECT id, reference, child_id, channel, source_code, narrative, received_at, recorded_by, owner_agency, seq \
                           FROM contacts WHERE owner_agency = $1 ORDER BY received_at DESC, seq DESC LIMIT $2";
        self.read().fetch_all(SQL, &vals![agency.to_string(), limit]).await?.iter().map(contact_from).collect()
    }

    /// The latest indicator screening recorded for a contact, if any.
    pub async fn contact_screening(&self, id: ContactId) -> Result<Option<Vec<IndicatorMention>>, StoreError> {
        let row = self
            .read()
            .fetch_optional(
                "SELECT payload FROM events WHERE stream = $1 AND kind = 'contact_screened' ORDER BY stream_version DESC LIMIT 1",
                &vals![format!("contact-{id}")],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        match serde_json::from_str::<Event>(&row.text(0)?) {
            Ok(Event::ContactScreened { indicators, .. }) => Ok(Some(indicators)),
            Ok(_) => Ok(None),
            Err(e) => Err(StoreError::Corrupt(e.to_string())),
        }
    }

    /// The child's chronology: every event about them, in the order things happened.
    pub async fn chronology(&self, id: ChildId) -> Result<Vec<ChronologyEntry>, StoreError> {
        const SQL: &str = "SELECT e.seq, ce.occurred_at, e.recorded_at, e.payload, u.username, ce.agency_id, a.name \
                           FROM child_events ce JOIN events e ON e.seq = ce.seq \
                           LEFT JOIN users u ON u.id = e.actor_user LEFT JOIN agencies a ON a.id = ce.agency_id \
                           WHERE ce.child_id = $1 ORDER BY ce.occurred_at, e.seq";
        self.read()
            .fetch_all(SQL, &vals![id.to_string()])
            .await?
            .iter()
            .map(|r| {
                Ok(ChronologyEntry {
                    seq: r.int(0)?,
                    occurred_at: from_micros(r.int(1)?),
                    recorded_at: from_micros(r.int(2)?),
                    event: serde_json::from_str(&r.text(3)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    actor_username: r.opt_text(4)?,
                    agency_id: r.opt_text(5)?.map(|s| parse(&s, "agency id")).transpose()?,
                    agency_name: r.opt_text(6)?,
                })
            })
            .collect()
    }

    /// Contacts received since `since`, counted by the agency that recorded them.
    pub async fn contacts_per_agency(&self, since: DateTime<Utc>) -> Result<Vec<(AgencyId, i64)>, StoreError> {
        self.read()
            .fetch_all(
                "SELECT owner_agency, COUNT(*) FROM contacts WHERE received_at >= $1 GROUP BY owner_agency",
                &vals![micros(since)],
            )
            .await?
            .iter()
            .map(|r| Ok((parse(&r.text(0)?, "agency id")?, r.int(1)?)))
            .collect()
    }

    pub async fn contact_stats(&self) -> Result<ContactStats, StoreError> {
        let contacts = self.read().fetch_one("SELECT COUNT(*) FROM contacts", &[]).await?.int(0)?;
        let children = self.read().fetch_one("SELECT COUNT(DISTINCT child_id) FROM contacts", &[]).await?.int(0)?;
        let by_source = self
            .read()
            .fetch_all("SELECT source_code, COUNT(*) FROM contacts GROUP BY source_code ORDER BY source_code", &[])
            .await?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect::<Result<_, StoreError>>()?;
        let received_at = self
            .read()
            .fetch_all("SELECT received_at FROM contacts", &[])
            .await?
            .iter()
            .map(|r| Ok(from_micros(r.int(0)?)))
            .collect::<Result<_, StoreError>>()?;
        let decisions = self
            .read()
            .fetch_all(
                "SELECT d.outcome, COUNT(*) FROM decisions d JOIN assessments a ON a.contact_id = d.contact_id \
                 WHERE a.open_case = 0 GROUP BY d.outcome ORDER BY d.outcome",
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect::<Result<_, StoreError>>()?;
        let open_case_contacts =
            self.read().fetch_one("SELECT COUNT(*) FROM assessments WHERE open_case = 1", &[]).await?.int(0)?;
        Ok(ContactStats { contacts, children, by_source, received_at, decisions, open_case_contacts })
    }

    /// Every record of one source as stored: record id → (given name, family name, date of
    /// birth, sex, postcode, address, phone), for an import to tell new and changed records
    /// from unchanged ones.
    pub async fn person_records_of(&self, source: &str) -> Result<Vec<StoredPerson>, StoreError> {
        const SQL: &str = concat!("SELECT ", person_columns!(), " FROM person_records WHERE source = $1");
        self.read().fetch_all(SQL, &vals![source]).await?.iter().map(|r| stored_person(r, 0)).collect()
    }

    /// Every person record of every source, sorted by source then record id (bytewise, the
    /// same on both backends): the person index's order.
    pub async fn person_index(&self) -> Result<Vec<(String, StoredPerson)>, StoreError> {
        // A row costs the driver several microseconds, far more than the database spends on it:
        // so each part of the index comes back as ONE row, a JSON array of its records built by
        // the database, read in parallel parts and parsed off the async threads.
        /// Record numbers per part (numbers are event sequences, so a part holds at most this many).
        const PART: i64 = 4_096;
        let (ranged, unnumbered) = match self.backend() {
            Backend::Sqlite => {
                (person_json!(sqlite, "WHERE num >= $1 AND num < $2"), person_json!(sqlite, "WHERE num IS NULL"))
            }
            Backend::Postgres => {
                (person_json!(postgres, "WHERE num >= $1 AND num < $2"), person_json!(postgres, "WHERE num IS NULL"))
            }
        };
        let r = self.read().fetch_one("SELECT MIN(num), MAX(num), COUNT(*) FROM person_records", &[]).await?;
        let mut parts: Vec<(&'static str, Vec<Val>)> = vec![(unnumbered, vec![])];
        if let (Some(lo), Some(hi)) = (r.opt_int(0)?, r.opt_int(1)?) {
            let mut from = lo;
            while from <= hi {
                parts.push((ranged, vals![from, from.saturating_add(PART)].to_vec()));
                from = from.saturating_add(PART);
            }
        }
        type Field = Option<String>;
        type Part = Vec<(String, String, Field, Field, Field, Field, Field, Field, Field, i64)>;
        let tasks: Vec<_> = parts
            .into_iter()
            .map(|(sql, args)| {
                let pool = self.read().clone();
                tokio::spawn(async move {
                    let json = pool.fetch_one(sql, &args).await?.opt_text(0)?;
                    let Some(json) = json else { return Ok(Vec::new()) };
                    let parsed = tokio::task::spawn_blocking(move || serde_json::from_str::<Part>(&json)).await;
                    match parsed {
                        Ok(Ok(rows)) => Ok(rows),
                        Ok(Err(e)) => Err(StoreError::Corrupt(format!("person records: {e}"))),
                        Err(e) => Err(StoreError::Corrupt(format!("reading person records: {e}"))),
                    }
                })
            })
            .collect();
        let mut rows: Vec<(String, StoredPerson)> = Vec::with_capacity(usize::try_from(r.int(2)?).unwrap_or(0));
        for t in tasks {
            let part = t.await.map_err(|e| StoreError::Corrupt(format!("reading person records: {e}")))??;
            rows.extend(part.into_iter().map(|(source, record_id, f0, f1, f2, f3, f4, f5, f6, num)| {
                (source, StoredPerson { record_id, fields: [f0, f1, f2, f3, f4, f5, f6], num })
            }));
        }
        rows.sort_unstable_by(|x, y| {
            (x.0.as_bytes(), x.1.record_id.as_bytes()).cmp(&(y.0.as_bytes(), y.1.record_id.as_bytes()))
        });
        Ok(rows)
    }

    /// What identifies the index's state: how many records, and the last change to any.
    pub async fn person_index_fingerprint(&self) -> Result<(i64, i64), StoreError> {
        let r = self.read().fetch_one("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM person_records", &[]).await?;
        Ok((r.int(0)?, r.int(1)?))
    }

    /// An unfinished deduplication run over exactly this index, to resume.
    pub async fn open_link_run(&self, records: i64, last_record_seq: i64) -> Result<Option<LinkRun>, StoreError> {
        const SQL: &str = "SELECT run, model, next_record FROM link_runs \
                           WHERE finished = 0 AND records = $1 AND last_record_seq = $2 ORDER BY started_seq DESC";
        let rows = self.read().fetch_all(SQL, &vals![records, last_record_seq]).await?;
        rows.first().map(|r| Ok(LinkRun { run: r.text(0)?, model: r.text(1)?, next_record: r.int(2)? })).transpose()
    }

    /// The last finished deduplication run's model (JSON), if any.
    pub async fn latest_link_model(&self) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT model FROM link_runs WHERE finished = 1 ORDER BY started_seq DESC LIMIT 1";
        Ok(self.read().fetch_optional(SQL, &[]).await?.map(|r| r.text(0)).transpose()?)
    }

    /// The last finished deduplication run, if any.
    pub async fn latest_finished_run(&self) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT run FROM link_runs WHERE finished = 1 ORDER BY started_seq DESC LIMIT 1";
        Ok(self.read().fetch_optional(SQL, &[]).await?.map(|r| r.text(0)).transpose()?)
    }

    /// The pairs a run linked or walled off on its own, by record number, from its events.
    pub async fn run_pairs(&self, run: &str) -> Result<Vec<MachinePair>, StoreError> {
        const SQL: &str =
            "SELECT payload FROM events WHERE stream = $1 AND kind = 'person_links_scored' ORDER BY stream_version";
        let mut out = Vec::new();
        for row in self.read().fetch_all(SQL, &vals![format!("dedupe-{run}")]).await? {
            match serde_json::from_str::<Event>(&row.text(0)?) {
                Ok(Event::PersonLinksScored { pairs, .. }) => out.extend(pairs),
                Ok(_) => {}
                Err(e) => return Err(StoreError::Corrupt(e.to_string())),
            }
        }
        Ok(out)
    }

    /// The stored pairs that bear on clustering: people's decisions, twin walls, and automatic
    /// links stored as rows (by runs before links moved into `MachinePair`s).
    pub async fn cluster_links(&self) -> Result<Vec<StoredLink>, StoreError> {
        self.links_where(links_sql!("WHERE human IS NOT NULL OR guard % 2 = 1 OR machine = 'auto'"), &[]).await
    }

    /// What identifies the state of the links: decisions made or undone, runs finished.
    pub async fn links_fingerprint(&self) -> Result<(i64, i64, i64), StoreError> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM person_links), (SELECT COALESCE(MAX(seq), 0) FROM person_links), \
                           (SELECT COALESCE(MAX(started_seq), 0) FROM link_runs WHERE finished = 1)";
        let r = self.read().fetch_one(SQL, &[]).await?;
        Ok((r.int(0)?, r.int(1)?, r.int(2)?))
    }

    /// The registered source systems, with their agencies' names.
    pub async fn person_sources(&self) -> Result<Vec<PersonSource>, StoreError> {
        const SQL: &str = "SELECT s.name, s.label, s.agency_id, a.name, s.fields FROM person_sources s \
                           JOIN agencies a ON a.id = s.agency_id ORDER BY s.name";
        self.read()
            .fetch_all(SQL, &[])
            .await?
            .iter()
            .map(|r| {
                Ok(PersonSource {
                    name: r.text(0)?,
                    label: r.text(1)?,
                    agency_id: parse(&r.text(2)?, "agency id")?,
                    agency_name: r.text(3)?,
                    fields: r.text(4)?.split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect(),
                })
            })
            .collect()
    }

    /// One person record.
    pub async fn person_record(&self, key: &RecordRef) -> Result<Option<StoredPerson>, StoreError> {
        const SQL: &str =
            concat!("SELECT ", person_columns!(), " FROM person_records WHERE source = $1 AND record_id = $2");
        let row = self.read().fetch_optional(SQL, &vals![key.source.as_str(), key.record_id.as_str()]).await?;
        row.map(|r| stored_person(&r, 0)).transpose()
    }

    /// Pairs waiting for a person (queued, undecided), most probable first.
    pub async fn queued_links(&self, limit: i64) -> Result<Vec<StoredLink>, StoreError> {
        self.links_where(
            links_sql!(
                "WHERE machine = 'queued' AND human IS NULL ORDER BY probability_ppm DESC, a_source, a_record LIMIT $1"
            ),
            &vals![limit],
        )
        .await
    }

    /// How many pairs wait for a person.
    pub async fn queued_link_count(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM person_links WHERE machine = 'queued' AND human IS NULL";
        Ok(self.read().fetch_one(SQL, &[]).await?.int(0)?)
    }

    /// Pairs people have decided on, most recent first.
    pub async fn decided_links(&self, limit: i64) -> Result<Vec<StoredLink>, StoreError> {
        self.links_where(links_sql!("WHERE human IS NOT NULL ORDER BY seq DESC LIMIT $1"), &vals![limit]).await
    }

    /// One pair (a < b).
    pub async fn person_link(&self, a: &RecordRef, b: &RecordRef) -> Result<Option<StoredLink>, StoreError> {
        let mut rows = self
            .links_where(
                links_sql!("WHERE a_source = $1 AND a_record = $2 AND b_source = $3 AND b_record = $4"),
                &vals![a.source.as_str(), a.record_id.as_str(), b.source.as_str(), b.record_id.as_str()],
            )
            .await?;
        Ok(rows.pop())
    }

    async fn links_where(&self, sql: &'static str, params: &[Val]) -> Result<Vec<StoredLink>, StoreError> {
        self.read()
            .fetch_all(sql, params)
            .await?
            .iter()
            .map(|r| {
                Ok(StoredLink {
                    a: RecordRef { source: r.text(0)?, record_id: r.text(1)? },
                    b: RecordRef { source: r.text(2)?, record_id: r.text(3)? },
                    machine: r.text(4)?,
                    probability_ppm: r.opt_int(5)?,
                    human: r.opt_text(6)?,
                    decided_by: r.opt_text(7)?,
                    reason: r.opt_text(8)?,
                    seq: r.int(9)?,
                    guard: r.int(10)? & 1 != 0,
                    weak: r.int(10)? & 2 != 0,
                })
            })
            .collect()
    }

    pub async fn person_record_count(&self) -> Result<i64, StoreError> {
        Ok(self.read().fetch_one("SELECT COUNT(*) FROM person_records", &[]).await?.int(0)?)
    }

    pub async fn event_count(&self) -> Result<i64, StoreError> {
        Ok(self.read().fetch_one("SELECT COUNT(*) FROM events", &[]).await?.int(0)?)
    }

    // ---- access log ------------------------------------------------------------------------

    pub async fn access_log(&self, limit: i64) -> Result<Vec<AccessLogRow>, StoreError> {
        const SQL: &str = "SELECT l.seq, l.at, u.username, a.name, l.action, l.record_type, l.record_id, l.purpose, l.outcome, l.reason \
                           FROM access_log l LEFT JOIN users u ON u.id = l.user_id LEFT JOIN agencies a ON a.id = l.agency_id \
                           ORDER BY l.seq DESC LIMIT $1";
        self.read().fetch_all(SQL, &vals![limit]).await?.iter().map(access_row).collect()
    }

    pub async fn access_log_for_record(
        &self,
        record_type: &str,
        record_id: &str,
    ) -> Result<Vec<AccessLogRow>, StoreError> {
        const SQL: &str = "SELECT l.seq, l.at, u.username, a.name, l.action, l.record_type, l.record_id, l.purpose, l.outcome, l.reason \
                           FROM access_log l LEFT JOIN users u ON u.id = l.user_id LEFT JOIN agencies a ON a.id = l.agency_id \
                           WHERE l.record_type = $1 AND l.record_id = $2 ORDER BY l.seq";
        self.read().fetch_all(SQL, &vals![record_type, record_id]).await?.iter().map(access_row).collect()
    }

    // ---- outbox ------------------------------------------------------------------------------

    pub async fn due_outbox(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        const SQL: &str = "SELECT id, channel, recipient, subject, body, attempts FROM outbox \
                           WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2";
        self.read()
            .fetch_all(SQL, &vals![micros(now), limit])
            .await?
            .iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.text(0)?,
                    channel: r.text(1)?,
                    recipient: r.text(2)?,
                    subject: r.text(3)?,
                    body: r.text(4)?,
                    attempts: r.int(5)?,
                })
            })
            .collect()
    }

    pub async fn mark_outbox_sent(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write_sql(vec![(
            "UPDATE outbox SET sent_at = $2, attempts = attempts + 1 WHERE id = $1",
            vals![id, micros(at)].to_vec(),
        )])
        .await
    }

    pub async fn mark_outbox_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_sql(vec![(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1",
            vals![id, error, micros(next_attempt)].to_vec(),
        )])
        .await
    }

    // ---- settings ----------------------------------------------------------------------------

    pub async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .read()
            .fetch_optional("SELECT value FROM meta WHERE key = $1", &vals![format!("setting:{key}")])
            .await?
            .map(|r| r.text(0))
            .transpose()?)
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write_sql(vec![(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            vals![format!("setting:{key}"), value].to_vec(),
        )])
        .await
    }
}

fn access_row(r: &Row) -> Result<AccessLogRow, StoreError> {
    Ok(AccessLogRow {
        seq: r.int(0)?,
        at: from_micros(r.int(1)?),
        username: r.opt_text(2)?,
        agency_name: r.opt_text(3)?,
        action: r.text(4)?,
        record_type: r.text(5)?,
        record_id: r.text(6)?,
        purpose: r.text(7)?,
        outcome: r.text(8)?,
        reason: r.text(9)?,
    })
}

// ---- the front door's triage: assessments, decisions, alerts, flags ---------------------------

/// An alert as the worklist and the API show it.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub id: AlertId,
    pub kind: String,
    pub child_id: ChildId,
    pub contact_id: Option<ContactId>,
    pub urgent: bool,
    pub owner_role: String,
    pub state: AlertState,
    pub raised_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub reason: String,
    pub escalated: bool,
    pub resolution: Option<String>,
    /// The one person of the owning team it is addressed to, if any.
    pub for_user: Option<UserId>,
}

const ALERT_COLUMNS: &str = "id, kind, child_id, contact_id, urgent, owner_role, state, raised_at, due_at, reason, escalated, resolution, for_user";

fn alert_from(r: &Row) -> Result<AlertRecord, StoreError> {
    let state = r.text(6)?;
    Ok(AlertRecord {
        id: parse(&r.text(0)?, "alert id")?,
        kind: r.text(1)?,
        child_id: parse(&r.text(2)?, "child id")?,
        contact_id: r.opt_text(3)?.map(|s| parse(&s, "contact id")).transpose()?,
        urgent: r.int(4)? != 0,
        owner_role: r.text(5)?,
        state: AlertState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("bad alert state '{state}'")))?,
        raised_at: from_micros(r.int(7)?),
        due_at: from_micros(r.int(8)?),
        reason: r.text(9)?,
        escalated: r.int(10)? != 0,
        resolution: r.opt_text(11)?,
        for_user: r.opt_text(12)?.map(|s| parse(&s, "user id")).transpose()?,
    })
}

/// A decision on a contact.
#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub outcome: DecisionOutcome,
    pub reasons: String,
    pub decided_by: Option<String>,
    pub decided_at: DateTime<Utc>,
}

/// One line of the advisor's worklist: a contact awaiting a decision.
#[derive(Debug, Clone)]
pub struct WorklistItem {
    pub contact: ContactRecord,
    pub given_name: String,
    pub family_name: String,
    pub call_type: String,
    pub level_of_need: u8,
    pub manager_decision: bool,
    pub decision_due: DateTime<Utc>,
    pub open_case: bool,
    pub open_alerts: i64,
    pub urgent_alerts: i64,
    /// Earlier contacts about the same child.
    pub prior_contacts: i64,
}

/// A person record as stored: its id in the source, and given name, family name, date of birth,
/// sex, postcode, address and phone as text (`None` when the source does not hold it).
/// A source system of person records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSource {
    pub name: String,
    pub label: String,
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub fields: Vec<String>,
}

/// A deduplication run to resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRun {
    pub run: String,
    pub model: String,
    pub next_record: i64,
}

/// A pair of person records as the matcher and people left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    pub a: RecordRef,
    pub b: RecordRef,
    /// `auto`, `queued` or `none`.
    pub machine: String,
    pub probability_ppm: Option<i64>,
    /// `same`, `different` or none.
    pub human: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub seq: i64,
    /// Possible twins: a wall for clustering unless a person said "same".
    pub guard: bool,
    /// One side lacks a given name: holds only if unambiguous.
    pub weak: bool,
}

impl StoredLink {
    /// Whether the records count as one person: a person's word, else the matcher's.
    pub fn linked(&self) -> bool {
        match self.human.as_deref() {
            Some(h) => h == "same",
            None => self.machine == "auto",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPerson {
    pub record_id: String,
    /// The record's number (see `MachinePair`).
    pub num: i64,
    pub fields: [Option<String>; 7],
}

/// The times, from and until (both included), in which [`Store::child_history`] counts for each
/// rule: contacts, missing episodes, sexual-health notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryWindows {
    pub contacts: (DateTime<Utc>, DateTime<Utc>),
    pub missing: (DateTime<Utc>, DateTime<Utc>),
    pub sexual_health: (DateTime<Utc>, DateTime<Utc>),
}

impl HistoryWindows {
    /// Each rule's window of that many days back from `at`, and on without end (as intake
    /// counts: everything the record holds from the window's start).
    pub fn since(at: DateTime<Utc>, days: [u32; 3]) -> HistoryWindows {
        let back = |d: u32| (at - chrono::Duration::days(i64::from(d)), DateTime::<Utc>::MAX_UTC);
        HistoryWindows { contacts: back(days[0]), missing: back(days[1]), sexual_health: back(days[2]) }
    }
}

/// What the alert rules count about a child before a new contact (see `Store::child_history`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildHistory {
    pub contacts: i64,
    pub missing_episodes: i64,
    pub emergency_contraception: i64,
    pub condom_card: i64,
    pub flags: Vec<ChildFlag>,
    /// Alert kinds with an open or acknowledged alert about the child.
    pub unresolved_alerts: Vec<String>,
}

/// A contact whose decision is overdue and has no `decision_overdue` alert yet.
#[derive(Debug, Clone)]
pub struct OverdueContact {
    pub contact_id: ContactId,
    pub child_id: ChildId,
    pub reference: String,
    pub decision_due: DateTime<Utc>,
}

impl Store {
    /// Every event of one contact's stream, in order (receipt, screening, assessment, decision).
    pub async fn contact_events(&self, id: ContactId) -> Result<Vec<Event>, StoreError> {
        self.read()
            .fetch_all(
                "SELECT payload FROM events WHERE stream = $1 ORDER BY stream_version",
                &vals![format!("contact-{id}")],
            )
            .await?
            .iter()
            .map(|r| serde_json::from_str::<Event>(&r.text(0)?).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    pub async fn decision(&self, contact: ContactId) -> Result<Option<DecisionRecord>, StoreError> {
        const SQL: &str = "SELECT d.outcome, d.reasons, u.username, d.decided_at FROM decisions d \
                           LEFT JOIN users u ON u.id = d.decided_by WHERE d.contact_id = $1";
        let Some(r) = self.read().fetch_optional(SQL, &vals![contact.to_string()]).await? else { return Ok(None) };
        let outcome = r.text(0)?;
        Ok(Some(DecisionRecord {
            outcome: DecisionOutcome::parse(&outcome)
                .ok_or_else(|| StoreError::Corrupt(format!("bad decision outcome '{outcome}'")))?,
            reasons: r.text(1)?,
            decided_by: r.opt_text(2)?,
            decided_at: from_micros(r.int(3)?),
        }))
    }

    pub async fn alert(&self, id: AlertId) -> Result<Option<AlertRecord>, StoreError> {
        const SQL: &str = "SELECT id, kind, child_id, contact_id, urgent, owner_role, state, raised_at, due_at, reason, escalated, resolution, for_user \
                           FROM alerts WHERE id = $1";
        debug_assert!(SQL.contains(ALERT_COLUMNS));
        self.read().fetch_optional(SQL, &vals![id.to_string()]).await?.map(|r| alert_from(&r)).transpose()
    }

    pub async fn alerts_for_contact(&self, contact: ContactId) -> Result<Vec<AlertRecord>, StoreError> {
        const SQL: &str = "SELECT id, kind, child_id, contact_id, urgent, owner_role, state, raised_at, due_at, reason, escalated, resolution, for_user \
                           FROM alerts WHERE contact_id = $1 ORDER BY raised_at, id";
        self.read().fetch_all(SQL, &vals![contact.to_string()]).await?.iter().map(alert_from).collect()
    }

    pub async fn alerts_for_child(&self, child: ChildId) -> Result<Vec<AlertRecord>, StoreError> {
        const SQL: &str = "SELECT id, kind, child_id, contact_id, urgent, owner_role, state, raised_at, due_at, reason, escalated, resolution, for_user \
                           FROM alerts WHERE child_id = $1 ORDER BY raised_at, id";
        self.read().fetch_all(SQL, &vals![child.to_string()]).await?.iter().map(alert_from).collect()
    }

    /// Alerts not yet actioned or dismissed: urgent first, then by due time.
    pub async fn unresolved_alerts(&self, limit: i64) -> Result<Vec<AlertRecord>, StoreError> {
        const SQL: &str = "SELECT id, kind, child_id, contact_id, urgent, owner_role, state, raised_at, due_at, reason, escalated, resolution, for_user \
                           FROM alerts WHERE state IN ('open', 'acknowledged') ORDER BY urgent DESC, escalated DESC, due_at, id LIMIT $1";
        self.read().fetch_all(SQL, &vals![limit]).await?.iter().map(alert_from).collect()
    }

    /// Urgent alerts still unacknowledged and not yet escalated, raised at or before `raised_before`.
    pub async fn alerts_to_escalate(&self, raised_before: DateTime<Utc>) -> Result<Vec<AlertRecord>, StoreError> {
        const SQL: &str = "SELECT id, kind, child_id, contact_id, urgent, owner_role, state, raised_at, due_at, reason, escalated, resolution, for_user \
                           FROM alerts WHERE state = 'open' AND urgent = 1 AND escalated = 0 AND raised_at <= $1 ORDER BY raised_at LIMIT 500";
        self.read().fetch_all(SQL, &vals![micros(raised_before)]).await?.iter().map(alert_from).collect()
    }

    /// Everything the alert rules count about a child, in two queries: contacts received in
    /// `w.contacts`; missing episodes in `w.missing`; emergency contraception and condom-card
    /// notifications in `w.sexual_health`; flags; unresolved alert kinds.
    pub async fn child_history(&self, child: ChildId, w: &HistoryWindows) -> Result<ChildHistory, StoreError> {
        const COUNTS: &str = "SELECT \
            (SELECT COUNT(*) FROM contacts WHERE child_id = $1 AND received_at BETWEEN $2 AND $3), \
            (SELECT COUNT(*) FROM assessments a JOIN contacts c ON c.id = a.contact_id \
               WHERE a.child_id = $1 AND a.signal = 'missing_episode' AND c.received_at BETWEEN $4 AND $5), \
            (SELECT COUNT(*) FROM assessments a JOIN contacts c ON c.id = a.contact_id \
               WHERE a.child_id = $1 AND a.signal = 'emergency_contraception' AND c.received_at BETWEEN $6 AND $7), \
            (SELECT COUNT(*) FROM assessments a JOIN contacts c ON c.id = a.contact_id \
               WHERE a.child_id = $1 AND a.signal = 'condom_card' AND c.received_at BETWEEN $6 AND $7)";
        const MARKS: &str = "SELECT 'flag', flag FROM child_flags WHERE child_id = $1 \
            UNION ALL SELECT DISTINCT 'alert', kind FROM alerts WHERE child_id = $1 AND state IN ('open', 'acknowledged')";
        let id = child.to_string();
        let r = self
            .read()
            .fetch_one(
                COUNTS,
                &vals![
                    id.as_str(),
                    micros(w.contacts.0),
                    micros(w.contacts.1),
                    micros(w.missing.0),
                    micros(w.missing.1),
                    micros(w.sexual_health.0),
                    micros(w.sexual_health.1)
                ],
            )
            .await?;
        let mut history = ChildHistory {
            contacts: r.int(0)?,
            missing_episodes: r.int(1)?,
            emergency_contraception: r.int(2)?,
            condom_card: r.int(3)?,
            ..ChildHistory::default()
        };
        for r in self.read().fetch_all(MARKS, &vals![id.as_str()]).await? {
            let value = r.text(1)?;
            if r.text(0)? == "flag" {
                history
                    .flags
                    .push(ChildFlag::parse(&value).ok_or_else(|| StoreError::Corrupt(format!("bad flag '{value}'")))?);
            } else {
                history.unresolved_alerts.push(value);
            }
        }
        history.flags.sort();
        Ok(history)
    }

    /// Unresolved alerts a team (role) owns: (open or acknowledged, of which urgent, of which
    /// escalated).
    pub async fn team_alerts(&self, owner_role: &str) -> Result<(i64, i64, i64), StoreError> {
        const SQL: &str = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN urgent = 1 THEN 1 ELSE 0 END), 0), \
                           COALESCE(SUM(CASE WHEN escalated = 1 THEN 1 ELSE 0 END), 0) \
                           FROM alerts WHERE owner_role = $1 AND state IN ('open', 'acknowledged')";
        let r = self.read().fetch_one(SQL, &vals![owner_role]).await?;
        Ok((r.int(0)?, r.int(1)?, r.int(2)?))
    }

    /// Unresolved alerts addressed to one person.
    pub async fn alerts_addressed_to(&self, user: UserId) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM alerts WHERE for_user = $1 AND state IN ('open', 'acknowledged')";
        self.read().fetch_one(SQL, &vals![user.to_string()]).await?.int(0).map_err(Into::into)
    }

    /// Contacts awaiting a decision, and how many of them are overdue at `now`.
    pub async fn undecided(&self, now: DateTime<Utc>) -> Result<(i64, i64), StoreError> {
        const SQL: &str = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN a.decision_due_at < $1 THEN 1 ELSE 0 END), 0) \
                           FROM assessments a LEFT JOIN decisions d ON d.contact_id = a.contact_id WHERE d.contact_id IS NULL";
        let r = self.read().fetch_one(SQL, &vals![micros(now)]).await?;
        Ok((r.int(0)?, r.int(1)?))
    }

    /// The flags set on a child's record, with their notes.
    pub async fn child_flags(&self, child: ChildId) -> Result<Vec<(ChildFlag, String)>, StoreError> {
        const SQL: &str = "SELECT flag, note FROM child_flags WHERE child_id = $1 ORDER BY flag";
        self.read()
            .fetch_all(SQL, &vals![child.to_string()])
            .await?
            .iter()
            .map(|r| {
                let flag = r.text(0)?;
                Ok((
                    ChildFlag::parse(&flag).ok_or_else(|| StoreError::Corrupt(format!("bad flag '{flag}'")))?,
                    r.text(1)?,
                ))
            })
            .collect()
    }

    /// Contacts awaiting a decision, most urgent first: level of need, then those needing a
    /// manager, then those with urgent alerts, then the earliest due.
    pub async fn worklist(&self, limit: i64) -> Result<Vec<WorklistItem>, StoreError> {
        const SQL: &str = "SELECT c.id, c.reference, c.child_id, c.channel, c.source_code, c.narrative, c.received_at, c.recorded_by, c.owner_agency, c.seq, \
                           ch.given_name, ch.family_name, a.call_type, a.level_of_need, a.manager_decision, a.decision_due_at, a.open_case, \
                           (SELECT COUNT(*) FROM alerts al WHERE al.contact_id = c.id AND al.state IN ('open', 'acknowledged')), \
                           (SELECT COUNT(*) FROM alerts al WHERE al.contact_id = c.id AND al.state IN ('open', 'acknowledged') AND al.urgent = 1), \
                           (SELECT COUNT(*) FROM contacts p WHERE p.child_id = c.child_id AND p.received_at < c.received_at) \
                           FROM contacts c JOIN assessments a ON a.contact_id = c.id JOIN children ch ON ch.id = c.child_id \
                           LEFT JOIN decisions d ON d.contact_id = c.id WHERE d.contact_id IS NULL \
                           ORDER BY a.level_of_need DESC, a.manager_decision DESC, 19 DESC, a.decision_due_at, c.seq LIMIT $1";
        self.read()
            .fetch_all(SQL, &vals![limit])
            .await?
            .iter()
            .map(|r| {
                Ok(WorklistItem {
                    contact: contact_from(r)?,
                    given_name: r.text(10)?,
                    family_name: r.text(11)?,
                    call_type: r.text(12)?,
                    level_of_need: u8::try_from(r.int(13)?).unwrap_or(1),
                    manager_decision: r.int(14)? != 0,
                    decision_due: from_micros(r.int(15)?),
                    open_case: r.int(16)? != 0,
                    open_alerts: r.int(17)?,
                    urgent_alerts: r.int(18)?,
                    prior_contacts: r.int(19)?,
                })
            })
            .collect()
    }

    /// Undecided contacts due before `now` that have no `decision_overdue` alert yet.
    pub async fn overdue_decisions(&self, now: DateTime<Utc>) -> Result<Vec<OverdueContact>, StoreError> {
        const SQL: &str = "SELECT c.id, c.child_id, c.reference, a.decision_due_at FROM assessments a \
                           JOIN contacts c ON c.id = a.contact_id LEFT JOIN decisions d ON d.contact_id = a.contact_id \
                           WHERE d.contact_id IS NULL AND a.decision_due_at < $1 \
                           AND NOT EXISTS (SELECT 1 FROM alerts al WHERE al.contact_id = a.contact_id AND al.kind = 'decision_overdue') \
                           ORDER BY a.decision_due_at LIMIT 500";
        self.read()
            .fetch_all(SQL, &vals![micros(now)])
            .await?
            .iter()
            .map(|r| {
                Ok(OverdueContact {
                    contact_id: parse(&r.text(0)?, "contact id")?,
                    child_id: parse(&r.text(1)?, "child id")?,
                    reference: r.text(2)?,
                    decision_due: from_micros(r.int(3)?),
                })
            })
            .collect()
    }
}
