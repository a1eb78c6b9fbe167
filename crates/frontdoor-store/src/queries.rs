//! Reads of the projections, and writes to operational tables (sessions, credentials, login
//! throttling, outbox state, settings).

use crate::db::{Row, vals};
use crate::{Store, StoreError, from_micros, micros};
use chrono::{DateTime, Utc};
use frontdoor_core::{AgencyId, AgencyKind, ChildId, ContactId, Event, IndicatorMention, Role, UserId};
use std::str::FromStr;

fn parse<T: FromStr>(s: &str, what: &str) -> Result<T, StoreError> {
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

    pub async fn child_by_match_key(&self, key: &str) -> Result<Option<ChildId>, StoreError> {
        self.read()
            .fetch_optional("SELECT id FROM children WHERE match_key = $1 ORDER BY created_at LIMIT 1", &vals![key])
            .await?
            .map(|r| parse(&r.text(0)?, "child id"))
            .transpose()
    }

    pub async fn child(&self, id: ChildId) -> Result<Option<ChildRecord>, StoreError> {
        self.read()
            .fetch_optional(
                "SELECT id, given_name, family_name, date_of_birth, sex, postcode FROM children WHERE id = $1",
                &vals![id.to_string()],
            )
            .await?
            .map(|r| {
                Ok(ChildRecord {
                    id: parse(&r.text(0)?, "child id")?,
                    given_name: r.text(1)?,
                    family_name: r.text(2)?,
                    date_of_birth: r.opt_text(3)?,
                    sex: r.opt_text(4)?,
                    postcode: r.opt_text(5)?,
                })
            })
            .transpose()
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
        Ok(ContactStats { contacts, children, by_source, received_at })
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
