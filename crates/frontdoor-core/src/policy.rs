//! SECURITY-CRITICAL. The one place that decides who may do what to which record, and why.
//!
//! Every handler asks `decide`; nothing else in Frontdoor makes an access decision. The web layer
//! turns a denial of a record into the same 404 a missing record gives, so a record another
//! agency owns is indistinguishable from one that does not exist.

use crate::enquiry::EnquiryParties;
use crate::ids::{AgencyId, UserId};
use crate::org::{AgencyKind, Role};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The user asking, as established by their session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: UserId,
    pub agency_id: AgencyId,
    pub agency_kind: AgencyKind,
    pub roles: Vec<Role>,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
    fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }
    /// A CSE worker, CSE manager or safeguarding lead of children's services.
    fn is_cse_team(&self) -> bool {
        self.agency_kind == AgencyKind::ChildrensServices
            && self.has_any(&[Role::CseWorker, Role::CseManager, Role::SafeguardingLead])
    }
    /// A front-door or CSE-team member of children's services: works across every child's case.
    fn is_front_door_team(&self) -> bool {
        self.agency_kind == AgencyKind::ChildrensServices && self.roles.iter().any(|r| r.is_front_door_case_role())
    }
}

/// What the user wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See their own home page and account.
    ViewHome,
    /// Record a new contact or referral about a child.
    CreateContact,
    /// Read one contact, including its narrative.
    ViewContact,
    /// Read a child's chronology.
    ViewChronology,
    /// List, add and disable users.
    ManageUsers,
    /// Read the audit trail and verify its chains.
    ViewAuditTrail,
    /// Read aggregate figures (no record-level data).
    ViewAggregates,
    /// See the front door's worklist: contacts awaiting a decision, and open alerts.
    ViewWorklist,
    /// Record the front door's decision on a contact.
    DecideContact,
    /// Move a contact to another record of the same child (the child was recorded twice).
    MoveContact,
    /// Acknowledge, action or dismiss an alert about a child.
    ManageAlerts,
    /// Set or clear a flag on a child's record (child-protection plan, open case, ...).
    FlagChild,
    /// Import a machine feed (police missing-person, school absence, helpline, sexual health),
    /// or a source system's person records.
    ImportFeed,
    /// See the person index's grey zone and decide whether two records are one person.
    ReviewLinks,
    /// See a source system's record of a person (in a record check).
    ViewPersonRecord,
    /// Open a multi-agency enquiry about a child (F6).
    OpenEnquiry,
    /// List the enquiries the user leads, manages or whose agency was asked.
    ListEnquiries,
    /// Read an enquiry: its question, and the contributions the reader may see.
    ViewEnquiry,
    /// Add what one's agency knows to an enquiry.
    ContributeToEnquiry,
    /// See one contribution (the compartments of F6).
    ViewEnquiryContribution,
    /// Correct one's own agency's contribution.
    AmendEnquiryContribution,
    /// Record an enquiry's outcome.
    ConcludeEnquiry,
    /// Let a contribution leave its compartment, on consent or a safeguarding override.
    ReleaseEnquiryInformation,
    /// The CSE team's board of cases (F7).
    ViewCseBoard,
    /// Read one case on the CSE pathway.
    ViewCseCase,
    /// Take a step on a case (assessment, panel, plan, review, closure).
    WorkCseCase,
    /// Allocate a case to a CSE worker (and override the caseload maximum, with a reason).
    AllocateCseCase,
    /// Every worker's weighted caseload, and breaches over time (F8).
    ViewCaseloads,
    /// Assign an action to an agency, team or person (F9).
    AssignAction,
    /// See the actions one's agency holds (the front-door team: all of them).
    ListActions,
    /// Record an action done.
    CompleteAction,
    /// Draw follow-up audit samples of CSE referrals and record findings (Rec 23).
    AuditCases,
    /// Read the transition notifications sent to one's agency (F15).
    ViewNotifications,
}

