//! Finding rules that can never fire: a condition no contact could satisfy is almost always a
//! mistake (a `not` in the wrong place, a bound the wrong way round), and it would fail silently.
//!
//! The check is deliberately conservative: it proves a condition unsatisfiable only from the
//! plain facts it names, and never refuses a rule that some contact could fire. It
//! 1. pushes every `not` down to the single facts (negation normal form);
//! 2. treats an `any` as satisfiable when at least one branch is on its own;
//! 3. within an `all` (nested `all`s flattened), checks that the facts it requires can hold
//!    together: per question, some answer of its type (options, number or date range within the
//!    question's min and max) meets every comparison; no indicator group is both required and
//!    excluded, and "at least N of …" counts can still be met; the age and the level of need
//!    fall in a non-empty range.
//!
//! It does not distribute an `all` over the branches of an `any` (that grows exponentially), so
//! a conflict that only shows across such branches is not found.

use super::answer::AnswerDate;
use super::condition::{AnswerCheck, Cmp, Condition, Test};
use super::{Question, QuestionKind};
use std::collections::{BTreeMap, BTreeSet};

/// Why a condition can never be true, and the line of the (last) fact that makes it so.
pub(super) struct DeadEnd {
    pub(super) line: usize,
    pub(super) reason: String,
}

/// `Some` when no contact can satisfy `condition`. `question` finds a question by id.
pub(super) fn dead_end<'q>(condition: &Condition, question: &dyn Fn(&str) -> Option<&'q Question>) -> Option<DeadEnd> {
    satisfiable(&normal_form(condition, true), question).err()
}

/// A condition with every `not` pushed down to a single fact.
enum Normal<'c> {
    And(Vec<Normal<'c>>),
    Or(Vec<Normal<'c>>, usize),
    Fact(Fact<'c>),
}

/// A single fact, required to hold (`positive`) or not to hold.
#[derive(Clone, Copy)]
struct Fact<'c> {
    positive: bool,
    condition: &'c Condition,
}

fn normal_form(condition: &Condition, positive: bool) -> Normal<'_> {
    match (&condition.test, positive) {
        (Test::All(parts), true) | (Test::Any(parts), false) => {
            Normal::And(parts.iter().map(|p| normal_form(p, positive)).collect())
        }
        (Test::Any(parts), true) | (Test::All(parts), false) => {
            Normal::Or(parts.iter().map(|p| normal_form(p, positive)).collect(), condition.line)
        }
        (Test::Not(inner), _) => normal_form(inner, !positive),
        _ => Normal::Fact(Fact { positive, condition }),
    }
}

fn satisfiable<'q>(normal: &Normal<'_>, question: &dyn Fn(&str) -> Option<&'q Question>) -> Result<(), DeadEnd> {
    match normal {
        Normal::Or(branches, line) => {
            let mut first_reason = None;
            for branch in branches {
                match satisfiable(branch, question) {
                    Ok(()) => return Ok(()),
                    Err(dead) => {
                        first_reason.get_or_insert(dead);
                    }
                }
            }
            match first_reason {
                Some(dead) if branches.len() == 1 => Err(dead),
                Some(dead) => Err(DeadEnd {
                    line: *line,
                    reason: format!(
                        "none of its {} alternatives can be true (the first: {})",
                        branches.len(),
                        dead.reason
                    ),
                }),
                None => Err(DeadEnd { line: *line, reason: "an empty `any` is never true".to_owned() }),
            }
        }
        Normal::Fact(_) | Normal::And(_) => {
            let mut facts = Vec::new();
            let mut alternatives = Vec::new();
            flatten(normal, &mut facts, &mut alternatives);
            for alternative in alternatives {
                satisfiable(alternative, question)?;
            }
            consistent(&facts, question)
        }
    }
}

fn flatten<'n, 'c>(normal: &'n Normal<'c>, facts: &mut Vec<Fact<'c>>, alternatives: &mut Vec<&'n Normal<'c>>) {
    match normal {
        Normal::And(parts) => parts.iter().for_each(|p| flatten(p, facts, alternatives)),
        Normal::Or(..) => alternatives.push(normal),
        Normal::Fact(fact) => facts.push(*fact),
    }
}

/// Whether the facts an `all` requires can hold together.
fn consistent<'q>(facts: &[Fact<'_>], question: &dyn Fn(&str) -> Option<&'q Question>) -> Result<(), DeadEnd> {
    let mut by_question: BTreeMap<&str, Vec<(bool, &AnswerCheck, usize)>> = BTreeMap::new();
    let mut indicators = Vec::new();
    let mut ages = Vec::new();
    let mut levels = Vec::new();
    for fact in facts {
        let line = fact.condition.line;
        match &fact.condition.test {
            Test::Answer { question, check } => {
                by_question.entry(question).or_default().push((fact.positive, check, line))
            }
            Test::AgeUnder(n) => ages.push((fact.positive, *n, line)),
            Test::LevelAtLeast(n) => levels.push((fact.positive, *n, line)),
            Test::Indicator(_) | Test::Term(_) | Test::IndicatorsAtLeast { .. } | Test::WeightAtLeast(_) => {
                indicators.push(*fact);
            }
            // Normal form leaves no compound tests among the facts.
            Test::All(_) | Test::Any(_) | Test::Not(_) => {}
        }
    }
    for (id, checks) in &by_question {
        if let Some(q) = question(id) {
            answer_consistent(q, checks)?;
        }
    }
    indicators_consistent(&indicators)?;
    age_consistent(&ages)?;
    level_consistent(&levels)
}

