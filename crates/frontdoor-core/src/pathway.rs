//! The CSE pathway (F7) as a state machine: referral → allocation to a CSE worker → initial
//! risk assessment → multi-agency risk panel agreeing a risk level → at Medium or above a
//! strategy meeting with a safety plan → reviews at intervals set by the risk level → closure
//! (resolution with an exit strategy, step-down of low risk to another team, escalation to
//! child protection at any stage, or transfer to adult services for a young person turning 18).
//!
//! [`Case::apply`] is the only way a case changes; it refuses every illegal step with the reason,
//! so the API, the pages and the store's projection (which re-applies each recorded step) can
//! never hold a case in a state the pathway does not allow. [`Case::deadlines`] says what is due
//! when, from [`Timescales`] (configuration).

use crate::ids::{AgencyId, UserId};
use crate::triage::{word_enum, working_days_after};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

word_enum!(
    /// The risk level a multi-agency panel agrees.
    RiskLevel {
        Low => "low" / "Low",
        LowMedium => "low_medium" / "Low-Medium",
        Medium => "medium" / "Medium",
        MediumHigh => "medium_high" / "Medium-High",
        High => "high" / "High",
    }
);

word_enum!(
    /// Red, amber, green: how a risk level is shown on boards.
    Rag {
        Green => "green" / "Green",
        Amber => "amber" / "Amber",
        Red => "red" / "Red",
    }
);

impl RiskLevel {
    pub fn rag(self) -> Rag {
        match self {
            RiskLevel::Low | RiskLevel::LowMedium => Rag::Green,
            RiskLevel::Medium => Rag::Amber,
            RiskLevel::MediumHigh | RiskLevel::High => Rag::Red,
        }
    }
    /// Medium and above (amber and red) need a strategy meeting and a safety plan.
    pub fn needs_strategy_meeting(self) -> bool {
        self >= RiskLevel::Medium
    }
    /// Low risk may step down to another team.
    pub fn is_low(self) -> bool {
        self <= RiskLevel::LowMedium
    }
}

word_enum!(
    /// Where a case is on the pathway.
    Stage {
        Referred => "referred" / "Referred, awaiting allocation",
        Allocated => "allocated" / "Allocated, awaiting the initial risk assessment",
        Assessed => "assessed" / "Assessed, awaiting the risk panel",
        Panel => "panel" / "Risk level agreed at panel",
        Plan => "plan" / "Safety plan in place, under review",
        Closed => "closed" / "Closed",
    }
);

word_enum!(
    /// How a case left the pathway.
    Closure {
        Resolved => "resolved" / "Resolved, with an exit strategy",
        SteppedDown => "stepped_down" / "Stepped down to another team",
        ChildProtection => "child_protection" / "Escalated to child protection",
        AdultServices => "adult_services" / "Transferred to adult services",
    }
);

word_enum!(
    /// What became of a referral to a support service.
    SupportOutcome {
        Made => "made" / "Referral made",
        Accepted => "accepted" / "Accepted by the service",
        Declined => "declined" / "Declined by the young person or family",
    }
);

word_enum!(
    /// An audit's judgement of how a sampled referral was handled.
    AuditRating {
        Good => "good" / "Good",
        RequiresImprovement => "requires_improvement" / "Requires improvement",
        Inadequate => "inadequate" / "Inadequate",
    }
);

word_enum!(
    /// A service a child is known to that a transition notice goes to (F15).
    ChildSetting {
        GpPractice => "gp_practice" / "GP practice",
        Education => "education" / "School or college",
    }
);

word_enum!(
    /// A transition a partner agency is told about (F15).
    TransitionKind {
        /// The young person's GP practice, when a CSE case is allocated.
        GpAllocation => "gp_allocation" / "GP practice told of the CSE allocation",
        /// A further-education college, when a flagged student transfers to it.
        CollegeTransfer => "college_transfer" / "College told of a flagged student's transfer",
    }
);

word_enum!(
    /// What falls due on a case.
    DeadlineKind {
        Allocation => "allocation" / "Allocation to a CSE worker",
        Assessment => "assessment" / "Initial risk assessment",
        Panel => "panel" / "Multi-agency risk panel",
        StrategyMeeting => "strategy_meeting" / "Strategy meeting and safety plan",
        Review => "review" / "Review",
    }
);

word_enum!(
    /// The kinds of step, for forms, the API and refusals.
    StepKind {
        Allocate => "allocate" / "Allocate to a CSE worker",
        Assess => "assess" / "Record the initial risk assessment",
        Panel => "panel" / "Record the risk panel",
        StrategyMeeting => "strategy_meeting" / "Record the strategy meeting and safety plan",
        Review => "review" / "Record a review",
        Resolve => "resolve" / "Resolve, with an exit strategy",
        StepDown => "step_down" / "Step down to another team",
        Escalate => "escalate" / "Escalate to child protection",
        TransferToAdults => "transfer_to_adults" / "Transfer to adult services",
    }
);

