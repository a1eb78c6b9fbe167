//! Rule conditions once validated: what each form means, whether it holds for a contact, and the
//! plain-English reason it held, for the explanation the advisor reads.
//!
//! Every form is total: an unanswered question, an answer of the wrong type (the input did not
//! come through `parse_answers`) or an unknown age makes a comparison false, never a panic.

use super::answer::{Answer, AnswerDate};
use super::level_name;
use std::collections::{BTreeMap, BTreeSet};

/// A validated condition, with the line it was written on (for reachability errors).
#[derive(Debug, Clone)]
pub(super) struct Condition {
    pub(super) line: usize,
    pub(super) test: Test,
}

#[derive(Debug, Clone)]
pub(super) enum Test {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Answer {
        question: String,
        check: AnswerCheck,
    },
    /// A positive (not negated) mention of the group, from screening or added by a rule.
    Indicator(String),
    /// A positive mention of this lexicon term (compared without case).
    Term(String),
    /// At least `count` distinct groups of `of` are present.
    IndicatorsAtLeast {
        count: usize,
        of: Vec<String>,
    },
    /// A positive mention of weight `n` or more (3 = high).
    WeightAtLeast(u8),
    /// The child's age is known and below `n` years.
    AgeUnder(u32),
    /// The level of need reached so far is at least `n`.
    LevelAtLeast(u8),
}

/// A comparison on one answer, already checked against the question's type.
#[derive(Debug, Clone)]
pub(super) enum AnswerCheck {
    /// yes_no: `is_yes = true|false` (or `equals = true|false`).
    IsYes(bool),
    /// choice: `equals` (one option) or `in` (several).
    ChoiceIn(Vec<String>),
    /// multi_choice: `contains`.
    Includes(String),
    Number(Cmp, f64),
    Date(Cmp, AnswerDate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, value: &T, bound: &T) -> bool {
        match self {
            Cmp::Eq => value == bound,
            Cmp::Gt => value > bound,
            Cmp::Gte => value >= bound,
            Cmp::Lt => value < bound,
            Cmp::Lte => value <= bound,
        }
    }

    pub(super) fn phrase(self) -> &'static str {
        match self {
            Cmp::Eq => "equal to",
            Cmp::Gt => "more than",
            Cmp::Gte => "at least",
            Cmp::Lt => "less than",
            Cmp::Lte => "at most",
        }
    }
}

/// What a contact brings to the rules at one moment of evaluation.
pub(super) struct Facts<'a> {
    pub(super) answers: &'a BTreeMap<String, Answer>,
    /// Groups with a positive mention, or added by a rule that fired.
    pub(super) present: BTreeSet<String>,
    /// Lower-cased terms with a positive mention.
    pub(super) terms: BTreeSet<String>,
    /// The weightiest positive mention: weight and term.
    pub(super) heaviest: Option<(u8, String)>,
    pub(super) age: Option<u32>,
    pub(super) level: u8,
}

impl Condition {
    pub(super) fn holds(&self, facts: &Facts<'_>) -> bool {
        match &self.test {
            Test::All(parts) => parts.iter().all(|c| c.holds(facts)),
            Test::Any(parts) => parts.iter().any(|c| c.holds(facts)),
            Test::Not(inner) => !inner.holds(facts),
            Test::Answer { question, check } => facts.answers.get(question).is_some_and(|a| check.holds(a)),
            Test::Indicator(group) => facts.present.contains(group),
            Test::Term(term) => facts.terms.contains(term),
            Test::IndicatorsAtLeast { count, of } => present_of(of, facts).len() >= *count,
            Test::WeightAtLeast(n) => facts.heaviest.as_ref().is_some_and(|(w, _)| w >= n),
            Test::AgeUnder(n) => facts.age.is_some_and(|age| age < *n),
            Test::LevelAtLeast(n) => facts.level >= *n,
        }
    }

