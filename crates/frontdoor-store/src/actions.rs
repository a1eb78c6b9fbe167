//! Reads of assigned actions (F9).

use crate::db::{Row, vals};
use crate::queries::parse;
use crate::{Store, StoreError, from_micros};
use chrono::{DateTime, NaiveDate, Utc};
use frontdoor_core::{ActionItemId, AgencyId, CaseId, ChildId, ContactId, EnquiryId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    pub id: ActionItemId,
    pub child_id: ChildId,
    pub case_id: Option<CaseId>,
    pub enquiry_id: Option<EnquiryId>,
    pub what: String,
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub assignee: Option<UserId>,
    pub assignee_name: Option<String>,
    pub due_on: NaiveDate,
    pub assigned_by: Option<String>,
    pub assigned_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub outcome: Option<String>,
    /// The sweep has recorded it overdue.
    pub overdue_recorded: bool,
    /// Who assigned it (their name is `assigned_by`).
    pub assigner: Option<UserId>,
}

macro_rules! action_sql {
    ($tail:literal) => {
        concat!(
            "SELECT x.id, x.child_id, x.case_id, x.enquiry_id, x.what, x.agency_id, COALESCE(a.name, ''), x.assignee, \
             au.display_name, x.due_on, bu.display_name, x.assigned_at, x.completed_at, cu.display_name, x.outcome, x.overdue, x.assigned_by \
             FROM action_items x LEFT JOIN agencies a ON a.id = x.agency_id LEFT JOIN users au ON au.id = x.assignee \
             LEFT JOIN users bu ON bu.id = x.assigned_by LEFT JOIN users cu ON cu.id = x.completed_by ",
            $tail
        )
    };
}

fn action_from(r: &Row) -> Result<ActionRecord, StoreError> {
    Ok(ActionRecord {
        id: parse(&r.text(0)?, "action id")?,
        child_id: parse(&r.text(1)?, "child id")?,
        case_id: r.opt_text(2)?.map(|s| parse(&s, "case id")).transpose()?,
        enquiry_id: r.opt_text(3)?.map(|s| parse(&s, "enquiry id")).transpose()?,
        what: r.text(4)?,
        agency_id: parse(&r.text(5)?, "agency id")?,
        agency_name: r.text(6)?,
        assignee: r.opt_text(7)?.map(|s| parse(&s, "user id")).transpose()?,
        assignee_name: r.opt_text(8)?,
        due_on: parse(&r.text(9)?, "date")?,
        assigned_by: r.opt_text(10)?,
        assigned_at: from_micros(r.int(11)?),
        completed_at: r.opt_int(12)?.map(from_micros),
        completed_by: r.opt_text(13)?,
        outcome: r.opt_text(14)?,
        overdue_recorded: r.int(15)? != 0,
        assigner: r.opt_text(16)?.map(|s| parse(&s, "user id")).transpose()?,
    })
}

impl Store {
    pub async fn action_item(&self, id: ActionItemId) -> Result<Option<ActionRecord>, StoreError> {
        self.read()
            .fetch_optional(action_sql!("WHERE x.id = $1"), &vals![id.to_string()])
            .await?
            .map(|r| action_from(&r))
            .transpose()
    }

    /// Actions, open ones first by due date, then the done, latest first; only one agency's when
    /// `agency` is given.
    pub async fn action_items(&self, agency: Option<AgencyId>, limit: i64) -> Result<Vec<ActionRecord>, StoreError> {
        let rows = match agency {
            Some(a) => {
                self.read()
                    .fetch_all(
                        action_sql!(
                            "WHERE x.agency_id = $1 ORDER BY CASE WHEN x.completed_at IS NULL THEN 0 ELSE 1 END, x.due_on, x.assigned_at LIMIT $2"
                        ),
                        &vals![a.to_string(), limit],
                    )
                    .await?
            }
            None => {
                self.read()
                    .fetch_all(
                        action_sql!(
                            "ORDER BY CASE WHEN x.completed_at IS NULL THEN 0 ELSE 1 END, x.due_on, x.assigned_at LIMIT $1"
                        ),
                        &vals![limit],
                    )
                    .await?
            }
        };
        rows.iter().map(action_from).collect()
    }

    /// Actions about one child, in the order assigned.
    pub async fn action_items_of_child(&self, child: ChildId) -> Result<Vec<ActionRecord>, StoreError> {
        let rows = self
            .read()
            .fetch_all(action_sql!("WHERE x.child_id = $1 ORDER BY x.assigned_at"), &vals![child.to_string()])
            .await?;
        rows.iter().map(action_from).collect()
    }