/// One indicator group's score in an assessment (0 none … 3 high).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorScore {
    pub group: String,
    pub score: u8,
}

/// The structured initial risk assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub indicators: Vec<IndicatorScore>,
    pub young_person_views: String,
    pub parents_views: String,
    /// Support needs, as ids of the support directory (`camhs`, `isva`, ...).
    pub needs: Vec<String>,
    /// The young person disclosed exploitation (the level is then High).
    pub disclosure: bool,
    /// A learning disability (the level is then never Low).
    pub learning_disability: bool,
    /// The assessor's proposal to the panel.
    pub proposed_level: RiskLevel,
    pub summary: String,
}

/// Whether one agency attended a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendance {
    pub agency: AgencyId,
    pub attended: bool,
}

/// An action agreed in a safety plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanAction {
    pub what: String,
    /// Who does it (an agency, team or person, in words).
    pub owner: String,
    pub due: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyPlan {
    pub actions: Vec<PlanAction>,
    pub young_person_involved: bool,
    pub parents_involved: bool,
    /// Why the young person or the parents are not involved (required then: for example, child
    /// protection procedures apply, or a parent is suspected).
    #[serde(default)]
    pub not_involved_reason: String,
}

/// One step along the pathway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Allocate (or reallocate) to a CSE worker. Over the caseload maximum only with a
    /// manager's override and its reason.
    Allocate {
        worker: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        override_reason: Option<String>,
    },
    Assess(Assessment),
    Panel {
        level: RiskLevel,
        attendance: Vec<Attendance>,
        notes: String,
    },
    StrategyMeeting {
        plan: SafetyPlan,
        attendance: Vec<Attendance>,
    },
    Review {
        level: RiskLevel,
        notes: String,
    },
    Resolve {
        exit_strategy: String,
    },
    StepDown {
        to_team: String,
        reason: String,
    },
    Escalate {
        reason: String,
    },
    TransferToAdults {
        reason: String,
    },
}

impl Step {
    pub fn kind(&self) -> StepKind {
        match self {
            Step::Allocate { .. } => StepKind::Allocate,
            Step::Assess(_) => StepKind::Assess,
            Step::Panel { .. } => StepKind::Panel,
            Step::StrategyMeeting { .. } => StepKind::StrategyMeeting,
            Step::Review { .. } => StepKind::Review,
            Step::Resolve { .. } => StepKind::Resolve,
            Step::StepDown { .. } => StepKind::StepDown,
            Step::Escalate { .. } => StepKind::Escalate,
            Step::TransferToAdults { .. } => StepKind::TransferToAdults,
        }
    }

    /// One line for the chronology.
    pub fn summary(&self) -> String {
        match self {
            Step::Allocate { override_reason: Some(r), .. } => {
                format!("CSE case allocated over the caseload maximum (manager's override: {r})")
            }
            Step::Allocate { .. } => "CSE case allocated to a worker".to_owned(),
            Step::Assess(a) => format!("Initial risk assessment: proposed {}; {}", a.proposed_level.label(), a.summary),
            Step::Panel { level, .. } => format!("Risk panel agreed {} ({})", level.label(), level.rag().label()),
            Step::StrategyMeeting { plan, .. } => {
                format!("Strategy meeting: safety plan with {} action(s)", plan.actions.len())
            }
            Step::Review { level, notes } => format!("Review: risk {}; {notes}", level.label()),
            Step::Resolve { exit_strategy } => format!("CSE case resolved; exit strategy: {exit_strategy}"),
            Step::StepDown { to_team, reason } => format!("Stepped down to {to_team}: {reason}"),
            Step::Escalate { reason } => format!("Escalated to child protection: {reason}"),
            Step::TransferToAdults { reason } => format!("Transferred to adult services: {reason}"),
        }
    }
}

/// Facts a step is judged against besides the case itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub at: DateTime<Utc>,
    /// The young person's age in whole years at `at`, if the date of birth is known.
    pub age_years: Option<u32>,
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub step: StepKind,
    pub stage: Stage,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} now ({}): {}", self.step.label().to_lowercase(), self.stage.label(), self.reason)
    }
}

/// A case on the pathway: everything its stage and deadlines depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub stage: Stage,
    pub referred_at: DateTime<Utc>,
    pub worker: Option<UserId>,
    /// The first allocation (reallocation does not restart the assessment's clock).
    pub allocated_at: Option<DateTime<Utc>>,
    pub assessed_at: Option<DateTime<Utc>>,
    /// The level the panel (or a later review) agreed.
    pub level: Option<RiskLevel>,
    /// The lowest level the assessment allows (a disclosure: High; under 13 or a learning
    /// disability: never Low).
    pub minimum_level: Option<RiskLevel>,
    pub panel_at: Option<DateTime<Utc>>,
    /// The last strategy meeting or review.
    pub last_meeting_at: Option<DateTime<Utc>>,
    pub closure: Option<Closure>,
    pub closed_at: Option<DateTime<Utc>>,
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

