//! Events: every change to Frontdoor's data is one of these, appended to the log. Tables that
//! pages read are projections of them. Payloads never hold secrets (no password hashes).

use crate::contact::ChildSubject;
use crate::enquiry::{ContributionText, EnquiryOutcome, PersonOfConcern, ReleaseBasis};
use crate::ids::{
    ActionItemId, AgencyId, AlertId, AuditId, CaseId, ChildId, ContactId, ContributionId, EnquiryId, NotificationId,
    UserId,
};
use crate::org::{AgencyKind, Role};
use crate::pathway::{AuditRating, ChildSetting, DeadlineKind, Step, SupportOutcome, TransitionKind};
use crate::triage::{ChildFlag, DecisionOutcome, Reporter, Signal};
use crate::values::{Channel, DateOfBirth, Narrative, PersonName, Postcode, Sex, SourceCode, Username};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a contact's child was found among the children already recorded when the details
/// differ: the matcher's probability (parts per million) and the child as the contact named them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildMatch {
    pub probability_ppm: u32,
    pub named: ChildSubject,
    /// Found by the exact name and date of birth of this record, whose contacts a person moved
    /// to the child's (the child was recorded twice); the probability is then 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<ChildId>,
}

/// One mention of an indicator term in a narrative. Offsets are bytes into the narrative as
/// recorded; negated and hypothetical mentions are kept (shown, but carrying no weight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorMention {
    pub term: String,
    pub matched: String,
    pub group: String,
    pub weight: u8,
    pub negated: bool,
    pub hypothetical: bool,
    pub start: usize,
    pub end: usize,
}

