//! The protocol file (TOML): its schema, and its validation into a [`Protocol`]. Every problem is
//! collected with the line it is on (from the `Spanned` values toml keeps), so an author can fix
//! a whole file in one pass.

use super::condition::{AnswerCheck, Cmp, Condition, Test};
use super::{ALERT_KINDS, AnswerDate, Effects, Protocol, ProtocolError, Question, QuestionKind, Rule, reach};
use crate::lines::Lines;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::Path;
use toml::{Spanned, Value};

/// A rule may not name an age at or above this: the protocols are for children and care leavers.
const MAX_AGE: i64 = 26;
const MIN_WEIGHT: i64 = 1;
const MAX_WEIGHT: i64 = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtocolFile {
    id: Spanned<String>,
    title: String,
    description: String,
    #[serde(default)]
    questions: Vec<QuestionFile>,
    #[serde(default)]
    rules: Vec<RuleFile>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum QuestionType {
    YesNo,
    Choice,
    MultiChoice,
    Number,
    Date,
    Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    id: Spanned<String>,
    text: Spanned<String>,
    #[serde(rename = "type")]
    kind: QuestionType,
    options: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    required: bool,
    min: Option<Spanned<f64>>,
    max: Option<Spanned<f64>>,
    help: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: Spanned<String>,
    description: String,
    when: Spanned<ConditionFile>,
    raise_level: Option<Spanned<i64>>,
    add_indicator: Option<Spanned<String>>,
    raise_alert: Option<Spanned<String>>,
    #[serde(default)]
    require_manager_decision: bool,
}

/// Every key any condition form may use; [`Checker::condition`] insists on exactly one form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionFile {
    all: Option<Vec<Spanned<ConditionFile>>>,
    any: Option<Vec<Spanned<ConditionFile>>>,
    not: Option<Box<Spanned<ConditionFile>>>,
    answer: Option<Spanned<String>>,
    equals: Option<Spanned<Value>>,
    #[serde(rename = "in")]
    one_of: Option<Vec<Spanned<Value>>>,
    gt: Option<Spanned<Value>>,
    gte: Option<Spanned<Value>>,
    lt: Option<Spanned<Value>>,
    lte: Option<Spanned<Value>>,
    contains: Option<Spanned<Value>>,
    is_yes: Option<Spanned<bool>>,
    indicator: Option<Spanned<String>>,
    term: Option<Spanned<String>>,
    indicators_at_least: Option<Spanned<AtLeastFile>>,
    indicator_weight_at_least: Option<Spanned<i64>>,
    age_under: Option<Spanned<i64>>,
    level_at_least: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AtLeastFile {
    count: Spanned<i64>,
    of: Vec<Spanned<String>>,
}

/// Parses and validates the text of protocol file `file`, returning every problem found.
pub(super) fn parse(file: &str, text: &str, known_groups: &[&str]) -> Result<Protocol, Vec<ProtocolError>> {
    let lines = Lines::new(text);
    let raw: ProtocolFile = toml::from_str(text).map_err(|e| {
        vec![ProtocolError::Syntax {
            file: file.to_owned(),
            line: e.span().map_or(1, |span| lines.of(span.start)),
            message: tidy(e.message()),
        }]
    })?;
    let mut errors = Vec::new();
    let at = |span: Range<usize>| lines.of(span.start);

    let expected = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if *raw.id.get_ref() != expected {
        errors.push(ProtocolError::IdMismatch {
            file: file.to_owned(),
            line: at(raw.id.span()),
            id: raw.id.get_ref().clone(),
            expected,
        });
    }

    // Question ids map to the question, or to None when its declaration was refused: rules
    // naming it are then not checked further, so one mistake is not reported many times.
    let mut questions = Vec::new();
    let mut declared: HashMap<String, (usize, Option<usize>)> = HashMap::new();
    for raw_question in raw.questions {
        let line = at(raw_question.id.span());
        let id = raw_question.id.get_ref().clone();
        if let Some(&(first_line, _)) = declared.get(&id) {
            errors.push(ProtocolError::Duplicate { file: file.to_owned(), line, what: "question", id, first_line });
            continue;
        }
        let checked = question(file, &lines, raw_question, &mut errors);
        let index = checked.map(|q| {
            questions.push(q);
            questions.len() - 1
        });
        declared.insert(id, (line, index));
    }
    let lookup: HashMap<&str, Option<&Question>> =
        declared.iter().map(|(id, (_, index))| (id.as_str(), index.and_then(|i| questions.get(i)))).collect();

    let mut rules = Vec::new();
    let mut rule_lines: HashMap<String, usize> = HashMap::new();
    for raw_rule in raw.rules {
        let line = at(raw_rule.id.span());
        let id = raw_rule.id.get_ref().clone();
        if let Some(&first_line) = rule_lines.get(&id) {
            errors.push(ProtocolError::Duplicate { file: file.to_owned(), line, what: "rule", id, first_line });
            continue;
        }
        rule_lines.insert(id.clone(), line);
        check_id(file, line, "rule", &id, &mut errors);
        let mut checker =
            Checker { file, lines: &lines, known_groups, questions: &lookup, rule: &id, errors: Vec::new() };
        let when = checker.condition(&raw_rule.when);
        let effects = checker.effects(&raw_rule, line);
        // Reachability is only asked of a condition that is otherwise sound, so a typo is not
        // also reported as an unreachable rule.
        if let Some(when) = &when
            && checker.errors.is_empty()
            && let Some(dead) = reach::dead_end(when, &|id| lookup.get(id).copied().flatten())
        {
            checker.errors.push(ProtocolError::Unreachable {
                file: file.to_owned(),
                line: dead.line,
                rule: id.clone(),
                reason: dead.reason,
            });
        }
        let ok = checker.errors.is_empty();
        errors.append(&mut checker.errors);
        if let (true, Some(when), Some(effects)) = (ok, when, effects) {
            rules.push(Rule { id, description: raw_rule.description, line, when, effects });
        }
    }

    if errors.is_empty() {
        Ok(Protocol {
            id: raw.id.into_inner(),
            title: raw.title,
            description: raw.description,
            file: file.to_owned(),
            questions,
            rules,
        })
    } else {
        Err(errors)
    }
}

/// serde names the schema's Rust types in some messages ("expected struct ConditionFile"); the
/// author knows them as tables.
fn tidy(message: &str) -> String {
    [
        ("struct ProtocolFile", "a protocol table"),
        ("struct QuestionFile", "a [[questions]] table"),
        ("struct RuleFile", "a [[rules]] table"),
        ("struct ConditionFile", "a condition table"),
        ("struct AtLeastFile", "a table { count = N, of = [...] }"),
    ]
    .iter()
    .fold(message.trim_end().to_owned(), |text, (from, to)| text.replace(from, to))
}

/// Checks one question's declaration against its type.
fn question(file: &str, lines: &Lines, raw: QuestionFile, errors: &mut Vec<ProtocolError>) -> Option<Question> {
    let line = lines.of(raw.id.span().start);
    let id = raw.id.get_ref().clone();
    let before = errors.len();
    check_id(file, line, "question", &id, errors);
    let mut problem = |span: Range<usize>, problem: String| {
        errors.push(ProtocolError::BadQuestion {
            file: file.to_owned(),
            line: lines.of(span.start),
            question: id.clone(),
            problem,
        });
    };
    if raw.text.get_ref().trim().is_empty() {
        problem(raw.text.span(), "the question text is empty".to_owned());
    }
    let type_name = match raw.kind {
        QuestionType::YesNo => "yes_no",
        QuestionType::Choice => "choice",
        QuestionType::MultiChoice => "multi_choice",
        QuestionType::Number => "number",
        QuestionType::Date => "date",
        QuestionType::Text => "text",
    };
    let takes_options = matches!(raw.kind, QuestionType::Choice | QuestionType::MultiChoice);
    let mut options = Vec::new();
    match &raw.options {
        Some(list) if !takes_options => {
            problem(list.span(), format!("options are only for choice and multi_choice questions, not {type_name}"))
        }
        Some(list) => {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for option in list.get_ref() {
                let option_line = lines.of(option.span().start);
                let text = option.get_ref().as_str();
                if text.trim().is_empty() || text.trim() != text {
                    problem(option.span(), format!("option {text:?} is empty or has spaces around it"));
                } else if let Some(&first_line) = seen.get(text) {
                    problem(option.span(), format!("option {text:?} is listed twice (first at line {first_line})"));
                } else {
                    seen.insert(text, option_line);
                    options.push(text.to_owned());
                }
            }
            if list.get_ref().len() < 2 {
                problem(list.span(), format!("a {type_name} question needs at least two options"));
            }
        }
        None if takes_options => problem(raw.id.span(), format!("a {type_name} question needs `options = [...]`")),
        None => {}
    }
    let mut bound = |b: &Option<Spanned<f64>>, key: &str| -> Option<f64> {
        let b = b.as_ref()?;
        let value = *b.get_ref();
        if raw.kind != QuestionType::Number {
            problem(b.span(), format!("`{key}` is only for number questions, not {type_name}"));
            None
        } else if !value.is_finite() {
            problem(b.span(), format!("`{key}` must be a finite number"));
            None
        } else {
            Some(value)
        }
    };
    let min = bound(&raw.min, "min");
    let max = bound(&raw.max, "max");
    if let (Some(lo), Some(hi), Some(max_span)) = (min, max, raw.max.as_ref().map(Spanned::span))
        && lo > hi
    {
        problem(max_span, format!("min {lo} is greater than max {hi}"));
    }
    if errors.len() > before {
        return None;
    }
    let kind = match raw.kind {
        QuestionType::YesNo => QuestionKind::YesNo,
        QuestionType::Choice => QuestionKind::Choice { options },
        QuestionType::MultiChoice => QuestionKind::MultiChoice { options },
        QuestionType::Number => QuestionKind::Number { min, max },
        QuestionType::Date => QuestionKind::Date,
        QuestionType::Text => QuestionKind::Text,
    };
    Some(Question { id, text: raw.text.into_inner(), kind, required: raw.required, help: raw.help })
}

/// Ids become API keys and form field names (`answers.missing_overnight`), so they are kept to
/// one unambiguous spelling.
fn check_id(file: &str, line: usize, what: &'static str, id: &str, errors: &mut Vec<ProtocolError>) {
    let mut chars = id.chars();
    let snake = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !snake {
        errors.push(ProtocolError::BadId { file: file.to_owned(), line, what, id: id.to_owned() });
    }
}

/// The one comparison an `answer` condition makes, as written.
enum Given<'a> {
    Equals(&'a Spanned<Value>),
    In(&'a [Spanned<Value>]),
    Order(Cmp, &'static str, &'a Spanned<Value>),
    Contains(&'a Spanned<Value>),
    IsYes(&'a Spanned<bool>),
}

impl Given<'_> {
    fn key(&self) -> &'static str {
        match self {
            Given::Equals(_) => "equals",
            Given::In(_) => "in",
            Given::Order(_, key, _) => key,
            Given::Contains(_) => "contains",
            Given::IsYes(_) => "is_yes",
        }
    }
}

/// Checks one rule's condition and effects, collecting its problems.
struct Checker<'a> {
    file: &'a str,
    lines: &'a Lines,
    known_groups: &'a [&'a str],
    questions: &'a HashMap<&'a str, Option<&'a Question>>,
    rule: &'a str,
    errors: Vec<ProtocolError>,
}