impl Case {
    /// A new referral to the pathway.
    pub fn referred(at: DateTime<Utc>) -> Case {
        Case {
            stage: Stage::Referred,
            referred_at: at,
            worker: None,
            allocated_at: None,
            assessed_at: None,
            level: None,
            minimum_level: None,
            panel_at: None,
            last_meeting_at: None,
            closure: None,
            closed_at: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.stage != Stage::Closed
    }

    /// The case after `step`, or why the step is not allowed now. Pure.
    pub fn apply(&self, step: &Step, ctx: &Context) -> Result<Case, Refusal> {
        let refuse = |reason: &str| Refusal { step: step.kind(), stage: self.stage, reason: reason.to_owned() };
        if !self.is_open() {
            return Err(refuse("the case is closed"));
        }
        let mut next = self.clone();
        let at = ctx.at;
        match step {
            Step::Allocate { override_reason, .. } => {
                if override_reason.as_deref().is_some_and(blank) {
                    return Err(refuse("an override needs its reason"));
                }
                if let Step::Allocate { worker, .. } = step {
                    next.worker = Some(*worker);
                }
                if self.stage == Stage::Referred {
                    next.stage = Stage::Allocated;
                    next.allocated_at = Some(at);
                }
            }
            Step::Assess(a) => {
                if self.stage != Stage::Allocated {
                    return Err(refuse("the initial risk assessment follows allocation, once"));
                }
                if blank(&a.summary) {
                    return Err(refuse("the assessment needs a summary"));
                }
                if a.indicators.iter().any(|i| i.score > 3) {
                    return Err(refuse("indicator scores run from 0 to 3"));
                }
                let young = ctx.age_years.is_some_and(|y| y < 13);
                next.minimum_level = if a.disclosure {
                    Some(RiskLevel::High)
                } else if young || a.learning_disability {
                    Some(RiskLevel::LowMedium)
                } else {
                    None
                };
                next.stage = Stage::Assessed;
                next.assessed_at = Some(at);
            }
            Step::Panel { level, attendance, .. } => {
                if !matches!(self.stage, Stage::Assessed | Stage::Panel | Stage::Plan) {
                    return Err(refuse("the risk panel follows the initial risk assessment"));
                }
                if !attendance.iter().any(|a| a.attended) {
                    return Err(refuse("record which agencies attended (at least one did)"));
                }
                self.check_floor(*level).map_err(|r| refuse(&r))?;
                next.level = Some(*level);
                next.panel_at = Some(at);
                next.stage = if self.stage == Stage::Plan && level.needs_strategy_meeting() {
                    Stage::Plan
                } else {
                    Stage::Panel
                };
            }
            Step::StrategyMeeting { plan, attendance } => {
                if self.stage != Stage::Panel {
                    return Err(refuse("a strategy meeting follows the risk panel"));
                }
                if !self.level.is_some_and(RiskLevel::needs_strategy_meeting) {
                    return Err(refuse("a strategy meeting is held at Medium risk or above"));
                }
                if plan.actions.is_empty() || plan.actions.iter().any(|a| blank(&a.what) || blank(&a.owner)) {
                    return Err(refuse("a safety plan needs at least one action, each with what and who"));
                }
                if (!plan.parents_involved || !plan.young_person_involved) && blank(&plan.not_involved_reason) {
                    return Err(refuse(
                        "the young person and the parents are involved in the plan unless there is a recorded reason",
                    ));
                }
                if !attendance.iter().any(|a| a.attended) {
                    return Err(refuse("record which agencies attended (at least one did)"));
                }
                next.stage = Stage::Plan;
                next.last_meeting_at = Some(at);
            }
            Step::Review { level, notes } => {
                if self.stage != Stage::Plan {
                    return Err(refuse("reviews follow the strategy meeting"));
                }
                if blank(notes) {
                    return Err(refuse("a review records what was found"));
                }
                self.check_floor(*level).map_err(|r| refuse(&r))?;
                next.level = Some(*level);
                next.last_meeting_at = Some(at);
                if !level.needs_strategy_meeting() {
                    // Risk fell below Medium: a low-risk case, open to step-down or resolution.
                    next.stage = Stage::Panel;
                    next.panel_at = Some(at);
                }
            }
            Step::Resolve { exit_strategy } => {
                let low_at_panel =
                    self.stage == Stage::Panel && !self.level.is_some_and(RiskLevel::needs_strategy_meeting);
                if !(low_at_panel || self.stage == Stage::Plan) {
                    return Err(refuse(
                        "a case resolves after its panel (below Medium) or its strategy meeting (Medium and above)",
                    ));
                }
                if blank(exit_strategy) {
                    return Err(refuse("resolution needs an exit strategy"));
                }
                next.close(Closure::Resolved, at);
            }
            Step::StepDown { to_team, reason } => {
                if !matches!(self.stage, Stage::Panel | Stage::Plan) || !self.level.is_some_and(RiskLevel::is_low) {
                    return Err(refuse("only a case the panel rated Low or Low-Medium steps down"));
                }
                if blank(to_team) || blank(reason) {
                    return Err(refuse("say which team takes it on, and why"));
                }
                next.close(Closure::SteppedDown, at);
            }
            Step::Escalate { reason } => {
                if blank(reason) {
                    return Err(refuse("escalation needs its reason"));
                }
                next.close(Closure::ChildProtection, at);
            }
            Step::TransferToAdults { reason } => {
                if ctx.age_years.is_none_or(|y| y < 17) {
                    return Err(refuse("only a young person of 17 or over (turning 18) transfers to adult services"));
                }
                if blank(reason) {
                    return Err(refuse("the transfer needs its reason"));
                }
                next.close(Closure::AdultServices, at);
            }
        }
        Ok(next)
    }

    fn check_floor(&self, level: RiskLevel) -> Result<(), String> {
        match self.minimum_level {
            Some(min) if level < min => Err(format!(
                "the assessment does not allow a level below {} (a disclosure means High; under 13 or a learning disability, never Low)",
                min.label()
            )),
            _ => Ok(()),
        }
    }

    fn close(&mut self, closure: Closure, at: DateTime<Utc>) {
        self.stage = Stage::Closed;
        self.closure = Some(closure);
        self.closed_at = Some(at);
    }

    /// The kinds of step the case may take now (before checking what a step carries).
    pub fn possible_steps(&self) -> Vec<StepKind> {
        use StepKind::*;
        let low = self.level.is_some_and(RiskLevel::is_low);
        let strategy = self.level.is_some_and(RiskLevel::needs_strategy_meeting);
        let mut out = Vec::new();
        match self.stage {
            Stage::Closed => return out,
            Stage::Referred => out.push(Allocate),
            Stage::Allocated => out.extend([Allocate, Assess]),
            Stage::Assessed => out.extend([Allocate, Panel]),
            Stage::Panel => {
                out.extend([Allocate, Panel]);
                if strategy {
                    out.push(StrategyMeeting);
                } else {
                    out.push(Resolve);
                }
                if low {
                    out.push(StepDown);
                }
            }
            Stage::Plan => {
                out.extend([Allocate, Panel, Review, Resolve]);
                if low {
                    out.push(StepDown);
                }
            }
        }
        out.extend([Escalate, TransferToAdults]);
        out
    }

    /// What is due, and when.
    pub fn deadlines(&self, t: &Timescales) -> Vec<Deadline> {
        let mut out = Vec::new();
        let mut due = |what, at| out.push(Deadline { what, due: at });
        match self.stage {
            Stage::Closed => {}
            Stage::Referred | Stage::Allocated | Stage::Assessed => {
                if self.stage == Stage::Referred {
                    due(
                        DeadlineKind::Allocation,
                        working_days_after(self.referred_at, t.allocate_working_days, &t.holidays),
                    );
                }
                if let (Stage::Allocated, Some(a)) = (self.stage, self.allocated_at) {
                    due(DeadlineKind::Assessment, working_days_after(a, t.assess_working_days, &t.holidays));
                }
                due(DeadlineKind::Panel, self.referred_at + Duration::days(i64::from(t.panel_days)));
            }
            Stage::Panel => {
                let (Some(level), Some(panel)) = (self.level, self.panel_at) else { return out };
                if level.needs_strategy_meeting() {
                    due(DeadlineKind::StrategyMeeting, working_days_after(panel, t.strategy_working_days, &t.holidays));
                } else {
                    due(DeadlineKind::Review, panel + Duration::days(i64::from(t.review_days(level))));
                }
            }
            Stage::Plan => {
                let (Some(level), Some(last)) = (self.level, self.last_meeting_at) else { return out };
                due(DeadlineKind::Review, last + Duration::days(i64::from(t.review_days(level))));
            }
        }
        out
    }
}

/// Something due on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub what: DeadlineKind,
    pub due: DateTime<Utc>,
}

