//! Evaluating a protocol's rules for one contact: the level of need, the indicators and alerts
//! the rules add, whether a manager must decide, and one explanation line per rule that fired.
//!
//! Rules fire in passes until nothing changes (a fixed point), so a rule that adds an indicator
//! or raises the level can make a later *or earlier* rule fire, whatever the order in the file.
//! Each rule fires at most once and effects only ever add (the level never goes down), so the
//! passes end after at most one more pass than there are rules.

use super::answer::Answer;
use super::condition::Facts;
use super::{LEVEL_UNIVERSAL, Protocol, level_name};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What the rules see of a contact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalInput {
    /// Answers keyed by question id, normally from [`Protocol::parse_answers`].
    pub answers: BTreeMap<String, Answer>,
    /// The screening's indicator mentions in the narrative.
    pub indicators: Vec<IndicatorHit>,
    /// The child's age in whole years, when the date of birth is known.
    pub child_age: Option<u32>,
}

/// One indicator mention found by screening. A mention the lexicon marks negated *or*
/// hypothetical should be passed with `negated = true`: only positive mentions count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorHit {
    pub group: String,
    pub term: String,
    /// 1 = low, 2 = medium, 3 = high.
    pub weight: u8,
    pub negated: bool,
}

/// The outcome of a protocol's rules for one contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// Level of need, 1 (universal) to 4 (acute). 3 or 4 notifies the safeguarding advisors.
    pub level: u8,
    /// Groups the rules added that screening had not found, in the order they were added.
    pub indicators_added: Vec<String>,
    /// Alert kinds raised, each once, in the order raised.
    pub alerts: Vec<String>,
    /// At least one rule that fired asks for a manager's decision.
    pub manager_decision: bool,
    /// The rules that fired, in firing order.
    pub fired: Vec<FiredRule>,
    /// One human-readable line per rule that fired (or one line saying none did).
    pub explanation: Vec<String>,
}

/// A rule that fired, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiredRule {
    pub rule_id: String,
    pub description: String,
    /// The condition in words, with the values that made it hold.
    pub because: String,
}

impl Protocol {
    /// Runs the rules over `input`. Pure and total: any input, however malformed, gives an
    /// evaluation (answers of the wrong type or for unknown questions are ignored).
    pub fn evaluate(&self, input: &EvalInput) -> Evaluation {
        let positive = || input.indicators.iter().filter(|hit| !hit.negated);
        let screened: BTreeSet<String> = positive().map(|hit| hit.group.clone()).collect();
        let mut facts = Facts {
            answers: &input.answers,
            present: screened.clone(),
            terms: positive().map(|hit| hit.term.to_lowercase()).collect(),
            // The first of the heaviest, so the explanation names the earliest strong mention.
            heaviest: positive().fold(None, |best: Option<(u8, String)>, hit| match best {
                Some((w, _)) if w >= hit.weight => best,
                _ => Some((hit.weight, hit.term.clone())),
            }),
            age: input.child_age,
            level: LEVEL_UNIVERSAL,
        };
        let mut evaluation = Evaluation {
            level: LEVEL_UNIVERSAL,
            indicators_added: Vec::new(),
            alerts: Vec::new(),
            manager_decision: false,
            fired: Vec::new(),
            explanation: Vec::new(),
        };
        let mut has_fired = vec![false; self.rules.len()];
        loop {
            let mut changed = false;
            for (rule, done) in self.rules.iter().zip(has_fired.iter_mut()) {
                if *done || !rule.when.holds(&facts) {
                    continue;
                }
                *done = true;
                changed = true;
                let because = rule.when.because(&facts);
                let mut consequences = Vec::new();
                let effects = &rule.effects;
                let head = match effects.raise_level {
                    Some(level) if level > facts.level => {
                        facts.level = level;
                        format!("Level raised to {level} ({}) by rule `{}`", level_name(level), rule.id)
                    }
                    Some(level) => {
                        format!("Rule `{}` fired (level {level}, {}, already reached)", rule.id, level_name(level))
                    }
                    None => format!("Rule `{}` fired", rule.id),
                };
                if let Some(group) = &effects.add_indicator
                    && facts.present.insert(group.clone())
                {
                    evaluation.indicators_added.push(group.clone());
                    consequences.push(format!("indicator {group} added"));
                }
                if let Some(kind) = &effects.raise_alert {
                    if !evaluation.alerts.contains(kind) {
                        evaluation.alerts.push(kind.clone());
                    }
                    consequences.push(format!("alert {kind} raised"));
                }
                if effects.require_manager_decision {
                    evaluation.manager_decision = true;
                    consequences.push("a manager must decide".to_owned());
                }
                let tail =
                    if consequences.is_empty() { String::new() } else { format!("; {}", consequences.join("; ")) };
                evaluation.explanation.push(format!("{head}: {because}{tail}."));
                evaluation.fired.push(FiredRule {
                    rule_id: rule.id.clone(),
                    description: rule.description.clone(),
                    because,
                });
            }
            if !changed {
                break;
            }
        }
        evaluation.level = facts.level;
        if evaluation.fired.is_empty() {
            evaluation.explanation.push(format!(
                "No rule of protocol `{}` fired: level of need {} ({}).",
                self.id,
                LEVEL_UNIVERSAL,
                level_name(LEVEL_UNIVERSAL)
            ));
        }
        evaluation
    }
}