impl Checker<'_> {
    fn at(&self, span: Range<usize>) -> usize {
        self.lines.of(span.start)
    }

    fn bad(&mut self, line: usize, problem: String) {
        self.errors.push(ProtocolError::BadCondition {
            file: self.file.to_owned(),
            line,
            rule: self.rule.to_owned(),
            problem,
        });
    }

    fn mismatch(&mut self, line: usize, problem: String) {
        self.errors.push(ProtocolError::TypeMismatch {
            file: self.file.to_owned(),
            line,
            rule: self.rule.to_owned(),
            problem,
        });
    }

    fn unreachable(&mut self, line: usize, reason: String) {
        self.errors.push(ProtocolError::Unreachable {
            file: self.file.to_owned(),
            line,
            rule: self.rule.to_owned(),
            reason,
        });
    }

    fn group(&mut self, group: &Spanned<String>) -> Option<String> {
        let name = group.get_ref();
        if self.known_groups.contains(&name.as_str()) {
            return Some(name.clone());
        }
        self.errors.push(ProtocolError::UnknownGroup {
            file: self.file.to_owned(),
            line: self.at(group.span()),
            rule: self.rule.to_owned(),
            group: name.clone(),
            known: self.known_groups.join(", "),
        });
        None
    }

    fn effects(&mut self, raw: &RuleFile, line: usize) -> Option<Effects> {
        let before = self.errors.len();
        let raise_level = raw.raise_level.as_ref().and_then(|level| {
            let value = *level.get_ref();
            let valid = u8::try_from(value).ok().filter(|l| (2..=4).contains(l));
            if valid.is_none() {
                self.errors.push(ProtocolError::LevelOutOfRange {
                    file: self.file.to_owned(),
                    line: self.at(level.span()),
                    rule: self.rule.to_owned(),
                    key: "raise_level",
                    level: value,
                    allowed: "2 early help, 3 complex or 4 acute; every contact starts at 1",
                });
            }
            valid
        });
        let add_indicator = raw.add_indicator.as_ref().and_then(|g| self.group(g));
        let raise_alert = raw.raise_alert.as_ref().and_then(|kind| {
            if ALERT_KINDS.contains(&kind.get_ref().as_str()) {
                return Some(kind.get_ref().clone());
            }
            self.errors.push(ProtocolError::UnknownAlert {
                file: self.file.to_owned(),
                line: self.at(kind.span()),
                rule: self.rule.to_owned(),
                kind: kind.get_ref().clone(),
                known: ALERT_KINDS.join(", "),
            });
            None
        });
        let effects =
            Effects { raise_level, add_indicator, raise_alert, require_manager_decision: raw.require_manager_decision };
        let declared = raw.raise_level.is_some()
            || raw.add_indicator.is_some()
            || raw.raise_alert.is_some()
            || raw.require_manager_decision;
        if !declared {
            self.errors.push(ProtocolError::NoEffect { file: self.file.to_owned(), line, rule: self.rule.to_owned() });
        }
        (self.errors.len() == before).then_some(effects)
    }

    /// Checks one condition table and everything under it. `None` when anything is wrong (the
    /// problems are recorded); the check goes on into every branch so all are reported.
    fn condition(&mut self, spanned: &Spanned<ConditionFile>) -> Option<Condition> {
        let line = self.at(spanned.span());
        let c = spanned.get_ref();
        let forms: Vec<&str> = [
            ("all", c.all.is_some()),
            ("any", c.any.is_some()),
            ("not", c.not.is_some()),
            ("answer", c.answer.is_some()),
            ("indicator", c.indicator.is_some()),
            ("term", c.term.is_some()),
            ("indicators_at_least", c.indicators_at_least.is_some()),
            ("indicator_weight_at_least", c.indicator_weight_at_least.is_some()),
            ("age_under", c.age_under.is_some()),
            ("level_at_least", c.level_at_least.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        let mut given = Vec::new();
        if let Some(v) = &c.equals {
            given.push(Given::Equals(v));
        }
        if let Some(v) = &c.one_of {
            given.push(Given::In(v));
        }
        for (cmp, key, v) in
            [(Cmp::Gt, "gt", &c.gt), (Cmp::Gte, "gte", &c.gte), (Cmp::Lt, "lt", &c.lt), (Cmp::Lte, "lte", &c.lte)]
        {
            if let Some(v) = v {
                given.push(Given::Order(cmp, key, v));
            }
        }
        if let Some(v) = &c.contains {
            given.push(Given::Contains(v));
        }
        if let Some(v) = &c.is_yes {
            given.push(Given::IsYes(v));
        }

        let form = match forms.as_slice() {
            [] if given.is_empty() => {
                self.bad(line, "a condition needs one of: all, any, not, answer, indicator, term, indicators_at_least, indicator_weight_at_least, age_under, level_at_least".to_owned());
                return None;
            }
            [] => {
                let keys: Vec<&str> = given.iter().map(Given::key).collect();
                self.bad(line, format!("`{}` compares an answer: add answer = \"question_id\"", keys.join("`, `")));
                return None;
            }
            [form] => *form,
            several => {
                self.bad(
                    line,
                    format!(
                        "a condition has one form, but this one has {}: combine them with all = [...]",
                        several.join(", ")
                    ),
                );
                return None;
            }
        };
        if form != "answer" && !given.is_empty() {
            let keys: Vec<&str> = given.iter().map(Given::key).collect();
            self.bad(line, format!("`{}` only goes with `answer`, not with `{form}`", keys.join("`, `")));
            return None;
        }

        let test = match form {
            "all" | "any" => {
                let parts = if form == "all" { c.all.as_deref() } else { c.any.as_deref() }.unwrap_or_default();
                if parts.is_empty() {
                    if form == "all" {
                        self.bad(line, "an empty `all` is always true: give it at least one condition".to_owned());
                    } else {
                        self.unreachable(line, "an empty `any` is never true".to_owned());
                    }
                    return None;
                }
                let checked: Vec<Option<Condition>> = parts.iter().map(|part| self.condition(part)).collect();
                let parts = checked.into_iter().collect::<Option<Vec<_>>>()?;
                if form == "all" { Test::All(parts) } else { Test::Any(parts) }
            }
            "not" => Test::Not(Box::new(self.condition(c.not.as_deref()?)?)),
            "answer" => {
                let question = c.answer.as_ref()?;
                self.answer(question, &given)?
            }
            "indicator" => Test::Indicator(self.group(c.indicator.as_ref()?)?),
            "term" => {
                let term = c.term.as_ref()?;
                let folded = term.get_ref().trim().to_lowercase();
                if folded.is_empty() {
                    self.bad(self.at(term.span()), "the term is empty".to_owned());
                    return None;
                }
                Test::Term(folded)
            }
            "indicators_at_least" => {
                let at_least = c.indicators_at_least.as_ref()?.get_ref();
                let count = *at_least.count.get_ref();
                let count_line = self.at(at_least.count.span());
                let mut groups = Vec::new();
                let mut seen = BTreeSet::new();
                let mut sound = true;
                for group in &at_least.of {
                    match self.group(group) {
                        Some(name) if !seen.insert(name.clone()) => {
                            self.bad(self.at(group.span()), format!("group {name:?} is listed twice in `of`"));
                            sound = false;
                        }
                        Some(name) => groups.push(name),
                        None => sound = false,
                    }
                }
                let count = match usize::try_from(count) {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        self.bad(count_line, format!("count = {count}: it must be at least 1"));
                        return None;
                    }
                };
                if !sound {
                    return None;
                }
                if count > groups.len() {
                    self.unreachable(
                        count_line,
                        format!("it needs {count} distinct groups but `of` lists only {}", groups.len()),
                    );
                    return None;
                }
                Test::IndicatorsAtLeast { count, of: groups }
            }
            "indicator_weight_at_least" => {
                let weight = c.indicator_weight_at_least.as_ref()?;
                match u8::try_from(*weight.get_ref())
                    .ok()
                    .filter(|w| (MIN_WEIGHT..=MAX_WEIGHT).contains(&i64::from(*w)))
                {
                    Some(w) => Test::WeightAtLeast(w),
                    None => {
                        self.bad(
                            self.at(weight.span()),
                            format!(
                                "indicator_weight_at_least = {}: weights run from 1 (low) to 3 (high)",
                                weight.get_ref()
                            ),
                        );
                        return None;
                    }
                }
            }
            "age_under" => {
                let age = c.age_under.as_ref()?;
                let value = *age.get_ref();
                let age_line = self.at(age.span());
                match u32::try_from(value) {
                    Ok(0) => {
                        self.unreachable(age_line, "no child is under 0".to_owned());
                        return None;
                    }
                    Ok(years) if i64::from(years) <= MAX_AGE => Test::AgeUnder(years),
                    _ => {
                        self.bad(age_line, format!("age_under = {value}: it must be between 1 and {MAX_AGE}"));
                        return None;
                    }
                }
            }
            "level_at_least" => {
                let level = c.level_at_least.as_ref()?;
                let value = *level.get_ref();
                match u8::try_from(value).ok().filter(|l| (1..=4).contains(l)) {
                    Some(l) => Test::LevelAtLeast(l),
                    None => {
                        self.errors.push(ProtocolError::LevelOutOfRange {
                            file: self.file.to_owned(),
                            line: self.at(level.span()),
                            rule: self.rule.to_owned(),
                            key: "level_at_least",
                            level: value,
                            allowed: "1 universal to 4 acute",
                        });
                        return None;
                    }
                }
            }
            _ => return None,
        };
        Some(Condition { line, test })
    }

    /// Checks an `answer = "q", <comparison>` condition against question `q`'s type.
    fn answer(&mut self, question: &Spanned<String>, given: &[Given<'_>]) -> Option<Test> {
        let id = question.get_ref();
        let line = self.at(question.span());
        let found = match self.questions.get(id.as_str()) {
            None => {
                self.errors.push(ProtocolError::UnknownQuestion {
                    file: self.file.to_owned(),
                    line,
                    rule: self.rule.to_owned(),
                    question: id.clone(),
                });
                return None;
            }
            // Declared but refused: already reported at the question.
            Some(None) => return None,
            Some(Some(q)) => *q,
        };
        let [one] = given else {
            let problem = if given.is_empty() {
                format!("answer `{id}` needs a comparison: one of equals, in, gt, gte, lt, lte, contains, is_yes")
            } else {
                let keys: Vec<&str> = given.iter().map(Given::key).collect();
                format!(
                    "answer `{id}` has {} comparisons ({}): use one, and all = [...] for more",
                    keys.len(),
                    keys.join(", ")
                )
            };
            self.bad(line, problem);
            return None;
        };
        let kind = found.kind.name();
        let check = match (&found.kind, one) {
            (QuestionKind::YesNo, Given::IsYes(b)) => AnswerCheck::IsYes(*b.get_ref()),
            (QuestionKind::YesNo, Given::Equals(v)) => match v.get_ref() {
                Value::Boolean(b) => AnswerCheck::IsYes(*b),
                other => {
                    self.mismatch(
                        self.at(v.span()),
                        format!(
                            "question `{id}` is yes_no, so `equals` needs true or false, not a {}",
                            other.type_str()
                        ),
                    );
                    return None;
                }
            },
            (QuestionKind::Choice { options }, Given::Equals(v)) => {
                AnswerCheck::ChoiceIn(vec![self.option(id, options, v, "equals")?])
            }
            (QuestionKind::Choice { options }, Given::In(values)) => {
                let mut valid = Vec::new();
                let mut sound = true;
                for v in *values {
                    match self.option(id, options, v, "in") {
                        Some(option) => valid.push(option),
                        None => sound = false,
                    }
                }
                if valid.is_empty() {
                    self.unreachable(line, format!("`in` lists no valid option of question `{id}`"));
                    return None;
                }
                if !sound {
                    return None;
                }
                AnswerCheck::ChoiceIn(valid)
            }
            (QuestionKind::MultiChoice { options }, Given::Contains(v)) => {
                AnswerCheck::Includes(self.option(id, options, v, "contains")?)
            }
            (QuestionKind::Number { .. }, Given::Equals(v)) => {
                AnswerCheck::Number(Cmp::Eq, self.number(id, v, "equals")?)
            }
            (QuestionKind::Number { .. }, Given::Order(cmp, key, v)) => {
                AnswerCheck::Number(*cmp, self.number(id, v, key)?)
            }
            (QuestionKind::Date, Given::Equals(v)) => AnswerCheck::Date(Cmp::Eq, self.date(id, v, "equals")?),
            (QuestionKind::Date, Given::Order(cmp, key, v)) => AnswerCheck::Date(*cmp, self.date(id, v, key)?),
            (QuestionKind::Text, _) => {
                self.mismatch(
                    line,
                    format!("question `{id}` is free text, which rules cannot compare: narratives and text are screened by the lexicon (use indicator or term)"),
                );
                return None;
            }
            (_, other) => {
                let fits = match &found.kind {
                    QuestionKind::YesNo => "is_yes",
                    QuestionKind::Choice { .. } => "equals or in",
                    QuestionKind::MultiChoice { .. } => "contains",
                    QuestionKind::Number { .. } | QuestionKind::Date => "equals, gt, gte, lt or lte",
                    QuestionKind::Text => "nothing",
                };
                self.mismatch(line, format!("`{}` does not apply to {kind} question `{id}` (use {fits})", other.key()));
                return None;
            }
        };
        Some(Test::Answer { question: id.clone(), check })
    }

    fn option(&mut self, id: &str, options: &[String], value: &Spanned<Value>, key: &str) -> Option<String> {
        let line = self.at(value.span());
        match value.get_ref() {
            Value::String(s) if options.contains(s) => Some(s.clone()),
            Value::String(s) => {
                self.errors.push(ProtocolError::NotAnOption {
                    file: self.file.to_owned(),
                    line,
                    rule: self.rule.to_owned(),
                    question: id.to_owned(),
                    option: s.clone(),
                    options: options.join(", "),
                });
                None
            }
            other => {
                self.mismatch(
                    line,
                    format!("`{key}` on question `{id}` needs an option (a string), not a {}", other.type_str()),
                );
                None
            }
        }
    }

    fn number(&mut self, id: &str, value: &Spanned<Value>, key: &str) -> Option<f64> {
        let number = match value.get_ref() {
            // Counts and ages in protocols are far below 2^53, so the conversion is exact.
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) if f.is_finite() => Some(*f),
            _ => None,
        };
        if number.is_none() {
            self.mismatch(
                self.at(value.span()),
                format!(
                    "`{key}` on number question `{id}` needs a finite number, not a {}",
                    value.get_ref().type_str()
                ),
            );
        }
        number
    }

    fn date(&mut self, id: &str, value: &Spanned<Value>, key: &str) -> Option<AnswerDate> {
        let date = match value.get_ref() {
            Value::String(s) => AnswerDate::parse(s),
            // A bare TOML date (`gte = 2024-09-01`), with no time or offset.
            Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => AnswerDate::from_parts(d.year, d.month, d.day),
                _ => None,
            },
            _ => None,
        };
        if date.is_none() {
            self.mismatch(
                self.at(value.span()),
                format!("`{key}` on date question `{id}` needs a date written YYYY-MM-DD"),
            );
        }
        date
    }
}
