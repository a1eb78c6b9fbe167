//! Agencies and roles: who the users are.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The kind of organisation a user belongs to. The front door itself sits in children's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    ChildrensServices,
    Police,
    Health,
    School,
    Education,
    Housing,
    Probation,
    Licensing,
    Voluntary,
    Other,
}

impl AgencyKind {
    pub const ALL: [AgencyKind; 10] = [
        AgencyKind::ChildrensServices,
        AgencyKind::Police,
        AgencyKind::Health,
        AgencyKind::School,
        AgencyKind::Education,
        AgencyKind::Housing,
        AgencyKind::Probation,
        AgencyKind::Licensing,
        AgencyKind::Voluntary,
        AgencyKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgencyKind::ChildrensServices => "childrens_services",
            AgencyKind::Police => "police",
            AgencyKind::Health => "health",
            AgencyKind::School => "school",
            AgencyKind::Education => "education",
            AgencyKind::Housing => "housing",
            AgencyKind::Probation => "probation",
            AgencyKind::Licensing => "licensing",
            AgencyKind::Voluntary => "voluntary",
            AgencyKind::Other => "other",
        }
    }
}

impl fmt::Display for AgencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgencyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgencyKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown agency kind '{s}'"))
    }
}

/// A user's role. A user may hold several; access is the union of what each allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    FrontDoorAdvisor,
    SafeguardingLead,
    CseWorker,
    CseManager,
    AgencyPractitioner,
    /// A partner agency's designated safeguarding lead: a practitioner who is also told when
    /// an action the agency holds goes overdue.
    AgencyLead,
    IntelligenceSubmitter,
    Analyst,
    Administrator,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::FrontDoorAdvisor,
        Role::SafeguardingLead,
        Role::CseWorker,
        Role::CseManager,
        Role::AgencyPractitioner,
        Role::AgencyLead,
        Role::IntelligenceSubmitter,
        Role::Analyst,
        Role::Administrator,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::FrontDoorAdvisor => "front_door_advisor",
            Role::SafeguardingLead => "safeguarding_lead",
            Role::CseWorker => "cse_worker",
            Role::CseManager => "cse_manager",
            Role::AgencyPractitioner => "agency_practitioner",
            Role::AgencyLead => "agency_lead",
            Role::IntelligenceSubmitter => "intelligence_submitter",
            Role::Analyst => "analyst",
            Role::Administrator => "administrator",
            Role::Auditor => "auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::FrontDoorAdvisor => "Front-door advisor",
            Role::SafeguardingLead => "Safeguarding lead (social worker)",
            Role::CseWorker => "CSE worker",
            Role::CseManager => "CSE manager",
            Role::AgencyPractitioner => "Agency practitioner",
            Role::AgencyLead => "Agency safeguarding lead",
            Role::IntelligenceSubmitter => "Intelligence submitter",
            Role::Analyst => "Analyst",
            Role::Administrator => "Administrator",
            Role::Auditor => "Auditor",
        }
    }

    /// Roles of the front door and CSE team, who work across all children's cases.
    pub fn is_front_door_case_role(self) -> bool {
        matches!(self, Role::FrontDoorAdvisor | Role::SafeguardingLead | Role::CseWorker | Role::CseManager)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role '{s}' (expected one of: {})", names.join(", "))
        })
    }
}