    /// Why the condition holds, in words, with the values that made it hold. Only meaningful
    /// when `holds(facts)` is true (the caller checks).
    pub(super) fn because(&self, facts: &Facts<'_>) -> String {
        match &self.test {
            Test::All(parts) => join_reasons(parts.iter(), facts),
            // Only the branches that held are reasons; the others are noise to the reader.
            Test::Any(parts) => join_reasons(parts.iter().filter(|c| c.holds(facts)), facts),
            Test::Not(inner) => inner.negated(),
            Test::Answer { question, check } => match facts.answers.get(question) {
                Some(answer) => check.because(question, answer),
                None => format!("answer `{question}` is missing"),
            },
            Test::Indicator(group) => format!("indicator {group} is present"),
            Test::Term(term) => format!("the term {term:?} is mentioned"),
            Test::IndicatorsAtLeast { count, of } => {
                let found = present_of(of, facts);
                format!(
                    "{} of the indicators {} are present ({}; at least {count} needed)",
                    found.len(),
                    of.join(", "),
                    found.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
            Test::WeightAtLeast(n) => match &facts.heaviest {
                Some((weight, term)) => format!("the indicator {term:?} has weight {weight} (at least {n})"),
                None => format!("an indicator of weight at least {n} is present"),
            },
            Test::AgeUnder(n) => match facts.age {
                Some(age) => format!("the child is {age} (under {n})"),
                None => format!("the child is under {n}"),
            },
            Test::LevelAtLeast(n) => {
                format!("the level of need is already {} ({}, at least {n})", facts.level, level_name(facts.level))
            }
        }
    }

    /// The condition written in words as a statement that is false (used under `not`).
    fn negated(&self) -> String {
        match &self.test {
            Test::All(parts) => {
                format!("not all of: {}", parts.iter().map(Condition::stated).collect::<Vec<_>>().join("; "))
            }
            Test::Any(parts) => {
                format!("none of: {}", parts.iter().map(Condition::stated).collect::<Vec<_>>().join("; "))
            }
            Test::Not(inner) => inner.stated(),
            Test::Answer { question, check } => format!("answer `{question}` is not {}", check.stated()),
            Test::Indicator(group) => format!("indicator {group} is not present"),
            Test::Term(term) => format!("the term {term:?} is not mentioned"),
            Test::IndicatorsAtLeast { count, of } => {
                format!("fewer than {count} of the indicators {} are present", of.join(", "))
            }
            Test::WeightAtLeast(n) => format!("no indicator of weight at least {n} is present"),
            Test::AgeUnder(n) => format!("the child is not known to be under {n}"),
            Test::LevelAtLeast(n) => format!("the level of need is below {n}"),
        }
    }

    /// The condition written in words, without the contact's values.
    pub(super) fn stated(&self) -> String {
        match &self.test {
            Test::All(parts) => parts.iter().map(Condition::stated).collect::<Vec<_>>().join(" and "),
            Test::Any(parts) => {
                format!("any of: {}", parts.iter().map(Condition::stated).collect::<Vec<_>>().join("; "))
            }
            Test::Not(inner) => inner.negated(),
            Test::Answer { question, check } => format!("answer `{question}` is {}", check.stated()),
            Test::Indicator(group) => format!("indicator {group} is present"),
            Test::Term(term) => format!("the term {term:?} is mentioned"),
            Test::IndicatorsAtLeast { count, of } => {
                format!("at least {count} of the indicators {} are present", of.join(", "))
            }
            Test::WeightAtLeast(n) => format!("an indicator of weight at least {n} is present"),
            Test::AgeUnder(n) => format!("the child is under {n}"),
            Test::LevelAtLeast(n) => format!("the level of need is at least {n}"),
        }
    }
}

/// Joins the reasons of `parts` with "and", merging a run of present groups into one phrase
/// ("indicators missing, older_associate are present") so a long rule still reads as a sentence.
fn join_reasons<'a>(parts: impl Iterator<Item = &'a Condition>, facts: &Facts<'_>) -> String {
    let mut reasons: Vec<String> = Vec::new();
    let mut groups: Vec<&str> = Vec::new();
    let flush = |groups: &mut Vec<&str>, reasons: &mut Vec<String>| {
        match groups.as_slice() {
            [] => {}
            [group] => reasons.push(format!("indicator {group} is present")),
            _ => reasons.push(format!("indicators {} are present", groups.join(", "))),
        }
        groups.clear();
    };
    for part in parts {
        if let Test::Indicator(group) = &part.test {
            groups.push(group);
        } else {
            flush(&mut groups, &mut reasons);
            reasons.push(part.because(facts));
        }
    }
    flush(&mut groups, &mut reasons);
    reasons.join(" and ")
}

fn present_of<'a>(of: &'a [String], facts: &Facts<'_>) -> BTreeSet<&'a str> {
    of.iter().filter(|g| facts.present.contains(*g)).map(String::as_str).collect()
}

impl AnswerCheck {
    fn holds(&self, answer: &Answer) -> bool {
        match (self, answer) {
            (AnswerCheck::IsYes(want), Answer::YesNo(given)) => want == given,
            (AnswerCheck::ChoiceIn(options), Answer::Choice(given)) => options.contains(given),
            (AnswerCheck::Includes(option), Answer::Multi(given)) => given.contains(option),
            (AnswerCheck::Number(cmp, bound), Answer::Number(given)) => cmp.holds(given, bound),
            (AnswerCheck::Date(cmp, bound), Answer::Date(given)) => cmp.holds(given, bound),
            _ => false,
        }
    }

    fn because(&self, question: &str, answer: &Answer) -> String {
        match self {
            AnswerCheck::IsYes(_) | AnswerCheck::Includes(_) => {
                format!("answer `{question}` {}", self.stated_with_verb())
            }
            AnswerCheck::ChoiceIn(options) if options.len() == 1 => {
                format!("answer `{question}` is {}", answer.describe())
            }
            AnswerCheck::ChoiceIn(_) | AnswerCheck::Number(..) | AnswerCheck::Date(..) => {
                format!("answer `{question}` is {} ({})", answer.describe(), self.stated())
            }
        }
    }

    fn stated_with_verb(&self) -> String {
        match self {
            AnswerCheck::Includes(option) => format!("includes {option:?}"),
            _ => format!("is {}", self.stated()),
        }
    }

    pub(super) fn stated(&self) -> String {
        match self {
            AnswerCheck::IsYes(true) => "yes".to_owned(),
            AnswerCheck::IsYes(false) => "no".to_owned(),
            AnswerCheck::ChoiceIn(options) => match options.as_slice() {
                [option] => format!("{option:?}"),
                _ => format!("one of {}", options.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(", ")),
            },
            AnswerCheck::Includes(option) => format!("a selection including {option:?}"),
            AnswerCheck::Number(cmp, bound) => format!("{} {bound}", cmp.phrase()),
            AnswerCheck::Date(Cmp::Eq, bound) => format!("on {bound}"),
            AnswerCheck::Date(Cmp::Gt, bound) => format!("after {bound}"),
            AnswerCheck::Date(Cmp::Gte, bound) => format!("on or after {bound}"),
            AnswerCheck::Date(Cmp::Lt, bound) => format!("before {bound}"),
            AnswerCheck::Date(Cmp::Lte, bound) => format!("on or before {bound}"),
        }
    }
}