impl IndicatorMention {
    /// Neither negated nor hypothetical: the mention asserts the indicator and carries weight.
    pub fn is_positive(&self) -> bool {
        !self.negated && !self.hypothetical
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    AgencyRegistered {
        agency_id: AgencyId,
        name: String,
        agency_kind: AgencyKind,
    },
    UserRegistered {
        user_id: UserId,
        username: Username,
        display_name: String,
        agency_id: AgencyId,
        roles: Vec<Role>,
    },
    UserDisabled {
        user_id: UserId,
        reason: String,
    },
    /// The front door's own record of a child, created by the first contact about them.
    ChildRecorded {
        child_id: ChildId,
        subject: ChildSubject,
    },
    ContactReceived {
        contact_id: ContactId,
        reference: String,
        child_id: ChildId,
        channel: Channel,
        source_code: SourceCode,
        narrative: Narrative,
        received_at: DateTime<Utc>,
        /// The agency of the user who recorded it: it owns the record for access decisions.
        owner_agency: AgencyId,
        /// The reporter chose anonymity: no identity was asked for or kept.
        #[serde(default)]
        anonymous: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reporter: Option<Reporter>,
        /// Set when the matcher (F5), not the same name and date of birth, found the child:
        /// how sure it was, and the child as this contact named them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child_match: Option<ChildMatch>,
    },
    /// A contact found to be about a child the front door had already recorded (the child was
    /// recorded twice): it moves, with its assessment, decision and alerts, to that child's
    /// record. Both chronologies keep this entry; moving it back is another move.
    ContactMoved {
        contact_id: ContactId,
        from: ChildId,
        to: ChildId,
        reason: String,
    },
    /// The protocol's verdict on a contact (F2) and what the intake knew when it was made.
    ContactAssessed {
        contact_id: ContactId,
        child_id: ChildId,
        /// The protocol followed (its id) and the answers given, as parsed.
        call_type: String,
        answers: serde_json::Value,
        /// 1 universal, 2 early help, 3 complex, 4 acute.
        level_of_need: u8,
        /// Indicator groups the rules added to those screening found.
        indicators_added: Vec<String>,
        manager_decision: bool,
        /// One line per rule that fired.
        explanation: Vec<String>,
        /// The decision is due by then (one working day).
        decision_due: DateTime<Utc>,
        /// The child had an open case: recorded as a contact on that case, not a referral (Rec 24).
        open_case: bool,
        /// What a feed (or the call type) brought that the alert rules count.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<Signal>,
    },
    /// The front door's decision on a contact; the deciding user is the event's actor.
    ContactDecided {
        contact_id: ContactId,
        child_id: ChildId,
        outcome: DecisionOutcome,
        reasons: String,
    },
    /// An alert about a child (F4), owned by a team (a role) until someone acknowledges it.
    AlertRaised {
        alert_id: AlertId,
        /// `repeat_contacts`, `missing_episode`, ... (see the API documentation).
        alert_kind: String,
        child_id: ChildId,
        contact_id: Option<ContactId>,
        urgent: bool,
        /// The role whose members own it (`front_door_advisor`, `safeguarding_lead`, ...).
        owner_role: Role,
        due_at: DateTime<Utc>,
        /// Why, in words, without anything the contact itself does not hold.
        reason: String,
        /// A person the alert is addressed to within the owning team (the worker of a CSE case,
        /// the assigner of an overdue action); it shows on their home page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_user: Option<UserId>,
    },
    /// The actor took the alert on.
    AlertAcknowledged {
        alert_id: AlertId,
        child_id: ChildId,
    },
    AlertActioned {
        alert_id: AlertId,
        child_id: ChildId,
        note: String,
    },
    AlertDismissed {
        alert_id: AlertId,
        child_id: ChildId,
        reason: String,
    },
    /// Nobody acknowledged an urgent alert in time: it now belongs to the managers too.
    AlertEscalated {
        alert_id: AlertId,
        child_id: ChildId,
        to_role: Role,
    },
    /// A flag on the child's record was set or cleared.
    ChildFlagged {
        child_id: ChildId,
        flag: ChildFlag,
        set: bool,
        note: String,
    },
    /// An anonymous online sender's follow-up code, given with the reference (F14); only its
    /// SHA-256 hash is kept.
    ContactFollowUpIssued {
        contact_id: ContactId,
        code_hash: String,
    },
    /// The front door's short message for an anonymous online sender, read with their code.
    ContactStatusLeft {
        contact_id: ContactId,
        message: String,
    },
    /// An anonymous online sender added to their concern, with their code (no actor: nobody is
    /// signed in, and nothing identifies them).
    ContactInformationAdded {
        contact_id: ContactId,
        child_id: ChildId,
        text: String,
    },
    /// The child's GP practice, or the school or college they attend, as an agency (F15: who is
    /// told at an allocation or a transfer).
    ChildSettingRecorded {
        child_id: ChildId,
        setting: ChildSetting,
        agency_id: AgencyId,
    },
    /// What indicator screening found in a contact's narrative, recorded with the contact so
    /// the decision can be explained later even if the lexicon changes.
    ContactScreened {
        contact_id: ContactId,
        /// SHA-256 prefix of the lexicon text used.
        lexicon_version: String,
        indicators: Vec<IndicatorMention>,
    },
    /// A person record held by one of the authority's source systems (F5 indexes these).
    PersonRecordImported {
        source: String,
        record_id: String,
        given_name: Option<PersonName>,
        family_name: Option<PersonName>,
        date_of_birth: Option<DateOfBirth>,
        sex: Option<Sex>,
        postcode: Option<Postcode>,
        address: Option<String>,
        phone: Option<String>,
    },
    /// A source system of person records, and the agency that runs it (whose staff may see its
    /// records in a record check).
    PersonSourceRegistered {
        name: String,
        label: String,
        agency_id: AgencyId,
        /// The person fields the source holds (`given_name`, `date_of_birth`, ...).
        fields: Vec<String>,
    },
    /// A deduplication run of the person index began, with the model it scores by (JSON) and
    /// the index it covers (record count and last record sequence), so it can be resumed.
    PersonDedupeStarted {
        run: String,
        records: u64,
        last_record_seq: i64,
        model: String,
    },
    /// Pairs a run scored among records `from..to` (positions in the index's order): those
    /// waiting for a person by name (`links`); the automatic links and the twin walls nobody
    /// needs to look at compactly, by record number (`pairs`: a run links millions).
    PersonLinksScored {
        run: String,
        from: u64,
        to: u64,
        links: Vec<ScoredLink>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pairs: Vec<MachinePair>,
    },
    /// A run finished: how the index clustered.
    PersonDedupeFinished {
        run: String,
        records: u64,
        clusters: u64,
        auto_linked: u64,
        queued: u64,
    },
    /// A person decided whether two records are the same person. It always wins over scores.
    PersonLinkDecided {
        a: RecordRef,
        b: RecordRef,
        same: bool,
        reason: String,
    },
    /// A person's decision withdrawn: the pair is as the matcher left it.
    PersonLinkUndone {
        a: RecordRef,
        b: RecordRef,
        reason: String,
    },
    /// A multi-agency enquiry about a child, a suspected perpetrator, or both (F6). The actor is
    /// its lead. Its events enter the child's chronology when there is a child.
    EnquiryOpened {
        enquiry_id: EnquiryId,
        #[serde(default)]
        child_id: Option<ChildId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        person_of_concern: Option<PersonOfConcern>,
        question: String,
        /// The agencies asked.
        agencies: Vec<AgencyId>,
        /// Managers who see the whole enquiry besides the lead.
        managers: Vec<UserId>,
        due_at: DateTime<Utc>,
    },
    /// What one agency knows, in that agency's compartment.
    EnquiryContributed {
        enquiry_id: EnquiryId,
        contribution_id: ContributionId,
        #[serde(default)]
        child_id: Option<ChildId>,
        agency_id: AgencyId,
        contribution: ContributionText,
    },
    /// The contributing agency corrected its contribution (the earlier text stays in the log).
    EnquiryContributionAmended {
        enquiry_id: EnquiryId,
        contribution_id: ContributionId,
        #[serde(default)]
        child_id: Option<ChildId>,
        agency_id: AgencyId,
        contribution: ContributionText,
    },
    /// A contribution left its compartment for another agency, on consent or a safeguarding
    /// override, with the lawful basis for sharing.
    EnquiryInformationReleased {
        enquiry_id: EnquiryId,
        contribution_id: ContributionId,
        #[serde(default)]
        child_id: Option<ChildId>,
        to_agency: AgencyId,
        basis: ReleaseBasis,
        lawful_basis: String,
        reason: String,
    },
    EnquiryConcluded {
        enquiry_id: EnquiryId,
        #[serde(default)]
        child_id: Option<ChildId>,
        outcome: EnquiryOutcome,
        reasons: String,
    },
    /// A child referred to the CSE pathway (F7), from a contact's decision or an enquiry's
    /// outcome.
    CseCaseOpened {
        case_id: CaseId,
        child_id: ChildId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_id: Option<ContactId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enquiry_id: Option<EnquiryId>,
        reason: String,
    },
    /// One step along the pathway; the store re-applies it with `pathway::Case::apply`, so an
    /// illegal step can never be recorded.
    CseCaseStepped {
        case_id: CaseId,
        child_id: ChildId,
        step: Step,
        /// The young person's age when the step was taken (the pathway judges some steps by it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        age_years: Option<u32>,
    },
    /// An action assigned to an agency (and optionally one of its people), due by a date (F9).
    ActionAssigned {
        action_id: ActionItemId,
        child_id: ChildId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_id: Option<CaseId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enquiry_id: Option<EnquiryId>,
        what: String,
        agency_id: AgencyId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<UserId>,
        due_on: chrono::NaiveDate,
    },
    /// The assignee's agency recorded the action done, and with what result.
    ActionCompleted {
        action_id: ActionItemId,
        child_id: ChildId,
        outcome: String,
    },
    /// An action passed its due date undone (the sweep records it once, with its alert).
    ActionOverdue {
        action_id: ActionItemId,
        child_id: ChildId,
    },
    /// The CSE worker recorded what became of a referral to a support service (made, accepted,
    /// declined); a declined one may schedule a re-contact (Rec 8).
    SupportReferralRecorded {
        case_id: CaseId,
        child_id: ChildId,
        /// The service's id in the support directory.
        service: String,
        outcome: SupportOutcome,
        note: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recontact_on: Option<chrono::NaiveDate>,
    },
    /// A declined referral's re-contact date came (the sweep records it once, with its alert).
    SupportRecontactDue {
        case_id: CaseId,
        child_id: ChildId,
        service: String,
    },
    /// A reproducible sample of the CSE referrals made in a period, drawn for follow-up audit:
    /// the same period, seed and percentage always draw the same cases.
    AuditSampleDrawn {
        audit_id: AuditId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        seed: u64,
        percent: u32,
        /// How many referrals the period held.
        population: u32,
        cases: Vec<CaseId>,
    },
    /// The audit's finding on one sampled case.
    AuditFindingRecorded {
        audit_id: AuditId,
        case_id: CaseId,
        child_id: ChildId,
        rating: AuditRating,
        finding: String,
    },
    /// A partner agency was told about a transition (a CSE allocation, a college transfer), with
    /// the lawful basis for sharing; the message is what the agency's practitioners read.
    PartnerNotified {
        notification_id: NotificationId,
        child_id: ChildId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_id: Option<CaseId>,
        to_agency: AgencyId,
        transition: TransitionKind,
        lawful_basis: String,
        message: String,
    },
    /// A stage's deadline passed (the sweep records it once, with the alert it raises).
    CseDeadlineMissed {
        case_id: CaseId,
        child_id: ChildId,
        deadline: DeadlineKind,
        due_at: DateTime<Utc>,
    },
}

/// The record whose access rule governs an event (see [`Event::governed_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Governing {
    Enquiry(EnquiryId),
    Contribution(ContributionId),
    CseCase(CaseId),
    /// A notice sent to an agency: that agency, and whoever may see the case.
    Notification {
        to_agency: AgencyId,
        case_id: Option<CaseId>,
    },
    Audit,
    Action(ActionItemId),
}