impl Action {
    pub const ALL: [Action; 33] = [
        Action::ViewHome,
        Action::CreateContact,
        Action::ViewContact,
        Action::ViewChronology,
        Action::ManageUsers,
        Action::ViewAuditTrail,
        Action::ViewAggregates,
        Action::ViewWorklist,
        Action::DecideContact,
        Action::MoveContact,
        Action::ManageAlerts,
        Action::FlagChild,
        Action::ImportFeed,
        Action::ReviewLinks,
        Action::ViewPersonRecord,
        Action::OpenEnquiry,
        Action::ListEnquiries,
        Action::ViewEnquiry,
        Action::ContributeToEnquiry,
        Action::ViewEnquiryContribution,
        Action::AmendEnquiryContribution,
        Action::ConcludeEnquiry,
        Action::ReleaseEnquiryInformation,
        Action::ViewCseBoard,
        Action::ViewCseCase,
        Action::WorkCseCase,
        Action::AllocateCseCase,
        Action::ViewCaseloads,
        Action::AssignAction,
        Action::ListActions,
        Action::CompleteAction,
        Action::AuditCases,
        Action::ViewNotifications,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewHome => "view_home",
            Action::CreateContact => "create_contact",
            Action::ViewContact => "view_contact",
            Action::ViewChronology => "view_chronology",
            Action::ManageUsers => "manage_users",
            Action::ViewAuditTrail => "view_audit_trail",
            Action::ViewAggregates => "view_aggregates",
            Action::ViewWorklist => "view_worklist",
            Action::DecideContact => "decide_contact",
            Action::MoveContact => "move_contact",
            Action::ManageAlerts => "manage_alerts",
            Action::FlagChild => "flag_child",
            Action::ImportFeed => "import_feed",
            Action::ReviewLinks => "review_links",
            Action::ViewPersonRecord => "view_person_record",
            Action::OpenEnquiry => "open_enquiry",
            Action::ListEnquiries => "list_enquiries",
            Action::ViewEnquiry => "view_enquiry",
            Action::ContributeToEnquiry => "contribute_to_enquiry",
            Action::ViewEnquiryContribution => "view_enquiry_contribution",
            Action::AmendEnquiryContribution => "amend_enquiry_contribution",
            Action::ConcludeEnquiry => "conclude_enquiry",
            Action::ReleaseEnquiryInformation => "release_enquiry_information",
            Action::ViewCseBoard => "view_cse_board",
            Action::ViewCseCase => "view_cse_case",
            Action::WorkCseCase => "work_cse_case",
            Action::AllocateCseCase => "allocate_cse_case",
            Action::ViewCaseloads => "view_caseloads",
            Action::AssignAction => "assign_action",
            Action::ListActions => "list_actions",
            Action::CompleteAction => "complete_action",
            Action::AuditCases => "audit_cases",
            Action::ViewNotifications => "view_notifications",
        }
    }
    /// Does this action read personal data (and so must be written to the access log)?
    pub fn reads_personal_data(self) -> bool {
        matches!(
            self,
            Action::ViewContact
                | Action::ViewChronology
                | Action::ViewWorklist
                | Action::ReviewLinks
                | Action::ViewPersonRecord
                | Action::ListEnquiries
                | Action::ViewEnquiry
                | Action::ViewEnquiryContribution
                | Action::ViewCseBoard
                | Action::ViewCseCase
                | Action::ListActions
                | Action::AuditCases
                | Action::ViewNotifications
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The record the action is about, with the facts the policy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// No particular record (home page, user directory, audit trail, aggregates, a new contact).
    Service,
    Contact {
        owner_agency: AgencyId,
    },
    /// A child, with every agency that has contributed to the child's record.
    Child {
        contributing_agencies: Vec<AgencyId>,
    },
    /// A source system's record of a person; `owner_agency` is the agency that runs the source
    /// (none: a source nobody registered, seen by the front-door team only).
    PersonRecord {
        owner_agency: Option<AgencyId>,
    },
    /// A multi-agency enquiry, with who leads it, who manages it and which agencies were asked.
    Enquiry(EnquiryParties),
    /// One agency's contribution to an enquiry, and the agencies it was released to.
    EnquiryContribution {
        parties: EnquiryParties,
        agency: AgencyId,
        released_to: Vec<AgencyId>,
    },
    /// A case on the CSE pathway and the worker it is allocated to.
    CseCase {
        worker: Option<UserId>,
    },
    /// An assigned action: the agency that holds it.
    ActionItem {
        agency: AgencyId,
    },
}

/// Why the user is doing it. Recorded in the access log with every read of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Screening and deciding on a contact at the front door.
    Triage,
    /// Working a child's case (enquiry, pathway, follow-up).
    CaseWork,
    /// A partner agency making or following up its own referral.
    Referral,
    Administration,
    Audit,
    Analysis,
    /// The user's own account and home page.
    Account,
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Purpose::Triage,
        Purpose::CaseWork,
        Purpose::Referral,
        Purpose::Administration,
        Purpose::Audit,
        Purpose::Analysis,
        Purpose::Account,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Triage => "triage",
            Purpose::CaseWork => "case_work",
            Purpose::Referral => "referral",
            Purpose::Administration => "administration",
            Purpose::Audit => "audit",
            Purpose::Analysis => "analysis",
            Purpose::Account => "account",
        }
    }
    pub fn parse(s: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }
    /// The purposes that can justify an action at all.
    fn justifies(self, action: Action) -> bool {
        use Purpose::*;
        match action {
            Action::ViewHome => self == Account,
            Action::CreateContact | Action::ViewContact | Action::ViewChronology => {
                matches!(self, Triage | CaseWork | Referral)
            }
            Action::ManageUsers => self == Administration,
            Action::ViewAuditTrail => self == Audit,
            Action::ViewAggregates => self == Analysis,
            Action::ViewWorklist
            | Action::DecideContact
            | Action::MoveContact
            | Action::ManageAlerts
            | Action::FlagChild => matches!(self, Triage | CaseWork),
            Action::ImportFeed => matches!(self, Triage | Administration),
            Action::ReviewLinks => matches!(self, Triage | CaseWork),
            Action::ViewPersonRecord => matches!(self, Triage | CaseWork | Referral),
            Action::OpenEnquiry | Action::ConcludeEnquiry | Action::ReleaseEnquiryInformation => {
                matches!(self, Triage | CaseWork)
            }
            Action::ListEnquiries
            | Action::ViewEnquiry
            | Action::ContributeToEnquiry
            | Action::ViewEnquiryContribution
            | Action::AmendEnquiryContribution => matches!(self, Triage | CaseWork | Referral),
            Action::ViewCseBoard | Action::ViewCseCase | Action::WorkCseCase | Action::AllocateCseCase => {
                matches!(self, CaseWork | Triage)
            }
            Action::ViewCaseloads => matches!(self, CaseWork | Analysis),
            Action::AssignAction => matches!(self, Triage | CaseWork),
            Action::ListActions | Action::CompleteAction => matches!(self, Triage | CaseWork | Referral),
            Action::AuditCases => matches!(self, Audit | CaseWork),
            Action::ViewNotifications => matches!(self, Triage | CaseWork | Referral),
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much of a record an allowed reader may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything the record holds.
    All,
    /// Only the entries their own agency made.
    OwnAgency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub scope: Scope,
    pub reason: &'static str,
}

impl Decision {
    fn allow(scope: Scope, reason: &'static str) -> Self {
        Decision { allowed: true, scope, reason }
    }
    fn deny(reason: &'static str) -> Self {
        Decision { allowed: false, scope: Scope::All, reason }
    }
}

const CONTACT_MAKERS: [Role; 6] = [
    Role::FrontDoorAdvisor,
    Role::SafeguardingLead,
    Role::CseWorker,
    Role::CseManager,
    Role::AgencyPractitioner,
    Role::AgencyLead,
];
const AGGREGATE_READERS: [Role; 3] = [Role::Analyst, Role::CseManager, Role::SafeguardingLead];

/// May `actor` do `action` to `resource` for `purpose`? Pure; the answer carries its reason.
pub fn decide(actor: &Actor, action: Action, resource: &Resource, purpose: Purpose) -> Decision {
    if actor.roles.is_empty() {
        return Decision::deny("user holds no role");
    }
    if !purpose.justifies(action) {
        return Decision::deny("the stated purpose does not justify this action");
    }
    match (action, resource) {
        (Action::ViewHome, Resource::Service) => Decision::allow(Scope::All, "every signed-in user has a home page"),
        (Action::CreateContact, Resource::Service) => {
            if actor.has_any(&CONTACT_MAKERS) {
                Decision::allow(Scope::All, "role may record contacts and referrals")
            } else {
                Decision::deny("role may not record contacts")
            }
        }
        (Action::ViewContact, Resource::Contact { owner_agency }) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "front-door team reads every contact")
            } else if actor.has_any(&CONTACT_MAKERS) && *owner_agency == actor.agency_id {
                Decision::allow(Scope::All, "contact recorded by the user's own agency")
            } else if actor.has_any(&CONTACT_MAKERS) {
                Decision::deny("contact belongs to another agency")
            } else {
                Decision::deny("role has no access to case records")
            }
        }
        (Action::ViewChronology, Resource::Child { contributing_agencies }) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "front-door team reads the whole chronology")
            } else if actor.has_any(&CONTACT_MAKERS) && contributing_agencies.contains(&actor.agency_id) {
                Decision::allow(Scope::OwnAgency, "agency sees its own contributions to the child's record")
            } else if actor.has_any(&CONTACT_MAKERS) {
                Decision::deny("user's agency has no part in this child's record")
            } else {
                Decision::deny("role has no access to case records")
            }
        }
        (Action::ManageUsers, Resource::Service) => {
            if actor.has(Role::Administrator) {
                Decision::allow(Scope::All, "administrators manage users")
            } else {
                Decision::deny("only administrators manage users")
            }
        }
        (Action::ViewAuditTrail, Resource::Service) => {
            if actor.has(Role::Auditor) {
                Decision::allow(Scope::All, "auditors read the audit trail")
            } else {
                Decision::deny("only auditors read the audit trail")
            }
        }
        (Action::ViewAggregates, Resource::Service) => {
            if actor.has_any(&AGGREGATE_READERS) {
                Decision::allow(Scope::All, "role may read aggregate figures")
            } else {
                Decision::deny("role may not read aggregate figures")
            }
        }
        (Action::ViewWorklist, Resource::Service) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front-door team works the worklist")
            } else {
                Decision::deny("only the front-door team works the worklist")
            }
        }
        (Action::DecideContact, Resource::Contact { .. }) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front-door team decides on contacts")
            } else {
                Decision::deny("only the front-door team decides on contacts")
            }
        }
        (Action::MoveContact, Resource::Contact { .. }) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front-door team keeps each child's record whole")
            } else {
                Decision::deny("only the front-door team moves contacts between children's records")
            }
        }
        (Action::ManageAlerts | Action::FlagChild, Resource::Child { .. }) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front-door team works alerts and flags on every child")
            } else {
                Decision::deny("only the front-door team works alerts and flags")
            }
        }
        (Action::ImportFeed, Resource::Service) => {
            if actor.is_front_door_team() || actor.has(Role::Administrator) {
                Decision::allow(Scope::All, "front-door team and administrators import feeds")
            } else {
                Decision::deny("only the front-door team and administrators import feeds")
            }
        }
        (Action::ReviewLinks, Resource::Service) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front-door team decides which records are one person")
            } else {
                Decision::deny("only the front-door team decides which records are one person")
            }
        }
        (Action::ViewPersonRecord, Resource::PersonRecord { owner_agency }) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front-door team checks every source system")
            } else if actor.has_any(&CONTACT_MAKERS) && *owner_agency == Some(actor.agency_id) {
                Decision::allow(Scope::All, "a record held by the user's own agency")
            } else if actor.has_any(&CONTACT_MAKERS) {
                Decision::deny("the record is held by another agency's system")
            } else {
                Decision::deny("role has no access to case records")
            }
        }
        (Action::OpenEnquiry, Resource::Service) => {
            if actor.agency_kind == AgencyKind::ChildrensServices
                && actor.has_any(&[Role::SafeguardingLead, Role::CseManager])
            {
                Decision::allow(Scope::All, "safeguarding leads and CSE managers open enquiries")
            } else {
                Decision::deny("only a children's-services safeguarding lead or CSE manager opens enquiries")
            }
        }
        (Action::ListEnquiries, Resource::Service) => {
            if actor.has_any(&CONTACT_MAKERS) {
                Decision::allow(Scope::OwnAgency, "practitioners see the enquiries they lead or their agency was asked")
            } else {
                Decision::deny("role takes no part in enquiries")
            }
        }
        (Action::ViewEnquiry, Resource::Enquiry(p)) => {
            if leads(actor, p) {
                Decision::allow(Scope::All, "the lead and named managers see the whole enquiry")
            } else if asked(actor, p) {
                Decision::allow(Scope::OwnAgency, "an asked agency sees the question and its own contributions")
            } else {
                Decision::deny("the user's agency was not asked in this enquiry")
            }
        }
        (Action::ContributeToEnquiry, Resource::Enquiry(p)) => {
            if leads(actor, p) || asked(actor, p) {
                Decision::allow(Scope::OwnAgency, "the lead, managers and asked agencies contribute")
            } else {
                Decision::deny("the user's agency was not asked in this enquiry")
            }
        }
        (Action::ConcludeEnquiry | Action::ReleaseEnquiryInformation, Resource::Enquiry(p)) => {
            if leads(actor, p) {
                Decision::allow(Scope::All, "the lead and named managers decide the enquiry and what leaves it")
            } else {
                Decision::deny("only the enquiry's lead and named managers")
            }
        }
        (Action::ViewEnquiryContribution, Resource::EnquiryContribution { parties, agency, released_to }) => {
            if leads(actor, parties) {
                Decision::allow(Scope::All, "the lead and named managers see every contribution")
            } else if actor.has_any(&CONTACT_MAKERS) && *agency == actor.agency_id {
                Decision::allow(Scope::All, "the user's own agency's contribution")
            } else if actor.has_any(&CONTACT_MAKERS) && released_to.contains(&actor.agency_id) {
                Decision::allow(Scope::All, "released to the user's agency with consent or a safeguarding override")
            } else {
                Decision::deny("another agency's contribution, not released to the user's agency")
            }
        }
        (Action::AmendEnquiryContribution, Resource::EnquiryContribution { agency, .. }) => {
            if actor.has_any(&CONTACT_MAKERS) && *agency == actor.agency_id {
                Decision::allow(Scope::All, "an agency corrects its own contributions")
            } else {
                Decision::deny("only the contributing agency corrects a contribution")
            }
        }
        (Action::ViewCseBoard, Resource::Service) => {
            if actor.is_cse_team() {
                Decision::allow(Scope::All, "the CSE team works the pathway")
            } else {
                Decision::deny("only the CSE team (workers, managers, safeguarding leads) sees the pathway")
            }
        }
        (Action::ViewCseCase, Resource::CseCase { .. }) => {
            if actor.is_cse_team() {
                Decision::allow(Scope::All, "the CSE team reads every case on the pathway")
            } else {
                Decision::deny("only the CSE team reads pathway cases")
            }
        }
        (Action::WorkCseCase, Resource::CseCase { worker }) => {
            let cs = actor.agency_kind == AgencyKind::ChildrensServices;
            if cs && actor.has_any(&[Role::CseManager, Role::SafeguardingLead]) {
                Decision::allow(Scope::All, "CSE managers and safeguarding leads work every case")
            } else if cs && actor.has(Role::CseWorker) && *worker == Some(actor.user_id) {
                Decision::allow(Scope::All, "the case's allocated worker")
            } else {
                Decision::deny("only the allocated worker or a manager works this case")
            }
        }
        (Action::AllocateCseCase, Resource::CseCase { .. }) => {
            if actor.agency_kind == AgencyKind::ChildrensServices && actor.has(Role::CseManager) {
                Decision::allow(Scope::All, "CSE managers allocate cases")
            } else {
                Decision::deny("only a CSE manager allocates cases")
            }
        }
        (Action::ViewCaseloads, Resource::Service) => {
            if actor.agency_kind == AgencyKind::ChildrensServices
                && actor.has_any(&[Role::CseManager, Role::SafeguardingLead])
            {
                Decision::allow(Scope::All, "managers see their teams' caseloads")
            } else {
                Decision::deny("only managers see caseloads")
            }
        }
        (Action::ViewNotifications, Resource::Service) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front-door team sees every notification sent")
            } else if actor.has_any(&CONTACT_MAKERS) {
                Decision::allow(Scope::OwnAgency, "an agency reads the notifications sent to it")
            } else {
                Decision::deny("role receives no notifications")
            }
        }
        (Action::AuditCases, Resource::Service) => {
            if actor.agency_kind == AgencyKind::ChildrensServices
                && actor.has_any(&[Role::CseManager, Role::SafeguardingLead])
            {
                Decision::allow(Scope::All, "managers audit a sample of CSE referrals")
            } else {
                Decision::deny("only CSE managers and safeguarding leads audit referrals")
            }
        }
        (Action::AssignAction, Resource::Service) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front door and CSE team assign actions")
            } else {
                Decision::deny("only the front door and CSE team assign actions")
            }
        }
        (Action::ListActions, Resource::Service) => {
            if actor.is_front_door_team() {
                Decision::allow(Scope::All, "the front-door team follows up every action")
            } else if actor.has_any(&CONTACT_MAKERS) {
                Decision::allow(Scope::OwnAgency, "an agency sees the actions it holds")
            } else {
                Decision::deny("role holds no actions")
            }
        }
        (Action::CompleteAction, Resource::ActionItem { agency }) => {
            if actor.has_any(&CONTACT_MAKERS) && *agency == actor.agency_id {
                Decision::allow(Scope::All, "an agency completes its own actions")
            } else {
                Decision::deny("only the agency holding the action completes it")
            }
        }
        _ => Decision::deny("action does not apply to this kind of record"),
    }
}