fn last_line<T>(items: &[T], line: impl Fn(&T) -> usize) -> usize {
    items.iter().map(line).max().unwrap_or(1)
}

fn answer_consistent(question: &Question, checks: &[(bool, &AnswerCheck, usize)]) -> Result<(), DeadEnd> {
    // A fact that must *not* hold is met by leaving the question unanswered, so only facts that
    // must hold can make the question's facts contradict.
    if !checks.iter().any(|(positive, _, _)| *positive) {
        return Ok(());
    }
    let possible = match &question.kind {
        QuestionKind::YesNo => [true, false].iter().any(|value| {
            checks.iter().all(|(positive, check, _)| match check {
                AnswerCheck::IsYes(want) => (want == value) == *positive,
                _ => true,
            })
        }),
        QuestionKind::Choice { options } => options.iter().any(|option| {
            checks.iter().all(|(positive, check, _)| match check {
                AnswerCheck::ChoiceIn(listed) => listed.contains(option) == *positive,
                _ => true,
            })
        }),
        QuestionKind::MultiChoice { .. } => {
            let required: BTreeSet<&str> = checks
                .iter()
                .filter_map(|(positive, check, _)| match check {
                    AnswerCheck::Includes(option) if *positive => Some(option.as_str()),
                    _ => None,
                })
                .collect();
            !checks.iter().any(|(positive, check, _)| match check {
                AnswerCheck::Includes(option) => !positive && required.contains(option.as_str()),
                _ => false,
            })
        }
        QuestionKind::Number { min, max } => {
            let mut range = Range::new();
            if let Some(min) = min {
                range.narrow(true, Cmp::Gte, *min);
            }
            if let Some(max) = max {
                range.narrow(true, Cmp::Lte, *max);
            }
            for (positive, check, _) in checks {
                if let AnswerCheck::Number(cmp, bound) = check {
                    range.narrow(*positive, *cmp, *bound);
                }
            }
            range.possible()
        }
        QuestionKind::Date => {
            let mut range: Range<AnswerDate> = Range::new();
            for (positive, check, _) in checks {
                if let AnswerCheck::Date(cmp, bound) = check {
                    range.narrow(*positive, *cmp, *bound);
                }
            }
            range.possible()
        }
        QuestionKind::Text => true,
    };
    if possible {
        return Ok(());
    }
    let parts: Vec<String> = checks
        .iter()
        .map(|(positive, check, _)| if *positive { check.stated() } else { format!("not {}", check.stated()) })
        .collect();
    let range = match &question.kind {
        QuestionKind::Number { min: Some(min), max: Some(max) } => format!(" (its range is {min} to {max})"),
        QuestionKind::Number { min: Some(min), max: None } => format!(" (its min is {min})"),
        QuestionKind::Number { min: None, max: Some(max) } => format!(" (its max is {max})"),
        _ => String::new(),
    };
    Err(DeadEnd {
        line: last_line(checks, |c| c.2),
        reason: format!("no answer to `{}` is {}{range}", question.id, parts.join(" and ")),
    })
}

/// The values a number or date answer may still take: bounds with their strictness, and points
/// excluded by `not equals`.
struct Range<T> {
    low: Option<(T, bool)>,
    high: Option<(T, bool)>,
    excluded: Vec<T>,
}

impl<T: PartialOrd + Copy> Range<T> {
    fn new() -> Self {
        Self { low: None, high: None, excluded: Vec::new() }
    }

    /// Narrows to the values where `value CMP bound` is `positive`.
    fn narrow(&mut self, positive: bool, cmp: Cmp, bound: T) {
        match (cmp, positive) {
            (Cmp::Eq, true) => {
                self.raise_low(bound, false);
                self.lower_high(bound, false);
            }
            (Cmp::Eq, false) => self.excluded.push(bound),
            (Cmp::Gt, true) | (Cmp::Lte, false) => self.raise_low(bound, true),
            (Cmp::Gte, true) | (Cmp::Lt, false) => self.raise_low(bound, false),
            (Cmp::Lt, true) | (Cmp::Gte, false) => self.lower_high(bound, true),
            (Cmp::Lte, true) | (Cmp::Gt, false) => self.lower_high(bound, false),
        }
    }

    fn raise_low(&mut self, bound: T, strict: bool) {
        let tighter = match self.low {
            None => true,
            Some((low, low_strict)) => bound > low || (bound == low && strict && !low_strict),
        };
        if tighter {
            self.low = Some((bound, strict));
        }
    }

