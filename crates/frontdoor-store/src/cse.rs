//! Reads of the CSE pathway's projections (F7, F8). Each case carries the core's
//! `pathway::Case`, from which callers derive deadlines and possible steps with the
//! configuration's timescales.

use crate::db::{Row, vals};
use crate::queries::parse;
use crate::{Store, StoreError, from_micros, micros};
use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::pathway::{AuditRating, Case, DeadlineKind, SupportOutcome};
use frontdoor_core::{AuditId, CaseId, ChildId, ContactId, EnquiryId, Event, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub id: CaseId,
    pub child_id: ChildId,
    pub contact_id: Option<ContactId>,
    pub enquiry_id: Option<EnquiryId>,
    pub reason: String,
    pub case: Case,
    pub worker_name: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// One step in a case's history, as recorded.
#[derive(Debug, Clone)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    pub event: Event,
    pub by: Option<String>,
}

/// An allocation over the caseload maximum, made with a manager's override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideRecord {
    pub case_id: CaseId,
    pub worker: UserId,
    pub worker_name: String,
    pub reason: String,
    pub decided_by: Option<String>,
    pub at: DateTime<Utc>,
}

macro_rules! case_sql {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.child_id, c.contact_id, c.enquiry_id, c.reason, c.state, u.display_name, c.updated_at \
             FROM cse_cases c LEFT JOIN users u ON u.id = c.worker ",
            $tail
        )
    };
}

fn case_from(r: &Row) -> Result<CaseRecord, StoreError> {
    Ok(CaseRecord {
        id: parse(&r.text(0)?, "case id")?,
        child_id: parse(&r.text(1)?, "child id")?,
        contact_id: r.opt_text(2)?.map(|s| parse(&s, "contact id")).transpose()?,
        enquiry_id: r.opt_text(3)?.map(|s| parse(&s, "enquiry id")).transpose()?,
        reason: r.text(4)?,
        case: serde_json::from_str(&r.text(5)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        worker_name: r.opt_text(6)?,
        updated_at: from_micros(r.int(7)?),
    })
}

/// A referral from a case to a support service, as last recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportReferral {
    pub case_id: CaseId,
    pub service: String,
    pub outcome: SupportOutcome,
    pub note: String,
    pub recontact_on: Option<NaiveDate>,
    pub recorded_by: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

fn referral_from(r: &Row) -> Result<SupportReferral, StoreError> {
    Ok(SupportReferral {
        case_id: parse(&r.text(0)?, "case id")?,
        service: r.text(1)?,
        outcome: SupportOutcome::parse(&r.text(2)?).ok_or_else(|| StoreError::Corrupt("bad support outcome".into()))?,
        note: r.text(3)?,
        recontact_on: r.opt_text(4)?.map(|d| parse(&d, "date")).transpose()?,
        recorded_by: r.opt_text(5)?,
        recorded_at: from_micros(r.int(6)?),
    })
}

/// A follow-up audit as drawn, with its findings so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: AuditId,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub seed: u64,
    pub percent: u32,
    pub population: u32,
    pub cases: Vec<CaseId>,
    pub drawn_by: Option<String>,
    pub drawn_at: DateTime<Utc>,
    /// (case, rating, finding, recorded by)
    pub findings: Vec<(CaseId, AuditRating, String, Option<String>)>,
}

impl Store {
    /// CSE referrals made between the two times (inclusive start, exclusive end), by id.
    pub async fn cse_cases_referred_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CaseId>, StoreError> {
        self.read()
            .fetch_all(
                "SELECT id FROM cse_cases WHERE referred_at >= $1 AND referred_at < $2 ORDER BY id",
                &vals![crate::micros(from), crate::micros(to)],
            )
            .await?
            .iter()
            .map(|r| parse(&r.text(0)?, "case id"))
            .collect()
    }

