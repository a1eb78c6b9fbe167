//! Reads of the enquiry projections (F6). Who may see what is not decided here: every row
//! carries what the policy needs (the enquiry's parties, the contribution's agency and the
//! agencies it was released to).

use crate::db::{Row, vals};
use crate::queries::parse;
use crate::{Store, StoreError, from_micros};
use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::{
    AgencyId, ChildId, Confidence, ContributionId, ContributionText, EnquiryId, EnquiryOutcome, EnquiryParties,
    PersonOfConcern, ReleaseBasis, UserId,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnquiryRecord {
    pub id: EnquiryId,
    pub child_id: Option<ChildId>,
    pub person_of_concern: Option<PersonOfConcern>,
    pub lead: UserId,
    pub lead_name: String,
    pub lead_agency: AgencyId,
    pub question: String,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub agencies: Vec<AgencyId>,
    pub managers: Vec<UserId>,
    pub outcome: Option<EnquiryOutcome>,
    pub outcome_reasons: Option<String>,
    pub concluded_by: Option<String>,
    pub concluded_at: Option<DateTime<Utc>>,
}

impl EnquiryRecord {
    /// Who the enquiry belongs to, as the policy sees it.
    pub fn parties(&self) -> EnquiryParties {
        EnquiryParties { lead: self.lead, managers: self.managers.clone(), asked: self.agencies.clone() }
    }
    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    pub to_agency: AgencyId,
    pub to_agency_name: String,
    pub basis: ReleaseBasis,
    pub lawful_basis: String,
    pub reason: String,
    pub released_by: Option<String>,
    pub released_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionRecord {
    pub id: ContributionId,
    pub enquiry_id: EnquiryId,
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub recorded_by: Option<String>,
    pub contribution: ContributionText,
    pub recorded_at: DateTime<Utc>,
    pub amended_at: Option<DateTime<Utc>>,
    pub releases: Vec<ReleaseRecord>,
}

impl ContributionRecord {
    pub fn released_to(&self) -> Vec<AgencyId> {
        self.releases.iter().map(|r| r.to_agency).collect()
    }
}

/// The enquiry columns [`enquiry_from`] reads, then a query's own tail.
macro_rules! enquiry_sql {
    ($tail:literal) => {
        concat!(
            "SELECT e.id, e.child_id, e.lead_user, COALESCE(u.display_name, ''), e.lead_agency, e.question, \
     e.opened_at, e.due_at, e.outcome, e.outcome_reasons, c.display_name, e.concluded_at, e.person_name, e.person_dob, \
     e.person_description \
     FROM enquiries e LEFT JOIN users u ON u.id = e.lead_user LEFT JOIN users c ON c.id = e.concluded_by",
            $tail
        )
    };
}

/// The contribution columns [`contribution_from`] reads, then a query's own tail.
macro_rules! contribution_sql {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.enquiry_id, c.agency_id, COALESCE(a.name, ''), u.display_name, c.text, c.known_on, \
     c.source, c.confidence, c.recorded_at, c.amended_at \
     FROM enquiry_contributions c LEFT JOIN agencies a ON a.id = c.agency_id LEFT JOIN users u ON u.id = c.user_id",
            $tail
        )
    };
}

impl Store {
    /// One enquiry with its asked agencies and named managers.
    pub async fn enquiry(&self, id: EnquiryId) -> Result<Option<EnquiryRecord>, StoreError> {
        const SQL: &str = enquiry_sql!(" WHERE e.id = $1");
        let Some(row) = self.read().fetch_optional(SQL, &vals![id.to_string()]).await? else { return Ok(None) };
        let mut e = enquiry_from(&row)?;
        self.members(&mut e).await?;
        Ok(Some(e))
    }

    /// The enquiries a user leads or manages, or that asked the user's agency: open ones first,
    /// soonest due first; then the concluded, latest first.
    pub async fn enquiries_for(
        &self,
        user: UserId,
        agency: AgencyId,
        limit: i64,
    ) -> Result<Vec<EnquiryRecord>, StoreError> {
        const SQL: &str = enquiry_sql!(
            " WHERE e.lead_user = $1 OR e.id IN (SELECT enquiry_id FROM enquiry_members \
              WHERE (kind = 'manager' AND member_id = $1) OR (kind = 'agency' AND member_id = $2)) \
              ORDER BY CASE WHEN e.outcome IS NULL THEN 0 ELSE 1 END, \
              CASE WHEN e.outcome IS NULL THEN e.due_at ELSE -e.concluded_at END LIMIT $3"
        );
        let rows = self.read().fetch_all(SQL, &vals![user.to_string(), agency.to_string(), limit]).await?;
        self.with_members(&rows).await
    }

    /// Every enquiry about a child, oldest first.
    pub async fn enquiries_of_child(&self, child: ChildId) -> Result<Vec<EnquiryRecord>, StoreError> {
        const SQL: &str = enquiry_sql!(" WHERE e.child_id = $1 ORDER BY e.opened_at");
        let rows = self.read().fetch_all(SQL, &vals![child.to_string()]).await?;
        self.with_members(&rows).await
    }