    fn lower_high(&mut self, bound: T, strict: bool) {
        let tighter = match self.high {
            None => true,
            Some((high, high_strict)) => bound < high || (bound == high && strict && !high_strict),
        };
        if tighter {
            self.high = Some((bound, strict));
        }
    }

    /// Whether some value is left. Between two distinct bounds there is always one for numbers;
    /// for dates there may not be (`gt` one day, `lt` the next), which this does not claim, so
    /// a rule is never refused wrongly.
    fn possible(&self) -> bool {
        match (self.low, self.high) {
            (Some((low, low_strict)), Some((high, high_strict))) => {
                if low < high {
                    true
                } else if low == high {
                    !low_strict && !high_strict && !self.excluded.contains(&low)
                } else {
                    false
                }
            }
            _ => true,
        }
    }
}

fn indicators_consistent(facts: &[Fact<'_>]) -> Result<(), DeadEnd> {
    let line = last_line(facts, |f| f.condition.line);
    let dead = |reason: String| Err(DeadEnd { line, reason });
    let mut present: BTreeSet<&str> = BTreeSet::new();
    let mut absent: BTreeSet<&str> = BTreeSet::new();
    let mut terms: BTreeMap<&str, Vec<bool>> = BTreeMap::new();
    let mut weight_at_least: Option<u8> = None;
    let mut weight_below: Option<u8> = None;
    let mut at_least = Vec::new();
    let mut fewer_than = Vec::new();
    for fact in facts {
        match (&fact.condition.test, fact.positive) {
            (Test::Indicator(group), true) => {
                present.insert(group);
            }
            (Test::Indicator(group), false) => {
                absent.insert(group);
            }
            (Test::Term(term), positive) => terms.entry(term).or_default().push(positive),
            (Test::WeightAtLeast(w), true) => weight_at_least = weight_at_least.max(Some(*w)),
            (Test::WeightAtLeast(w), false) => weight_below = Some(weight_below.map_or(*w, |b| b.min(*w))),
            (Test::IndicatorsAtLeast { count, of }, true) => at_least.push((*count, of)),
            (Test::IndicatorsAtLeast { count, of }, false) => fewer_than.push((*count, of)),
            _ => {}
        }
    }
    if let Some(group) = present.intersection(&absent).next() {
        return dead(format!("indicator {group} would have to be both present and not present"));
    }
    if let Some((term, _)) = terms.iter().find(|(_, signs)| signs.contains(&true) && signs.contains(&false)) {
        return dead(format!("the term {term:?} would have to be both mentioned and not mentioned"));
    }
    if let (Some(at_least), Some(below)) = (weight_at_least, weight_below)
        && below <= at_least
    {
        return dead(format!(
            "an indicator of weight at least {at_least} is required but none of weight {below} or more is allowed"
        ));
    }
    for (count, of) in &at_least {
        let could_be = of.iter().filter(|g| !absent.contains(g.as_str())).count();
        if could_be < *count {
            return dead(format!(
                "at least {count} of {} must be present, but only {could_be} of them may be",
                of.join(", ")
            ));
        }
    }
    for (count, of) in &fewer_than {
        let must_be = of.iter().filter(|g| present.contains(g.as_str())).count();
        if must_be >= *count {
            return dead(format!(
                "fewer than {count} of {} may be present, but {must_be} of them must be",
                of.join(", ")
            ));
        }
        // "at least n of S" forces at least n of any superset T of S.
        if let Some((n, s)) = at_least.iter().find(|(n, s)| n >= count && s.iter().all(|g| of.contains(g))) {
            return dead(format!(
                "at least {n} of {} must be present, so fewer than {count} of {} cannot hold",
                s.join(", "),
                of.join(", ")
            ));
        }
    }
    Ok(())
}

fn age_consistent(facts: &[(bool, u32, usize)]) -> Result<(), DeadEnd> {
    let under = facts.iter().filter(|(positive, _, _)| *positive).map(|(_, n, _)| *n).min();
    let not_under = facts.iter().filter(|(positive, _, _)| !*positive).map(|(_, n, _)| *n).max();
    match (under, not_under) {
        (Some(under), Some(not_under)) if under <= not_under => Err(DeadEnd {
            line: last_line(facts, |f| f.2),
            reason: format!("the child cannot be both under {under} and not under {not_under}"),
        }),
        _ => Ok(()),
    }
}

fn level_consistent(facts: &[(bool, u8, usize)]) -> Result<(), DeadEnd> {
    let at_least = facts.iter().filter(|(positive, _, _)| *positive).map(|(_, n, _)| *n).max().unwrap_or(1);
    let below = facts.iter().filter(|(positive, _, _)| !*positive).map(|(_, n, _)| *n).min().unwrap_or(5);
    if at_least < below {
        return Ok(());
    }
    let reason = if below <= 1 {
        "the level of need is never below 1".to_owned()
    } else {
        format!("the level of need cannot be at least {at_least} and below {below}")
    };
    Err(DeadEnd { line: last_line(facts, |f| f.2), reason })
}