/// The enquiry's lead or one of its named managers, while they hold a children's-services
/// lead or manager role (a named user who changes role or agency loses the whole view).
fn leads(actor: &Actor, p: &EnquiryParties) -> bool {
    let manages = actor.agency_kind == AgencyKind::ChildrensServices
        && actor.has_any(&[Role::SafeguardingLead, Role::CseManager]);
    manages && (actor.user_id == p.lead || p.managers.contains(&actor.user_id))
}

/// A practitioner of an agency the enquiry asked.
fn asked(actor: &Actor, p: &EnquiryParties) -> bool {
    actor.has_any(&CONTACT_MAKERS) && p.asked.contains(&actor.agency_id)
}

/// The purpose a route uses when the caller states none.
pub fn default_purpose(action: Action, actor: &Actor) -> Purpose {
    match action {
        Action::ViewHome => Purpose::Account,
        Action::CreateContact | Action::ViewContact | Action::ViewChronology => {
            if actor.is_front_door_team() {
                Purpose::Triage
            } else {
                Purpose::Referral
            }
        }
        Action::ManageUsers => Purpose::Administration,
        Action::ViewAuditTrail => Purpose::Audit,
        Action::ViewAggregates => Purpose::Analysis,
        Action::ViewWorklist
        | Action::DecideContact
        | Action::MoveContact
        | Action::ManageAlerts
        | Action::FlagChild => Purpose::Triage,
        Action::ReviewLinks => Purpose::Triage,
        Action::ViewPersonRecord => {
            if actor.is_front_door_team() {
                Purpose::Triage
            } else {
                Purpose::Referral
            }
        }
        Action::ImportFeed => {
            if actor.is_front_door_team() {
                Purpose::Triage
            } else {
                Purpose::Administration
            }
        }
        Action::OpenEnquiry | Action::ConcludeEnquiry | Action::ReleaseEnquiryInformation => Purpose::CaseWork,
        Action::ViewCseBoard
        | Action::ViewCseCase
        | Action::WorkCseCase
        | Action::AllocateCseCase
        | Action::ViewCaseloads
        | Action::AssignAction => Purpose::CaseWork,
        Action::AuditCases => Purpose::Audit,
        Action::ListActions | Action::CompleteAction | Action::ViewNotifications => {
            if actor.is_front_door_team() {
                Purpose::CaseWork
            } else {
                Purpose::Referral
            }
        }
        Action::ListEnquiries
        | Action::ViewEnquiry
        | Action::ContributeToEnquiry
        | Action::ViewEnquiryContribution
        | Action::AmendEnquiryContribution => {
            if actor.is_front_door_team() {
                Purpose::CaseWork
            } else {
                Purpose::Referral
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    fn actor(kind: AgencyKind, agency: AgencyId, roles: &[Role]) -> Actor {
        Actor { user_id: UserId::new(), agency_id: agency, agency_kind: kind, roles: roles.to_vec() }
    }

    /// The policy as a table: who, what, whose record, purpose → allowed?
    #[test]
    fn policy_table() {
        let cs = AgencyId::new();
        let police = AgencyId::new();
        let health = AgencyId::new();
        use AgencyKind::{ChildrensServices as CS, Health as H, Police as P};
        let own_police_contact = Resource::Contact { owner_agency: police };
        let cs_contact = Resource::Contact { owner_agency: cs };
        let child_police = Resource::Child { contributing_agencies: vec![cs, police] };
        use Purpose::*;
        #[rustfmt::skip]
        let table: Vec<(Actor, Action, Resource, Purpose, bool)> = vec![
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::ViewContact, own_police_contact.clone(), Triage, true),
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::ViewContact, own_police_contact.clone(), Analysis, false),
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::ViewChronology, child_police.clone(), CaseWork, true),
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::ManageUsers, Resource::Service, Administration, false),
            (actor(CS, cs, &[CseWorker]), Action::ViewContact, cs_contact.clone(), CaseWork, true),
            (actor(P, police, &[AgencyPractitioner]), Action::ViewContact, own_police_contact.clone(), Referral, true),
            (actor(P, police, &[AgencyPractitioner]), Action::ViewContact, cs_contact.clone(), Referral, false),
            (actor(H, health, &[AgencyPractitioner]), Action::ViewContact, own_police_contact.clone(), Referral, false),
            (actor(P, police, &[AgencyPractitioner]), Action::ViewChronology, child_police.clone(), Referral, true),
            (actor(H, health, &[AgencyPractitioner]), Action::ViewChronology, child_police.clone(), Referral, false),
            (actor(P, police, &[AgencyPractitioner]), Action::CreateContact, Resource::Service, Referral, true),
            // A front-door role held outside children's services does not open every record.
            (actor(P, police, &[FrontDoorAdvisor]), Action::ViewContact, cs_contact.clone(), Triage, false),
            (actor(CS, cs, &[Administrator]), Action::ViewContact, cs_contact.clone(), Administration, false),
            (actor(CS, cs, &[Administrator]), Action::ManageUsers, Resource::Service, Administration, true),
            (actor(CS, cs, &[Administrator]), Action::ViewAuditTrail, Resource::Service, Audit, false),
            (actor(CS, cs, &[Auditor]), Action::ViewAuditTrail, Resource::Service, Audit, true),
            (actor(CS, cs, &[Auditor]), Action::ViewChronology, child_police.clone(), Audit, false),
            (actor(CS, cs, &[Analyst]), Action::ViewAggregates, Resource::Service, Analysis, true),
            (actor(CS, cs, &[Analyst]), Action::ViewContact, cs_contact.clone(), Analysis, false),
            (actor(CS, cs, &[Analyst]), Action::ViewContact, cs_contact.clone(), Triage, false),
            (actor(CS, cs, &[IntelligenceSubmitter]), Action::CreateContact, Resource::Service, Referral, false),
            (actor(CS, cs, &[]), Action::ViewHome, Resource::Service, Account, false),
            (actor(CS, cs, &[Auditor]), Action::ViewHome, Resource::Service, Account, true),
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::ViewWorklist, Resource::Service, Triage, true),
            (actor(P, police, &[AgencyPractitioner]), Action::ViewWorklist, Resource::Service, Referral, false),
            (actor(CS, cs, &[Analyst]), Action::ViewWorklist, Resource::Service, Triage, false),
            (actor(CS, cs, &[SafeguardingLead]), Action::DecideContact, own_police_contact.clone(), Triage, true),
            (actor(P, police, &[AgencyPractitioner]), Action::DecideContact, own_police_contact.clone(), Triage, false),
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::MoveContact, own_police_contact.clone(), Triage, true),
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::MoveContact, own_police_contact.clone(), Analysis, false),
            (actor(P, police, &[AgencyPractitioner]), Action::MoveContact, own_police_contact.clone(), Referral, false),
            (actor(CS, cs, &[Analyst]), Action::MoveContact, cs_contact.clone(), Triage, false),
            (actor(CS, cs, &[CseWorker]), Action::ManageAlerts, child_police.clone(), CaseWork, true),
            (actor(H, health, &[AgencyPractitioner]), Action::ManageAlerts, child_police.clone(), Triage, false),
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::FlagChild, child_police.clone(), Analysis, false),
            (actor(CS, cs, &[Administrator]), Action::ImportFeed, Resource::Service, Administration, true),
            (actor(CS, cs, &[Analyst]), Action::ImportFeed, Resource::Service, Analysis, false),
            // An action against the wrong kind of record is refused, never guessed.
            (actor(CS, cs, &[FrontDoorAdvisor]), Action::ViewContact, Resource::Service, Triage, false),
        ];
        for (i, (a, action, res, purpose, expected)) in table.into_iter().enumerate() {
            let d = decide(&a, action, &res, purpose);
            assert_eq!(d.allowed, expected, "row {i}: {:?} {action} {res:?} {purpose}: {}", a.roles, d.reason);
            assert!(!d.reason.is_empty());
        }
    }

    #[test]
    fn partner_agencies_see_only_their_own_part_of_a_chronology() {
        let police = AgencyId::new();
        let a = actor(AgencyKind::Police, police, &[AgencyPractitioner]);
        let d = decide(
            &a,
            Action::ViewChronology,
            &Resource::Child { contributing_agencies: vec![police] },
            Purpose::Referral,
        );
        assert_eq!(d.scope, Scope::OwnAgency);
    }

    /// F6's compartments: an asked agency sees the question and its own contributions; another
    /// agency's only once released to it; the lead and named managers see everything.
    #[test]
    fn enquiry_compartments() {
        let (cs, police, health, school) = (AgencyId::new(), AgencyId::new(), AgencyId::new(), AgencyId::new());
        let lead = actor(AgencyKind::ChildrensServices, cs, &[SafeguardingLead]);
        let manager = actor(AgencyKind::ChildrensServices, cs, &[CseManager]);
        let advisor = actor(AgencyKind::ChildrensServices, cs, &[FrontDoorAdvisor]);
        let pc = actor(AgencyKind::Police, police, &[AgencyPractitioner]);
        let nurse = actor(AgencyKind::Health, health, &[AgencyPractitioner]);
        let teacher = actor(AgencyKind::School, school, &[AgencyPractitioner]);
        let police_analyst = actor(AgencyKind::Police, police, &[Analyst]);
        let parties =
            EnquiryParties { lead: lead.user_id, managers: vec![manager.user_id], asked: vec![police, health] };
        let enquiry = Resource::Enquiry(parties.clone());
        let by_police = |released_to: Vec<AgencyId>| Resource::EnquiryContribution {
            parties: parties.clone(),
            agency: police,
            released_to,
        };
        let p = Purpose::CaseWork;
        let allowed = |a: &Actor, action, r: &Resource| decide(a, action, r, p).allowed;
        assert!(allowed(&lead, Action::OpenEnquiry, &Resource::Service));
        assert!(!allowed(&advisor, Action::OpenEnquiry, &Resource::Service));
        assert!(!allowed(&pc, Action::OpenEnquiry, &Resource::Service));
        assert_eq!(decide(&lead, Action::ViewEnquiry, &enquiry, p).scope, Scope::All);
        assert_eq!(decide(&manager, Action::ViewEnquiry, &enquiry, p).scope, Scope::All);
        assert_eq!(decide(&pc, Action::ViewEnquiry, &enquiry, p).scope, Scope::OwnAgency);
        // Not asked, not lead: nothing, however senior in the front door.
        assert!(!allowed(&teacher, Action::ViewEnquiry, &enquiry));
        assert!(!allowed(&advisor, Action::ViewEnquiry, &enquiry));
        assert!(!allowed(&police_analyst, Action::ViewEnquiry, &enquiry));
        assert!(allowed(&pc, Action::ContributeToEnquiry, &enquiry));
        assert!(!allowed(&teacher, Action::ContributeToEnquiry, &enquiry));
        assert!(!allowed(&pc, Action::ConcludeEnquiry, &enquiry));
        assert!(!allowed(&pc, Action::ReleaseEnquiryInformation, &enquiry));
        assert!(allowed(&manager, Action::ReleaseEnquiryInformation, &enquiry));
        // The police contribution.
        for who in [&lead, &manager, &pc] {
            assert!(allowed(who, Action::ViewEnquiryContribution, &by_police(vec![])));
        }
        for who in [&nurse, &teacher, &advisor, &police_analyst] {
            assert!(!allowed(who, Action::ViewEnquiryContribution, &by_police(vec![])), "{:?}", who.roles);
        }
        assert!(allowed(&nurse, Action::ViewEnquiryContribution, &by_police(vec![health])));
        assert!(!allowed(&teacher, Action::ViewEnquiryContribution, &by_police(vec![health])));
        assert!(allowed(&pc, Action::AmendEnquiryContribution, &by_police(vec![])));
        assert!(!allowed(&lead, Action::AmendEnquiryContribution, &by_police(vec![])));
        assert!(!allowed(&nurse, Action::AmendEnquiryContribution, &by_police(vec![health])));
        // Named as a manager but not a children's-services manager: no whole view.
        let named_pc = EnquiryParties { managers: vec![pc.user_id], ..parties.clone() };
        let c = Resource::EnquiryContribution { parties: named_pc, agency: health, released_to: vec![] };
        assert!(!allowed(&pc, Action::ViewEnquiryContribution, &c));
    }

    #[test]
    fn the_cse_pathway_belongs_to_the_cse_team() {
        let (cs, police) = (AgencyId::new(), AgencyId::new());
        let worker = actor(AgencyKind::ChildrensServices, cs, &[CseWorker]);
        let other_worker = actor(AgencyKind::ChildrensServices, cs, &[CseWorker]);
        let manager = actor(AgencyKind::ChildrensServices, cs, &[CseManager]);
        let advisor = actor(AgencyKind::ChildrensServices, cs, &[FrontDoorAdvisor]);
        let pc = actor(AgencyKind::Police, police, &[AgencyPractitioner]);
        let police_manager = actor(AgencyKind::Police, police, &[CseManager]);
        let case = Resource::CseCase { worker: Some(worker.user_id) };
        let p = Purpose::CaseWork;
        let ok = |a: &Actor, action, r: &Resource| decide(a, action, r, p).allowed;
        for a in [&worker, &other_worker, &manager] {
            assert!(ok(a, Action::ViewCseBoard, &Resource::Service) && ok(a, Action::ViewCseCase, &case));
        }
        for a in [&advisor, &pc, &police_manager] {
            assert!(!ok(a, Action::ViewCseBoard, &Resource::Service) && !ok(a, Action::ViewCseCase, &case));
        }
        assert!(ok(&worker, Action::WorkCseCase, &case));
        assert!(!ok(&other_worker, Action::WorkCseCase, &case));
        assert!(ok(&manager, Action::WorkCseCase, &case));
        assert!(ok(&manager, Action::AllocateCseCase, &case));
        assert!(!ok(&worker, Action::AllocateCseCase, &case));
        assert!(!ok(&police_manager, Action::AllocateCseCase, &case));
        assert!(ok(&manager, Action::ViewCaseloads, &Resource::Service));
        assert!(!ok(&worker, Action::ViewCaseloads, &Resource::Service));
    }

    #[test]
    fn default_purposes_are_always_accepted_for_allowed_roles() {
        let cs = AgencyId::new();
        for role in Role::ALL {
            let a = actor(AgencyKind::ChildrensServices, cs, &[role]);
            for action in Action::ALL {
                assert!(default_purpose(action, &a).justifies(action), "{role} {action}");
            }
        }
    }
}