/// How long each stage may take (configuration; defaults from the seed and sector practice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timescales {
    /// From referral to allocation, in working days.
    pub allocate_working_days: u32,
    /// From allocation to the initial risk assessment, in working days.
    pub assess_working_days: u32,
    /// From referral to the multi-agency risk panel, in calendar days (the seed: six weeks).
    pub panel_days: u32,
    /// From a panel at Medium or above to the strategy meeting, in working days.
    pub strategy_working_days: u32,
    /// Review intervals by risk level, in calendar days.
    pub review_days_high: u32,
    pub review_days_medium_high: u32,
    pub review_days_medium: u32,
    pub review_days_low: u32,
    /// Bank holidays, skipped like weekends by working-day deadlines.
    pub holidays: Vec<NaiveDate>,
}

impl Default for Timescales {
    fn default() -> Self {
        Timescales {
            allocate_working_days: 1,
            assess_working_days: 10,
            panel_days: 42,
            strategy_working_days: 5,
            review_days_high: 28,
            review_days_medium_high: 42,
            review_days_medium: 42,
            review_days_low: 84,
            holidays: Vec::new(),
        }
    }
}

impl Timescales {
    pub fn review_days(&self, level: RiskLevel) -> u32 {
        match level {
            RiskLevel::High => self.review_days_high,
            RiskLevel::MediumHigh => self.review_days_medium_high,
            RiskLevel::Medium => self.review_days_medium,
            RiskLevel::LowMedium | RiskLevel::Low => self.review_days_low,
        }
    }
}