    /// Open actions due before `today` that the sweep has not yet recorded overdue.
    pub async fn actions_newly_overdue(&self, today: NaiveDate) -> Result<Vec<ActionRecord>, StoreError> {
        let rows = self
            .read()
            .fetch_all(
                action_sql!("WHERE x.completed_at IS NULL AND x.overdue = 0 AND x.due_on < $1 ORDER BY x.due_on"),
                &vals![today.to_string()],
            )
            .await?;
        rows.iter().map(action_from).collect()
    }
}

/// A notification sent to a partner agency at a transition (F15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: frontdoor_core::NotificationId,
    pub child_id: ChildId,
    pub case_id: Option<CaseId>,
    pub to_agency: AgencyId,
    pub to_agency_name: String,
    pub transition: frontdoor_core::pathway::TransitionKind,
    pub lawful_basis: String,
    pub message: String,
    pub sent_by: Option<String>,
    pub sent_at: DateTime<Utc>,
}

impl Store {
    /// Notifications, newest first; one agency's when `agency` is given; one case's when `case` is.
    pub async fn partner_notifications(
        &self,
        agency: Option<AgencyId>,
        case: Option<CaseId>,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = self
            .read()
            .fetch_all(
                "SELECT n.id, n.child_id, n.case_id, n.to_agency, COALESCE(a.name, ''), n.transition, n.lawful_basis, n.message, \
                 u.display_name, n.sent_at FROM partner_notifications n LEFT JOIN agencies a ON a.id = n.to_agency \
                 LEFT JOIN users u ON u.id = n.sent_by \
                 WHERE ($1 = '' OR n.to_agency = $1) AND ($2 = '' OR n.case_id = $2) ORDER BY n.sent_at DESC LIMIT 500",
                &vals![agency.map(|a| a.to_string()).unwrap_or_default(), case.map(|c| c.to_string()).unwrap_or_default()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(NotificationRecord {
                    id: parse(&r.text(0)?, "notification id")?,
                    child_id: parse(&r.text(1)?, "child id")?,
                    case_id: r.opt_text(2)?.map(|s| parse(&s, "case id")).transpose()?,
                    to_agency: parse(&r.text(3)?, "agency id")?,
                    to_agency_name: r.text(4)?,
                    transition: frontdoor_core::pathway::TransitionKind::parse(&r.text(5)?)
                        .ok_or_else(|| StoreError::Corrupt("bad transition".into()))?,
                    lawful_basis: r.text(6)?,
                    message: r.text(7)?,
                    sent_by: r.opt_text(8)?,
                    sent_at: from_micros(r.int(9)?),
                })
            })
            .collect()
    }
}

/// An anonymous online sender's follow-up, found by their code's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub contact_id: ContactId,
    pub child_id: ChildId,
    pub reference: String,
    pub status_message: Option<String>,
    pub status_at: Option<DateTime<Utc>>,
}

impl Store {
    /// The follow-up whose code hashes to `code_hash`, if any.
    pub async fn follow_up_by_code(&self, code_hash: &str) -> Result<Option<FollowUp>, StoreError> {
        const SQL: &str = "SELECT f.contact_id, c.child_id, c.reference, f.status_message, f.status_at \
                           FROM contact_followups f JOIN contacts c ON c.id = f.contact_id WHERE f.code_hash = $1";
        self.follow_up(SQL, code_hash.to_owned()).await
    }

    /// A contact's follow-up, if its sender was given a code.
    pub async fn follow_up_of(&self, contact: ContactId) -> Result<Option<FollowUp>, StoreError> {
        const SQL: &str = "SELECT f.contact_id, c.child_id, c.reference, f.status_message, f.status_at \
                           FROM contact_followups f JOIN contacts c ON c.id = f.contact_id WHERE f.contact_id = $1";
        self.follow_up(SQL, contact.to_string()).await
    }

    async fn follow_up(&self, sql: &'static str, key: String) -> Result<Option<FollowUp>, StoreError> {
        let Some(r) = self.read().fetch_optional(sql, &vals![key]).await? else { return Ok(None) };
        Ok(Some(FollowUp {
            contact_id: parse(&r.text(0)?, "contact id")?,
            child_id: parse(&r.text(1)?, "child id")?,
            reference: r.text(2)?,
            status_message: r.opt_text(3)?,
            status_at: r.opt_int(4)?.map(from_micros),
        }))
    }

    /// What an anonymous sender added to a contact later: (text, when), oldest first.
    pub async fn contact_additions(&self, contact: ContactId) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        const SQL: &str = "SELECT text, added_at FROM contact_additions WHERE contact_id = $1 ORDER BY seq";
        self.read()
            .fetch_all(SQL, &vals![contact.to_string()])
            .await?
            .iter()
            .map(|r| Ok((r.text(0)?, from_micros(r.int(1)?))))
            .collect()
    }
}