/// One source system's record of a person.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordRef {
    pub source: String,
    pub record_id: String,
}

impl std::fmt::Display for RecordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.source, self.record_id)
    }
}

/// A scored pair of person records (`a` < `b`). Probability in millionths, so events stay exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoredLink {
    pub a: RecordRef,
    pub b: RecordRef,
    pub probability_ppm: u32,
    /// Linked without a person.
    pub auto: bool,
    /// Waiting for a person to decide (neither linked nor set aside).
    pub queued: bool,
    /// Possible twins: never linked without a person, and never part of a chain of links.
    pub guard: bool,
    /// One side has no given name: the link holds only if all such links of the record point
    /// to one person.
    #[serde(default)]
    pub weak: bool,
}

/// A pair the matcher decided alone, by the records' numbers (the sequence of the event that first
/// imported each: stable for as long as the record exists), as `[a, b, probability_ppm, flags]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachinePair(pub i64, pub i64, pub u32, pub u8);

impl MachinePair {
    /// Linked without a person.
    pub const AUTO: u8 = 1;
    /// Possible twins: a wall no chain of links may cross.
    pub const WALL: u8 = 2;
    /// One side has no given name (see [`ScoredLink::weak`]).
    pub const WEAK: u8 = 4;

    pub fn has(&self, flag: u8) -> bool {
        self.3 & flag != 0
    }
}