/// Caseloads (F8): each open case weighs by its risk; a worker's load is the sum, against a
/// maximum the safeguarding board sets (the national recommendation: 8-10 high-priority cases).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Caseload {
    /// The most weighted cases one worker carries; above it only with a manager's override.
    pub max: f64,
    pub weight_high: f64,
    pub weight_medium_high: f64,
    pub weight_medium: f64,
    pub weight_low: f64,
    /// A case not yet rated by a panel.
    pub weight_unrated: f64,
}

impl Default for Caseload {
    fn default() -> Self {
        Caseload {
            max: 10.0,
            weight_high: 1.0,
            weight_medium_high: 0.75,
            weight_medium: 0.5,
            weight_low: 0.25,
            weight_unrated: 0.5,
        }
    }
}

impl Caseload {
    pub fn weight(&self, level: Option<RiskLevel>) -> f64 {
        match level {
            None => self.weight_unrated,
            Some(RiskLevel::High) => self.weight_high,
            Some(RiskLevel::MediumHigh) => self.weight_medium_high,
            Some(RiskLevel::Medium) => self.weight_medium,
            Some(RiskLevel::LowMedium | RiskLevel::Low) => self.weight_low,
        }
    }

    /// The weighted load of these open cases' levels.
    pub fn load(&self, levels: impl IntoIterator<Item = Option<RiskLevel>>) -> f64 {
        levels.into_iter().map(|l| self.weight(l)).sum()
    }

    /// What allocating a case of `level` to a worker now carrying `load` means.
    pub fn check(&self, load: f64, level: Option<RiskLevel>) -> Allocation {
        let after = load + self.weight(level);
        // A tolerance for sums of weights like 0.75 + 0.25.
        if after > self.max + 1e-9 {
            Allocation::Breach { after }
        } else if after > self.max - 1.0 - 1e-9 {
            Allocation::Warn { after }
        } else {
            Allocation::Fine { after }
        }
    }
}