    /// Enquiry rows as records, each with its asked agencies and named managers.
    async fn with_members(&self, rows: &[Row]) -> Result<Vec<EnquiryRecord>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut e = enquiry_from(r)?;
            self.members(&mut e).await?;
            out.push(e);
        }
        Ok(out)
    }

    async fn members(&self, e: &mut EnquiryRecord) -> Result<(), StoreError> {
        let rows = self
            .read()
            .fetch_all(
                "SELECT kind, member_id FROM enquiry_members WHERE enquiry_id = $1 ORDER BY kind, member_id",
                &vals![e.id.to_string()],
            )
            .await?;
        for r in &rows {
            match r.text(0)?.as_str() {
                "agency" => e.agencies.push(parse(&r.text(1)?, "agency id")?),
                _ => e.managers.push(parse(&r.text(1)?, "user id")?),
            }
        }
        Ok(())
    }

    /// Every contribution to an enquiry, in the order recorded, with its releases. The caller
    /// shows each only to those the policy lets see it.
    pub async fn enquiry_contributions(&self, id: EnquiryId) -> Result<Vec<ContributionRecord>, StoreError> {
        const SQL: &str = contribution_sql!(" WHERE c.enquiry_id = $1 ORDER BY c.recorded_at, c.id");
        let rows = self.read().fetch_all(SQL, &vals![id.to_string()]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut c = contribution_from(r)?;
            self.releases(&mut c).await?;
            out.push(c);
        }
        Ok(out)
    }

    pub async fn enquiry_contribution(&self, id: ContributionId) -> Result<Option<ContributionRecord>, StoreError> {
        const SQL: &str = contribution_sql!(" WHERE c.id = $1");
        let Some(row) = self.read().fetch_optional(SQL, &vals![id.to_string()]).await? else { return Ok(None) };
        let mut c = contribution_from(&row)?;
        self.releases(&mut c).await?;
        Ok(Some(c))
    }

    async fn releases(&self, c: &mut ContributionRecord) -> Result<(), StoreError> {
        let rows = self
            .read()
            .fetch_all(
                "SELECT r.to_agency, COALESCE(a.name, ''), r.basis, r.lawful_basis, r.reason, u.display_name, r.released_at \
                 FROM enquiry_releases r LEFT JOIN agencies a ON a.id = r.to_agency LEFT JOIN users u ON u.id = r.released_by \
                 WHERE r.contribution_id = $1 ORDER BY r.released_at",
                &vals![c.id.to_string()],
            )
            .await?;
        for r in &rows {
            c.releases.push(ReleaseRecord {
                to_agency: parse(&r.text(0)?, "agency id")?,
                to_agency_name: r.text(1)?,
                basis: ReleaseBasis::parse(&r.text(2)?)
                    .ok_or_else(|| StoreError::Corrupt("bad release basis".into()))?,
                lawful_basis: r.text(3)?,
                reason: r.text(4)?,
                released_by: r.opt_text(5)?,
                released_at: from_micros(r.int(6)?),
            });
        }
        Ok(())
    }
}

fn enquiry_from(r: &Row) -> Result<EnquiryRecord, StoreError> {
    Ok(EnquiryRecord {
        id: parse(&r.text(0)?, "enquiry id")?,
        child_id: r.opt_text(1)?.map(|c| parse(&c, "child id")).transpose()?,
        person_of_concern: match r.opt_text(12)? {
            Some(name) => Some(PersonOfConcern {
                name,
                date_of_birth: r.opt_text(13)?.map(|d| parse(&d, "date")).transpose()?,
                description: r.opt_text(14)?.unwrap_or_default(),
            }),
            None => None,
        },
        lead: parse(&r.text(2)?, "user id")?,
        lead_name: r.text(3)?,
        lead_agency: parse(&r.text(4)?, "agency id")?,
        question: r.text(5)?,
        opened_at: from_micros(r.int(6)?),
        due_at: from_micros(r.int(7)?),
        agencies: Vec::new(),
        managers: Vec::new(),
        outcome: r
            .opt_text(8)?
            .map(|o| EnquiryOutcome::parse(&o).ok_or_else(|| StoreError::Corrupt(format!("bad outcome '{o}'"))))
            .transpose()?,
        outcome_reasons: r.opt_text(9)?,
        concluded_by: r.opt_text(10)?,
        concluded_at: r.opt_int(11)?.map(from_micros),
    })
}

fn contribution_from(r: &Row) -> Result<ContributionRecord, StoreError> {
    Ok(ContributionRecord {
        id: parse(&r.text(0)?, "contribution id")?,
        enquiry_id: parse(&r.text(1)?, "enquiry id")?,
        agency_id: parse(&r.text(2)?, "agency id")?,
        agency_name: r.text(3)?,
        recorded_by: r.opt_text(4)?,
        contribution: ContributionText {
            text: r.text(5)?,
            known_on: r.opt_text(6)?.map(|d| parse::<NaiveDate>(&d, "date")).transpose()?,
            source: r.text(7)?,
            confidence: Confidence::parse(&r.text(8)?).ok_or_else(|| StoreError::Corrupt("bad confidence".into()))?,
        },
        recorded_at: from_micros(r.int(9)?),
        amended_at: r.opt_int(10)?.map(from_micros),
        releases: Vec::new(),
    })
}