/// The `kind` column of the log, one per variant.
pub type EventKind = &'static str;

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::AgencyRegistered { .. } => "agency_registered",
            Event::UserRegistered { .. } => "user_registered",
            Event::UserDisabled { .. } => "user_disabled",
            Event::ChildRecorded { .. } => "child_recorded",
            Event::ContactReceived { .. } => "contact_received",
            Event::ContactMoved { .. } => "contact_moved",
            Event::PersonRecordImported { .. } => "person_record_imported",
            Event::PersonSourceRegistered { .. } => "person_source_registered",
            Event::PersonDedupeStarted { .. } => "person_dedupe_started",
            Event::PersonLinksScored { .. } => "person_links_scored",
            Event::PersonDedupeFinished { .. } => "person_dedupe_finished",
            Event::PersonLinkDecided { .. } => "person_link_decided",
            Event::PersonLinkUndone { .. } => "person_link_undone",
            Event::ContactScreened { .. } => "contact_screened",
            Event::ContactAssessed { .. } => "contact_assessed",
            Event::ContactDecided { .. } => "contact_decided",
            Event::AlertRaised { .. } => "alert_raised",
            Event::AlertAcknowledged { .. } => "alert_acknowledged",
            Event::AlertActioned { .. } => "alert_actioned",
            Event::AlertDismissed { .. } => "alert_dismissed",
            Event::AlertEscalated { .. } => "alert_escalated",
            Event::ChildFlagged { .. } => "child_flagged",
            Event::ChildSettingRecorded { .. } => "child_setting_recorded",
            Event::ContactFollowUpIssued { .. } => "contact_follow_up_issued",
            Event::ContactStatusLeft { .. } => "contact_status_left",
            Event::ContactInformationAdded { .. } => "contact_information_added",
            Event::EnquiryOpened { .. } => "enquiry_opened",
            Event::EnquiryContributed { .. } => "enquiry_contributed",
            Event::EnquiryContributionAmended { .. } => "enquiry_contribution_amended",
            Event::EnquiryInformationReleased { .. } => "enquiry_information_released",
            Event::EnquiryConcluded { .. } => "enquiry_concluded",
            Event::CseCaseOpened { .. } => "cse_case_opened",
            Event::CseCaseStepped { .. } => "cse_case_stepped",
            Event::CseDeadlineMissed { .. } => "cse_deadline_missed",
            Event::ActionAssigned { .. } => "action_assigned",
            Event::ActionCompleted { .. } => "action_completed",
            Event::ActionOverdue { .. } => "action_overdue",
            Event::SupportReferralRecorded { .. } => "support_referral_recorded",
            Event::SupportRecontactDue { .. } => "support_recontact_due",
            Event::AuditSampleDrawn { .. } => "audit_sample_drawn",
            Event::PartnerNotified { .. } => "partner_notified",
            Event::AuditFindingRecorded { .. } => "audit_finding_recorded",
        }
    }

    /// The stream this event belongs to: optimistic concurrency is per stream.
    pub fn stream(&self) -> String {
        match self {
            Event::AgencyRegistered { agency_id, .. } => format!("agency-{agency_id}"),
            Event::UserRegistered { user_id, .. } | Event::UserDisabled { user_id, .. } => {
                format!("user-{user_id}")
            }
            Event::ChildRecorded { child_id, .. } => format!("child-{child_id}"),
            Event::ContactReceived { contact_id, .. }
            | Event::ContactMoved { contact_id, .. }
            | Event::ContactScreened { contact_id, .. }
            | Event::ContactAssessed { contact_id, .. }
            | Event::ContactDecided { contact_id, .. }
            | Event::ContactFollowUpIssued { contact_id, .. }
            | Event::ContactStatusLeft { contact_id, .. }
            | Event::ContactInformationAdded { contact_id, .. } => format!("contact-{contact_id}"),
            Event::AlertRaised { alert_id, .. }
            | Event::AlertAcknowledged { alert_id, .. }
            | Event::AlertActioned { alert_id, .. }
            | Event::AlertDismissed { alert_id, .. }
            | Event::AlertEscalated { alert_id, .. } => format!("alert-{alert_id}"),
            Event::ChildFlagged { child_id, .. } | Event::ChildSettingRecorded { child_id, .. } => {
                format!("child-{child_id}")
            }
            Event::PersonRecordImported { source, record_id, .. } => format!("person-{source}-{record_id}"),
            Event::PersonSourceRegistered { name, .. } => format!("source-{name}"),
            Event::PersonDedupeStarted { run, .. }
            | Event::PersonLinksScored { run, .. }
            | Event::PersonDedupeFinished { run, .. } => format!("dedupe-{run}"),
            Event::PersonLinkDecided { a, b, .. } | Event::PersonLinkUndone { a, b, .. } => format!("link-{a}-{b}"),
            Event::EnquiryOpened { enquiry_id, .. }
            | Event::EnquiryContributed { enquiry_id, .. }
            | Event::EnquiryContributionAmended { enquiry_id, .. }
            | Event::EnquiryInformationReleased { enquiry_id, .. }
            | Event::EnquiryConcluded { enquiry_id, .. } => format!("enquiry-{enquiry_id}"),
            Event::CseCaseOpened { case_id, .. }
            | Event::CseCaseStepped { case_id, .. }
            | Event::CseDeadlineMissed { case_id, .. }
            | Event::SupportReferralRecorded { case_id, .. }
            | Event::SupportRecontactDue { case_id, .. } => format!("cse-case-{case_id}"),
            Event::PartnerNotified { notification_id, .. } => format!("notification-{notification_id}"),
            Event::AuditSampleDrawn { audit_id, .. } | Event::AuditFindingRecorded { audit_id, .. } => {
                format!("audit-{audit_id}")
            }
            Event::ActionAssigned { action_id, .. }
            | Event::ActionCompleted { action_id, .. }
            | Event::ActionOverdue { action_id, .. } => format!("action-{action_id}"),
        }
    }

    /// The record whose access rule governs this event wherever it is shown (a chronology, a
    /// list): an entry is seen only by those who may see that record. `None`: the child's
    /// chronology rule alone.
    pub fn governed_by(&self) -> Option<Governing> {
        match self {
            Event::EnquiryContributed { contribution_id, .. }
            | Event::EnquiryContributionAmended { contribution_id, .. }
            | Event::EnquiryInformationReleased { contribution_id, .. } => {
                Some(Governing::Contribution(*contribution_id))
            }
            Event::EnquiryOpened { enquiry_id, .. } | Event::EnquiryConcluded { enquiry_id, .. } => {
                Some(Governing::Enquiry(*enquiry_id))
            }
            Event::CseCaseOpened { case_id, .. }
            | Event::CseCaseStepped { case_id, .. }
            | Event::CseDeadlineMissed { case_id, .. }
            | Event::SupportReferralRecorded { case_id, .. }
            | Event::SupportRecontactDue { case_id, .. } => Some(Governing::CseCase(*case_id)),
            Event::PartnerNotified { to_agency, case_id, .. } => {
                Some(Governing::Notification { to_agency: *to_agency, case_id: *case_id })
            }
            Event::AuditFindingRecorded { .. } => Some(Governing::Audit),
            Event::ActionAssigned { action_id, .. }
            | Event::ActionCompleted { action_id, .. }
            | Event::ActionOverdue { action_id, .. } => Some(Governing::Action(*action_id)),
            _ => None,
        }
    }

    /// The child this event is about, if any: it then appears in that child's chronology.
    pub fn child(&self) -> Option<ChildId> {
        match self {
            Event::ChildRecorded { child_id, .. }
            | Event::ContactReceived { child_id, .. }
            | Event::ContactDecided { child_id, .. }
            | Event::ContactMoved { to: child_id, .. }
            | Event::ContactInformationAdded { child_id, .. }
            | Event::AlertRaised { child_id, .. }
            | Event::AlertActioned { child_id, .. }
            | Event::AlertDismissed { child_id, .. }
            | Event::AlertEscalated { child_id, .. }
            | Event::ChildFlagged { child_id, .. }
            | Event::ChildSettingRecorded { child_id, .. }
            | Event::CseCaseOpened { child_id, .. }
            | Event::CseCaseStepped { child_id, .. }
            | Event::CseDeadlineMissed { child_id, .. }
            | Event::ActionAssigned { child_id, .. }
            | Event::ActionCompleted { child_id, .. }
            | Event::ActionOverdue { child_id, .. }
            | Event::SupportReferralRecorded { child_id, .. }
            | Event::SupportRecontactDue { child_id, .. }
            | Event::AuditFindingRecorded { child_id, .. }
            | Event::PartnerNotified { child_id, .. } => Some(*child_id),
            Event::EnquiryOpened { child_id, .. }
            | Event::EnquiryContributed { child_id, .. }
            | Event::EnquiryContributionAmended { child_id, .. }
            | Event::EnquiryInformationReleased { child_id, .. }
            | Event::EnquiryConcluded { child_id, .. } => *child_id,
            // Assessments and acknowledgements are read with their contact or alert.
            _ => None,
        }
    }

    /// One line for a chronology, free of anything beyond what the event itself holds.
    pub fn summary(&self) -> String {
        match self {
            Event::AgencyRegistered { name, .. } => format!("Agency registered: {name}"),
            Event::UserRegistered { username, .. } => format!("User registered: {username}"),
            Event::UserDisabled { .. } => "User disabled".to_owned(),
            Event::ChildRecorded { .. } => "Child first recorded at the front door".to_owned(),
            Event::ContactReceived { reference, channel, source_code, .. } => {
                format!(
                    "Contact {reference} ({}, source {} {})",
                    channel.label(),
                    source_code.as_str(),
                    source_code.label()
                )
            }
            Event::PersonRecordImported { source, record_id, .. } => {
                format!("Record {record_id} imported from {source}")
            }
            Event::PersonSourceRegistered { label, .. } => format!("Source system registered: {label}"),
            Event::PersonDedupeStarted { records, .. } => format!("Deduplication of {records} person records started"),
            Event::PersonLinksScored { links, pairs, .. } => {
                let auto =
                    links.iter().filter(|l| l.auto).count() + pairs.iter().filter(|p| p.has(MachinePair::AUTO)).count();
                format!(
                    "{auto} record pair(s) linked, {} held back or queued for review",
                    links.len() + pairs.len() - auto
                )
            }
            Event::PersonDedupeFinished { records, clusters, .. } => {
                format!("Deduplication finished: {records} records in {clusters} people")
            }
            Event::PersonLinkDecided { a, b, same, reason } => {
                format!("{a} and {b} {} the same person: {reason}", if *same { "are" } else { "are not" })
            }
            Event::PersonLinkUndone { a, b, reason } => format!("Decision on {a} and {b} withdrawn: {reason}"),
            Event::ContactAssessed { call_type, level_of_need, .. } => {
                format!("Assessed under the {call_type} protocol: level of need {level_of_need}")
            }
            Event::ContactDecided { outcome, .. } => format!("Decision: {}", outcome.label()),
            Event::ContactMoved { reason, .. } => {
                format!("Contact moved between two records of the same child: {reason}")
            }
            Event::AlertRaised { alert_kind, reason, .. } => format!("Alert {alert_kind}: {reason}"),
            Event::AlertAcknowledged { .. } => "Alert acknowledged".to_owned(),
            Event::AlertActioned { .. } => "Alert actioned".to_owned(),
            Event::AlertDismissed { reason, .. } => format!("Alert dismissed: {reason}"),
            Event::AlertEscalated { to_role, .. } => format!("Alert escalated to {}", to_role.as_str()),
            Event::ChildFlagged { flag, set, .. } => {
                format!("{} flag {}", flag.label(), if *set { "set" } else { "cleared" })
            }
            Event::ChildSettingRecorded { setting, .. } => format!("{} recorded", setting.label()),
            Event::ContactFollowUpIssued { .. } => "Follow-up code given to the anonymous sender".to_owned(),
            Event::ContactStatusLeft { message, .. } => format!("Message left for the anonymous sender: {message}"),
            Event::ContactInformationAdded { text, .. } => format!("The anonymous sender added: {text}"),
            Event::EnquiryOpened { question, agencies, person_of_concern, .. } => match person_of_concern {
                Some(p) => format!(
                    "Multi-agency enquiry opened about a person of concern ({}), {} agencies asked: {question}",
                    p.name,
                    agencies.len()
                ),
                None => format!("Multi-agency enquiry opened, {} agencies asked: {question}", agencies.len()),
            },
            Event::EnquiryContributed { contribution: c, .. } => {
                format!("Enquiry contribution ({}, from {}): {}", c.confidence.label(), c.source, c.text)
            }
            Event::EnquiryContributionAmended { contribution: c, .. } => {
                format!("Enquiry contribution corrected ({}, from {}): {}", c.confidence.label(), c.source, c.text)
            }
            Event::EnquiryInformationReleased { basis, lawful_basis, reason, .. } => {
                format!("Enquiry contribution released ({}; {lawful_basis}): {reason}", basis.label())
            }
            Event::EnquiryConcluded { outcome, reasons, .. } => {
                format!("Enquiry concluded: {} – {reasons}", outcome.label())
            }
            Event::CseCaseOpened { reason, .. } => format!("Referred to the CSE pathway: {reason}"),
            Event::CseCaseStepped { step, .. } => step.summary(),
            Event::CseDeadlineMissed { deadline, due_at, .. } => {
                format!("CSE pathway: {} was due {} and is overdue", deadline.label(), due_at.format("%d %b %Y %H:%M"))
            }
            Event::ActionAssigned { what, due_on, .. } => format!("Action assigned, due {due_on}: {what}"),
            Event::ActionCompleted { outcome, .. } => format!("Action completed: {outcome}"),
            Event::ActionOverdue { .. } => "Action overdue".to_owned(),
            Event::SupportReferralRecorded { service, outcome, note, recontact_on, .. } => match recontact_on {
                Some(d) => format!("Support referral to {service}: {}, re-contact on {d}; {note}", outcome.label()),
                None => format!("Support referral to {service}: {}; {note}", outcome.label()),
            },
            Event::SupportRecontactDue { service, .. } => {
                format!("Re-contact due about the declined {service} referral")
            }
            Event::AuditSampleDrawn { from, to, percent, population, cases, .. } => format!(
                "Audit sample drawn: {} of {population} CSE referrals ({percent}%) from {from} to {to}",
                cases.len()
            ),
            Event::AuditFindingRecorded { rating, finding, .. } => {
                format!("Follow-up audit: {}; {finding}", rating.label())
            }
            Event::PartnerNotified { transition, lawful_basis, .. } => {
                format!("{} (lawful basis: {lawful_basis})", transition.label())
            }
            Event::ContactScreened { indicators, .. } => {
                let positive = indicators.iter().filter(|i| !i.negated && !i.hypothetical).count();
                format!(
                    "Narrative screened: {positive} indicator mention(s), {} negated or hypothetical",
                    indicators.len() - positive
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_carries_its_kind() {
        let e = Event::UserDisabled { user_id: UserId::new(), reason: "left".into() };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], e.kind());
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