/// The answer of [`Caseload::check`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Allocation {
    Fine {
        after: f64,
    },
    /// Within a case of the maximum: shown before anyone allocates.
    Warn {
        after: f64,
    },
    /// Over the maximum: needs a manager's override with its reason.
    Breach {
        after: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ctx(at: &str) -> Context {
        Context { at: t(at), age_years: Some(15) }
    }

    fn attended() -> Vec<Attendance> {
        vec![Attendance { agency: AgencyId(uuid::Uuid::nil()), attended: true }]
    }

    fn assessment(level: RiskLevel) -> Assessment {
        Assessment {
            indicators: vec![IndicatorScore { group: "missing".into(), score: 2 }],
            young_person_views: "wants to stay at school".into(),
            parents_views: "worried".into(),
            needs: vec!["camhs".into()],
            disclosure: false,
            learning_disability: false,
            proposed_level: level,
            summary: "missing and older associates".into(),
        }
    }

    fn plan() -> SafetyPlan {
        SafetyPlan {
            actions: vec![PlanAction {
                what: "Disruption visit".into(),
                owner: "Police".into(),
                due: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            }],
            young_person_involved: true,
            parents_involved: true,
            not_involved_reason: String::new(),
        }
    }

    fn sample(kind: StepKind, level: RiskLevel) -> Step {
        let reason = "recorded reason".to_owned();
        match kind {
            StepKind::Allocate => Step::Allocate { worker: UserId(uuid::Uuid::nil()), override_reason: None },
            StepKind::Assess => Step::Assess(assessment(level)),
            StepKind::Panel => Step::Panel { level, attendance: attended(), notes: "agreed".into() },
            StepKind::StrategyMeeting => Step::StrategyMeeting { plan: plan(), attendance: attended() },
            StepKind::Review => Step::Review { level, notes: "going to school".into() },
            StepKind::Resolve => Step::Resolve { exit_strategy: "youth club, school nurse".into() },
            StepKind::StepDown => Step::StepDown { to_team: "Early help".into(), reason },
            StepKind::Escalate => Step::Escalate { reason },
            StepKind::TransferToAdults => Step::TransferToAdults { reason },
        }
    }

    /// Walks a case along `steps`, each a day apart, panicking on a refusal.
    fn walk(steps: &[Step]) -> Case {
        let mut case = Case::referred(t("2026-11-02T09:00:00Z"));
        for (i, s) in steps.iter().enumerate() {
            let c = Context { at: case.referred_at + Duration::days(i as i64 + 1), age_years: Some(15) };
            case = case.apply(s, &c).unwrap_or_else(|r| panic!("step {i}: {r}"));
        }
        case
    }

    #[test]
    fn every_legal_transition() {
        use RiskLevel::*;
        use Stage as S;
        use StepKind as K;
        let at = |stage: Stage, level: RiskLevel| -> Case {
            let path: Vec<Step> = match stage {
                S::Referred => vec![],
                S::Allocated => vec![sample(K::Allocate, level)],
                S::Assessed => vec![sample(K::Allocate, level), sample(K::Assess, level)],
                S::Panel => vec![sample(K::Allocate, level), sample(K::Assess, level), sample(K::Panel, level)],
                S::Plan | S::Closed => vec![
                    sample(K::Allocate, level),
                    sample(K::Assess, level),
                    sample(K::Panel, level),
                    sample(K::StrategyMeeting, level),
                ],
            };
            walk(&path)
        };
        // (from stage, level, step, level the step carries, resulting stage)
        #[rustfmt::skip]
        let legal = [
            (S::Referred, Low, K::Allocate, Low, S::Allocated),
            (S::Allocated, Low, K::Allocate, Low, S::Allocated),
            (S::Allocated, Low, K::Assess, Medium, S::Assessed),
            (S::Assessed, Low, K::Panel, Low, S::Panel),
            (S::Assessed, Low, K::Panel, High, S::Panel),
            (S::Panel, Low, K::Panel, Medium, S::Panel),
            (S::Panel, Low, K::Resolve, Low, S::Closed),
            (S::Panel, LowMedium, K::StepDown, Low, S::Closed),
            (S::Panel, Medium, K::StrategyMeeting, Medium, S::Plan),
            (S::Plan, High, K::Review, High, S::Plan),
            (S::Plan, High, K::Review, Low, S::Panel),
            (S::Plan, High, K::Panel, MediumHigh, S::Plan),
            (S::Plan, High, K::Panel, LowMedium, S::Panel),
            (S::Plan, Medium, K::Resolve, Low, S::Closed),
            (S::Plan, Medium, K::Allocate, Low, S::Plan),
        ];
        for (from, level, step, carried, to) in legal {
            let case = at(from, level);
            assert_eq!(case.stage, from);
            assert!(case.possible_steps().contains(&step), "{from} offers {step}");
            let next = case.apply(&sample(step, carried), &ctx("2026-12-20T10:00:00Z")).unwrap();
            assert_eq!(next.stage, to, "{from} --{step}--> {to}");
        }
        // Escalation and transfer at 17+ from every open stage.
        for from in [S::Referred, S::Allocated, S::Assessed, S::Panel, S::Plan] {
            let case = at(from, Medium);
            let esc = case.apply(&sample(K::Escalate, Low), &ctx("2026-12-20T10:00:00Z")).unwrap();
            assert_eq!(esc.closure, Some(Closure::ChildProtection));
            let seventeen = Context { at: t("2026-12-20T10:00:00Z"), age_years: Some(17) };
            let adult = case.apply(&sample(K::TransferToAdults, Low), &seventeen).unwrap();
            assert_eq!(adult.closure, Some(Closure::AdultServices));
            assert!(case.apply(&sample(K::TransferToAdults, Low), &ctx("2026-12-20T10:00:00Z")).is_err(), "15");
        }
    }

    #[test]
    fn illegal_steps_are_refused_with_a_reason() {
        use RiskLevel::*;
        use StepKind as K;
        let c = ctx("2026-12-20T10:00:00Z");
        let referred = Case::referred(t("2026-11-02T09:00:00Z"));
        for kind in [K::Assess, K::Panel, K::StrategyMeeting, K::Review, K::Resolve, K::StepDown] {
            let r = referred.apply(&sample(kind, Low), &c).unwrap_err();
            assert_eq!(r.stage, Stage::Referred);
            assert!(!r.reason.is_empty());
        }
        let low = walk(&[sample(K::Allocate, Low), sample(K::Assess, Low), sample(K::Panel, Low)]);
        assert!(low.apply(&sample(K::StrategyMeeting, Low), &c).is_err(), "no strategy meeting below Medium");
        let medium = walk(&[sample(K::Allocate, Low), sample(K::Assess, Low), sample(K::Panel, Medium)]);
        assert!(medium.apply(&sample(K::StepDown, Low), &c).is_err(), "Medium does not step down");
        assert!(medium.apply(&sample(K::Resolve, Low), &c).is_err(), "Medium resolves only after its plan");
        // A disclosure makes the floor High; under 13, never Low.
        let mut disclosed = assessment(High);
        disclosed.disclosure = true;
        let case = walk(&[sample(K::Allocate, Low), Step::Assess(disclosed)]);
        let r = case.apply(&sample(K::Panel, MediumHigh), &c).unwrap_err();
        assert!(r.reason.contains("High"), "{r}");
        let twelve = Context { at: t("2026-11-04T10:00:00Z"), age_years: Some(12) };
        let case = walk(&[sample(K::Allocate, Low)]).apply(&sample(K::Assess, Low), &twelve).unwrap();
        assert!(case.apply(&sample(K::Panel, Low), &c).is_err());
        assert!(case.apply(&sample(K::Panel, LowMedium), &c).is_ok());
        // A plan leaving the parents out needs its reason.
        let mut p = plan();
        p.parents_involved = false;
        assert!(medium.apply(&Step::StrategyMeeting { plan: p.clone(), attendance: attended() }, &c).is_err());
        p.not_involved_reason = "child protection procedures apply".into();
        assert!(medium.apply(&Step::StrategyMeeting { plan: p, attendance: attended() }, &c).is_ok());
        // Closed is final.
        let closed = medium.apply(&sample(K::Escalate, Low), &c).unwrap();
        assert!(closed.possible_steps().is_empty());
        for kind in StepKind::ALL {
            assert!(closed.apply(&sample(*kind, Low), &c).is_err());
        }
    }

    #[test]
    fn caseload_weights_warn_before_a_breach() {
        let c = Caseload::default();
        let load = c.load([Some(RiskLevel::High); 8].into_iter().chain([None, Some(RiskLevel::Low)]));
        assert!((load - 8.75).abs() < 1e-9);
        assert_eq!(c.check(0.0, Some(RiskLevel::High)), Allocation::Fine { after: 1.0 });
        assert_eq!(c.check(8.75, Some(RiskLevel::Low)), Allocation::Warn { after: 9.0 });
        assert_eq!(c.check(9.0, Some(RiskLevel::High)), Allocation::Warn { after: 10.0 });
        assert!(matches!(c.check(9.75, Some(RiskLevel::Medium)), Allocation::Breach { .. }));
    }

    #[test]
    fn deadlines_at_their_boundaries() {
        let ts = Timescales::default();
        // Referred on a Friday afternoon: allocation due Monday, same time; panel six weeks on.
        let case = Case::referred(t("2026-11-27T16:00:00Z"));
        let d = case.deadlines(&ts);
        assert_eq!(d[0], Deadline { what: DeadlineKind::Allocation, due: t("2026-11-30T16:00:00Z") });
        assert_eq!(d[1], Deadline { what: DeadlineKind::Panel, due: t("2027-01-08T16:00:00Z") });
        // A bank holiday on that Monday moves allocation to Tuesday.
        let hol = Timescales { holidays: vec![NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()], ..ts.clone() };
        assert_eq!(case.deadlines(&hol)[0].due, t("2026-12-01T16:00:00Z"));
        // Allocated on a Saturday: ten working days from Monday 00:00.
        let c = case.apply(&sample(StepKind::Allocate, RiskLevel::Low), &ctx("2026-11-28T11:00:00Z")).unwrap();
        let d = c.deadlines(&ts);
        // (Monday 30 Nov starts the clock: 1 Dec, 2, 3, 4, 7, 8, 9, 10, 11, 14.)
        assert_eq!(d[0], Deadline { what: DeadlineKind::Assessment, due: t("2026-12-14T00:00:00Z") });
        // A High plan reviews every 28 days; Medium every 42; a Low panel after 84.
        let high = walk(&[
            sample(StepKind::Allocate, RiskLevel::Low),
            sample(StepKind::Assess, RiskLevel::High),
            sample(StepKind::Panel, RiskLevel::High),
            sample(StepKind::StrategyMeeting, RiskLevel::High),
        ]);
        let last = high.last_meeting_at.unwrap();
        assert_eq!(high.deadlines(&ts), vec![Deadline { what: DeadlineKind::Review, due: last + Duration::days(28) }]);
        let low = walk(&[
            sample(StepKind::Allocate, RiskLevel::Low),
            sample(StepKind::Assess, RiskLevel::Low),
            sample(StepKind::Panel, RiskLevel::Low),
        ]);
        assert_eq!(low.deadlines(&ts)[0].due, low.panel_at.unwrap() + Duration::days(84));
        let medium_panel = walk(&[
            sample(StepKind::Allocate, RiskLevel::Low),
            sample(StepKind::Assess, RiskLevel::Low),
            sample(StepKind::Panel, RiskLevel::Medium),
        ]);
        assert_eq!(medium_panel.deadlines(&ts)[0].what, DeadlineKind::StrategyMeeting);
        let closed = low.apply(&sample(StepKind::Resolve, RiskLevel::Low), &ctx("2027-01-01T00:00:00Z")).unwrap();
        assert!(closed.deadlines(&ts).is_empty());
    }

    /// What must hold of every case the pathway can reach.
    fn check_invariants(c: &Case) {
        let working = matches!(c.stage, Stage::Allocated | Stage::Assessed | Stage::Panel | Stage::Plan);
        if working {
            assert!(c.worker.is_some() && c.allocated_at.is_some(), "{c:?}");
        }
        if matches!(c.stage, Stage::Panel | Stage::Plan) {
            assert!(c.level.is_some() && c.assessed_at.is_some() && c.panel_at.is_some(), "{c:?}");
        }
        if c.stage == Stage::Plan {
            assert!(c.level.is_some_and(RiskLevel::needs_strategy_meeting) && c.last_meeting_at.is_some(), "{c:?}");
        }
        assert_eq!(c.stage == Stage::Closed, c.closure.is_some(), "{c:?}");
        assert_eq!(c.closure.is_some(), c.closed_at.is_some(), "{c:?}");
        if c.closure == Some(Closure::SteppedDown) {
            assert!(c.level.is_some_and(RiskLevel::is_low), "{c:?}");
        }
        if let (Some(level), Some(min)) = (c.level, c.minimum_level) {
            assert!(level >= min, "{c:?}");
        }
        for later in [c.allocated_at, c.assessed_at, c.panel_at, c.last_meeting_at, c.closed_at].into_iter().flatten() {
            assert!(later >= c.referred_at);
        }
    }

    fn any_step() -> impl Strategy<Value = Step> {
        let level = prop::sample::select(RiskLevel::ALL.to_vec());
        let text = prop_oneof![Just(String::new()), Just("a reason".to_owned())];
        (prop::sample::select(StepKind::ALL.to_vec()), level, text, any::<bool>(), any::<bool>(), 0u8..5).prop_map(
            |(kind, level, text, flag_a, flag_b, score)| match sample(kind, level) {
                Step::Assess(mut a) => {
                    a.disclosure = flag_a;
                    a.learning_disability = flag_b;
                    a.indicators[0].score = score;
                    if !flag_a && !flag_b {
                        a.summary = text;
                    }
                    Step::Assess(a)
                }
                Step::Panel { level, notes, .. } => Step::Panel {
                    level,
                    attendance: vec![Attendance { agency: AgencyId(uuid::Uuid::nil()), attended: flag_a }],
                    notes,
                },
                Step::StrategyMeeting { mut plan, attendance } => {
                    plan.parents_involved = flag_a;
                    plan.young_person_involved = flag_b;
                    plan.not_involved_reason = text;
                    Step::StrategyMeeting { plan, attendance }
                }
                Step::Escalate { .. } => Step::Escalate { reason: text },
                Step::Allocate { worker, .. } => Step::Allocate { worker, override_reason: flag_a.then_some(text) },
                other => other,
            },
        )
    }

    proptest! {
        /// Random sequences of steps, at random ages, never reach a state the pathway forbids:
        /// each step is either applied (and the invariants hold) or refused (and nothing changes).
        #[test]
        fn random_steps_never_reach_an_illegal_state(steps in prop::collection::vec((any_step(), 10u32..20), 0..40)) {
            let mut case = Case::referred(t("2026-11-02T09:00:00Z"));
            check_invariants(&case);
            for (i, (step, age)) in steps.iter().enumerate() {
                let c = Context { at: case.referred_at + Duration::hours(i as i64 + 1), age_years: Some(*age) };
                match case.apply(step, &c) {
                    Ok(next) => {
                        prop_assert!(case.is_open(), "a closed case changed");
                        prop_assert!(case.possible_steps().contains(&step.kind()), "{:?} took {:?}", case.stage, step.kind());
                        case = next;
                    }
                    Err(r) => prop_assert_eq!(r.stage, case.stage),
                }
                check_invariants(&case);
            }
        }
    }
}
