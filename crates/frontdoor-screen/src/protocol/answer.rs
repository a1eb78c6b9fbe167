//! Answers to a protocol's questions: their typed form, and parsing them from the JSON object the
//! contact API and the advisor's page send (`"answers": {"question_id": value}`), with one
//! [`FieldError`] per bad field so the advisor can fix every answer in one go.

use super::{Protocol, Question, QuestionKind};
use frontdoor_core::contact::FieldError;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A free-text answer longer than this is refused: the narrative is the place for long text.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// One answer, typed by its question. Serialises to plain JSON (`true`, `"hotel"`,
/// `["hotel","taxi"]`, `3`, `"2024-05-01"`, `"text"`) that [`Protocol::parse_answers`] reads back.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// yes_no: `true` is yes.
    YesNo(bool),
    /// choice: one of the question's options.
    Choice(String),
    /// multi_choice: the options selected, each once, in the question's order.
    Multi(Vec<String>),
    /// number: finite, within the question's min and max.
    Number(f64),
    Date(AnswerDate),
    /// text: trimmed, never empty.
    Text(String),
}

impl Answer {
    /// How the answer reads in an explanation line.
    pub(super) fn describe(&self) -> String {
        match self {
            Answer::YesNo(true) => "yes".to_owned(),
            Answer::YesNo(false) => "no".to_owned(),
            Answer::Choice(option) => format!("{option:?}"),
            Answer::Multi(options) => {
                format!("[{}]", options.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(", "))
            }
            Answer::Number(n) => n.to_string(),
            Answer::Date(d) => d.to_string(),
            Answer::Text(t) => format!("{t:?}"),
        }
    }
}

/// A calendar date written `YYYY-MM-DD` (years 1900 to 9999). Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AnswerDate {
    year: u16,
    month: u8,
    day: u8,
}

impl AnswerDate {
    /// Parses `YYYY-MM-DD`, checking the day exists in that month (leap years included).
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u16> {
            let part = text.get(range)?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let year = digits(0..4)?;
        let month = u8::try_from(digits(5..7)?).ok()?;
        let day = u8::try_from(digits(8..10)?).ok()?;
        Self::from_parts(year, month, day)
    }

    pub(super) fn from_parts(year: u16, month: u8, day: u8) -> Option<Self> {
        let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1900..=9999).contains(&year) && (1..=days_in_month).contains(&day)).then_some(Self { year, month, day })
    }
}

impl fmt::Display for AnswerDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for AnswerDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Protocol {
    /// Parses the `answers` object of a contact against this protocol's questions. Checks each
    /// answer's type and options, that every required question is answered and that no key
    /// names a question this protocol does not ask. `null`, `""` and `[]` count as unanswered
    /// (an HTML form sends empty fields). Every problem is returned, with the field named
    /// `answers.QUESTION_ID` (or `answers` when the value is not an object).
    ///
    /// Accepted values: yes_no `true`/`false` or `"yes"`/`"no"`; choice an option string;
    /// multi_choice a list of option strings; number a JSON number or a numeric string; date a
    /// `"YYYY-MM-DD"` string; text a string.
    pub fn parse_answers(&self, raw: &Value) -> Result<BTreeMap<String, Answer>, Vec<FieldError>> {
        let Some(object) = raw.as_object() else {
            return Err(vec![FieldError {
                field: "answers".to_owned(),
                message: "must be an object keyed by question id".to_owned(),
            }]);
        };
        let mut answers = BTreeMap::new();
        let mut errors = Vec::new();
        for question in &self.questions {
            let field = format!("answers.{}", question.id);
            match object.get(&question.id).filter(|v| !is_blank(v)) {
                None if question.required => errors.push(FieldError { field, message: "is required".to_owned() }),
                None => {}
                Some(value) => match parse_answer(question, value) {
                    Ok(answer) => {
                        answers.insert(question.id.clone(), answer);
                    }
                    Err(message) => errors.push(FieldError { field, message }),
                },
            }
        }
        for key in object.keys().filter(|k| self.question(k).is_none()) {
            errors.push(FieldError {
                field: format!("answers.{key}"),
                message: format!("is not a question of protocol `{}`", self.id),
            });
        }
        if errors.is_empty() { Ok(answers) } else { Err(errors) }
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Parses one non-blank answer; the error is the message for the field.
fn parse_answer(question: &Question, value: &Value) -> Result<Answer, String> {
    match &question.kind {
        QuestionKind::YesNo => match value {
            Value::Bool(b) => Ok(Answer::YesNo(*b)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("yes") => Ok(Answer::YesNo(true)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("no") => Ok(Answer::YesNo(false)),
            _ => Err(format!("must be yes or no (true or false), not {}", shown(value))),
        },
        QuestionKind::Choice { options } => match value {
            Value::String(s) => option(options, s).map(Answer::Choice),
            _ => Err(format!("must be one of: {}", options.join(", "))),
        },
        QuestionKind::MultiChoice { options } => {
            let Value::Array(items) = value else {
                return Err(format!("must be a list of options from: {}", options.join(", ")));
            };
            let mut chosen = BTreeSet::new();
            for item in items {
                let Value::String(s) = item else {
                    return Err(format!("must be a list of options from: {}", options.join(", ")));
                };
                let valid = option(options, s)?;
                if !chosen.insert(valid.clone()) {
                    return Err(format!("option {valid:?} is listed twice"));
                }
            }
            // The question's order, so equal selections compare and store equal.
            Ok(Answer::Multi(options.iter().filter(|o| chosen.contains(*o)).cloned().collect()))
        }
        QuestionKind::Number { min, max } => {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("must be a number, not {}", shown(value)))?;
            match (min, max) {
                (Some(min), _) if number < *min => Err(format!("must be at least {min}")),
                (_, Some(max)) if number > *max => Err(format!("must be at most {max}")),
                _ => Ok(Answer::Number(number)),
            }
        }
        QuestionKind::Date => match value {
            Value::String(s) => AnswerDate::parse(s.trim())
                .map(Answer::Date)
                .ok_or_else(|| format!("must be a date written YYYY-MM-DD, not {s:?}")),
            _ => Err(format!("must be a date written YYYY-MM-DD, not {}", shown(value))),
        },
        QuestionKind::Text => match value {
            Value::String(s) if s.trim().chars().count() > MAX_TEXT_CHARS => {
                Err(format!("is longer than {MAX_TEXT_CHARS} characters; put long accounts in the narrative"))
            }
            Value::String(s) => Ok(Answer::Text(s.trim().to_owned())),
            _ => Err(format!("must be text, not {}", shown(value))),
        },
    }
}

fn option(options: &[String], given: &str) -> Result<String, String> {
    let given = given.trim();
    options
        .iter()
        .find(|o| o.as_str() == given)
        .cloned()
        .ok_or_else(|| format!("{given:?} is not one of: {}", options.join(", ")))
}

/// A short description of a JSON value for an error message (never the whole of a long text).
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?}"),
        Value::String(_) => "a long text".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