    pub async fn audits(&self) -> Result<Vec<AuditRecord>, StoreError> {
        let ids: Vec<AuditId> = self
            .read()
            .fetch_all("SELECT id FROM audits ORDER BY drawn_at DESC", &[])
            .await?
            .iter()
            .map(|r| parse(&r.text(0)?, "audit id"))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(a) = self.audit(id).await? {
                out.push(a);
            }
        }
        Ok(out)
    }

    pub async fn audit(&self, id: AuditId) -> Result<Option<AuditRecord>, StoreError> {
        let Some(r) = self
            .read()
            .fetch_optional(
                "SELECT a.period_from, a.period_to, a.seed, a.percent, a.population, a.cases, u.display_name, a.drawn_at \
                 FROM audits a LEFT JOIN users u ON u.id = a.drawn_by WHERE a.id = $1",
                &vals![id.to_string()],
            )
            .await?
        else {
            return Ok(None);
        };
        let cases = r.text(5)?;
        let findings = self
            .read()
            .fetch_all(
                "SELECT f.case_id, f.rating, f.finding, u.display_name FROM audit_findings f LEFT JOIN users u ON u.id = f.recorded_by \
                 WHERE f.audit_id = $1 ORDER BY f.recorded_at",
                &vals![id.to_string()],
            )
            .await?
            .iter()
            .map(|f| {
                Ok((
                    parse(&f.text(0)?, "case id")?,
                    AuditRating::parse(&f.text(1)?).ok_or_else(|| StoreError::Corrupt("bad audit rating".into()))?,
                    f.text(2)?,
                    f.opt_text(3)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(AuditRecord {
            id,
            from: parse(&r.text(0)?, "date")?,
            to: parse(&r.text(1)?, "date")?,
            seed: parse(&r.text(2)?, "seed")?,
            percent: u32::try_from(r.int(3)?).map_err(|_| StoreError::Corrupt("bad percent".into()))?,
            population: u32::try_from(r.int(4)?).map_err(|_| StoreError::Corrupt("bad population".into()))?,
            cases: cases.split(',').filter(|s| !s.is_empty()).map(|s| parse(s, "case id")).collect::<Result<_, _>>()?,
            drawn_by: r.opt_text(6)?,
            drawn_at: from_micros(r.int(7)?),
            findings,
        }))
    }

    /// A case's support referrals, by service.
    pub async fn support_referrals(&self, case: CaseId) -> Result<Vec<SupportReferral>, StoreError> {
        self.read()
            .fetch_all(
                "SELECT s.case_id, s.service, s.outcome, s.note, s.recontact_on, u.display_name, s.recorded_at \
                 FROM support_referrals s LEFT JOIN users u ON u.id = s.recorded_by WHERE s.case_id = $1 ORDER BY s.recorded_at",
                &vals![case.to_string()],
            )
            .await?
            .iter()
            .map(referral_from)
            .collect()
    }

    /// Declined referrals whose re-contact date has come and not yet been alerted.
    pub async fn support_recontacts_due(&self, today: NaiveDate) -> Result<Vec<SupportReferral>, StoreError> {
        self.read()
            .fetch_all(
                "SELECT s.case_id, s.service, s.outcome, s.note, s.recontact_on, u.display_name, s.recorded_at \
                 FROM support_referrals s LEFT JOIN users u ON u.id = s.recorded_by \
                 WHERE s.recontact_alerted = 0 AND s.recontact_on IS NOT NULL AND s.recontact_on <= $1 ORDER BY s.recontact_on",
                &vals![today.to_string()],
            )
            .await?
            .iter()
            .map(referral_from)
            .collect()
    }

    pub async fn cse_case(&self, id: CaseId) -> Result<Option<CaseRecord>, StoreError> {
        self.read()
            .fetch_optional(case_sql!("WHERE c.id = $1"), &vals![id.to_string()])
            .await?
            .map(|r| case_from(&r))
            .transpose()
    }

    /// Open cases (oldest referral first), or every case when `include_closed`.
    pub async fn cse_cases(&self, include_closed: bool, limit: i64) -> Result<Vec<CaseRecord>, StoreError> {
        let rows = if include_closed {
            self.read().fetch_all(case_sql!("ORDER BY c.referred_at LIMIT $1"), &vals![limit]).await?
        } else {
            self.read()
                .fetch_all(case_sql!("WHERE c.stage <> 'closed' ORDER BY c.referred_at LIMIT $1"), &vals![limit])
                .await?
        };
        rows.iter().map(case_from).collect()
    }

    pub async fn cse_cases_of_child(&self, child: ChildId) -> Result<Vec<CaseRecord>, StoreError> {
        let rows = self
            .read()
            .fetch_all(case_sql!("WHERE c.child_id = $1 ORDER BY c.referred_at"), &vals![child.to_string()])
            .await?;
        rows.iter().map(case_from).collect()
    }

    pub async fn cse_case_for_enquiry(&self, enquiry: EnquiryId) -> Result<Option<CaseRecord>, StoreError> {
        self.read()
            .fetch_optional(case_sql!("WHERE c.enquiry_id = $1"), &vals![enquiry.to_string()])
            .await?
            .map(|r| case_from(&r))
            .transpose()
    }

    /// Open cases allocated to a worker.
    pub async fn cse_cases_of_worker(&self, worker: UserId) -> Result<Vec<CaseRecord>, StoreError> {
        let rows = self
            .read()
            .fetch_all(
                case_sql!("WHERE c.worker = $1 AND c.stage <> 'closed' ORDER BY c.referred_at"),
                &vals![worker.to_string()],
            )
            .await?;
        rows.iter().map(case_from).collect()
    }

    /// Has the sweep already recorded this deadline as missed?
    pub async fn deadline_alerted(
        &self,
        case: CaseId,
        what: DeadlineKind,
        due: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .read()
            .fetch_optional(
                "SELECT 1 FROM cse_deadline_alerts WHERE case_id = $1 AND deadline = $2 AND due_at = $3",
                &vals![case.to_string(), what.as_str(), micros(due)],
            )
            .await?
            .is_some())
    }

    /// A case's events in order, with who recorded each.
    pub async fn cse_case_history(&self, id: CaseId) -> Result<Vec<CaseEvent>, StoreError> {
        self.read()
            .fetch_all(
                "SELECT e.recorded_at, e.payload, u.display_name FROM events e LEFT JOIN users u ON u.id = e.actor_user \
                 WHERE e.stream = $1 ORDER BY e.stream_version",
                &vals![format!("cse-case-{id}")],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(CaseEvent {
                    at: from_micros(r.int(0)?),
                    event: serde_json::from_str(&r.text(1)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    by: r.opt_text(2)?,
                })
            })
            .collect()
    }

    /// Allocations over the caseload maximum since `since`, newest first.
    pub async fn caseload_overrides(&self, since: DateTime<Utc>) -> Result<Vec<OverrideRecord>, StoreError> {
        self.read()
            .fetch_all(
                "SELECT o.case_id, o.worker, COALESCE(w.display_name, ''), o.reason, d.display_name, o.at \
                 FROM caseload_overrides o LEFT JOIN users w ON w.id = o.worker LEFT JOIN users d ON d.id = o.decided_by \
                 WHERE o.at >= $1 ORDER BY o.at DESC",
                &vals![micros(since)],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(OverrideRecord {
                    case_id: parse(&r.text(0)?, "case id")?,
                    worker: parse(&r.text(1)?, "user id")?,
                    worker_name: r.text(2)?,
                    reason: r.text(3)?,
                    decided_by: r.opt_text(4)?,
                    at: from_micros(r.int(5)?),
                })
            })
            .collect()
    }
}
