//! Scripted protocols and rules (SPEC F2): one TOML file per call type (`config/protocols/`),
//! declaring the questions the advisor asks and the rules that turn answers and screened
//! indicators into a level of need, indicators, alerts and the need for a manager's decision,
//! each with a plain-English explanation.
//!
//! A protocol file:
//!
//! ```toml
//! id = "cse_concern"                  # must equal the file name without `.toml`
//! title = "Child sexual exploitation concern"
//! description = "…"
//!
//! [[questions]]
//! id = "missing_overnight"            # snake_case; the key in the contact's `answers`
//! text = "Has the child been missing overnight?"
//! type = "yes_no"                     # yes_no, choice, multi_choice, number, date, text
//! required = false                    # default false
//! help = "…"                          # optional
//! # options = ["a", "b"]              # choice and multi_choice only
//! # min = 0, max = 365                # number only, optional
//!
//! [[rules]]
//! id = "older_associate_and_missing"
//! description = "…"
//! when.all = [
//!   { indicator = "missing" },
//!   { indicator = "older_associate" },
//! ]
//! raise_level = 3                     # 2, 3 or 4; never lowers the level
//! add_indicator = "older_associate"   # an indicator group
//! raise_alert = "threshold_reached"   # one of ALERT_KINDS
//! require_manager_decision = true
//! ```
//!
//! Conditions (`when`), each a table of exactly one form:
//! - `all = [...]`, `any = [...]`, `not = {...}`;
//! - `answer = "q", is_yes = true|false` (yes_no; `equals = true|false` also works),
//!   `answer = "q", equals = "opt"` or `in = ["a", "b"]` (choice),
//!   `answer = "q", contains = "opt"` (multi_choice),
//!   `answer = "q", equals|gt|gte|lt|lte = N` (number) or `= "YYYY-MM-DD"` (date).
//!   Free-text answers cannot be compared: narratives are screened by the negation-aware lexicon;
//! - `indicator = "group"` (a positive mention of the group, or one a rule added),
//!   `term = "older boyfriend"` (a positive mention of that lexicon term),
//!   `indicators_at_least = { count = 3, of = ["missing", ...] }` (distinct groups present),
//!   `indicator_weight_at_least = 3` (a positive mention of that weight or more);
//! - `age_under = 13` (the child's age is known and below 13);
//! - `level_at_least = 3` (the level reached so far by other rules).
//!
//! Loading validates everything and reports every problem as `FILE:LINE: problem` (see
//! [`ProtocolError`]); a directory load collects the problems of all files before refusing.

mod answer;
mod condition;
mod error;
mod evaluate;
mod file;
mod reach;

pub use answer::{Answer, AnswerDate, MAX_TEXT_CHARS};
pub use error::{ProtocolError, ProtocolErrors};
pub use evaluate::{EvalInput, Evaluation, FiredRule, IndicatorHit};

use condition::Condition;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The alert kinds a rule may raise: those of the API (issue 3, "Pinned for scripts") plus
/// `police_notification` (the domain's "notify police and CSC": CSE disclosure, under-13 sexual
/// activity, a child held) and `return_interview` (a return home interview is due within 72 hours).
pub const ALERT_KINDS: &[&str] = &[
    "repeat_contacts",
    "missing_episode",
    "repeat_missing",
    "school_absence",
    "sexual_health",
    "protection_flag",
    "known_association",
    "threshold_reached",
    "decision_overdue",
    "police_notification",
    "return_interview",
];

/// Level of need 1: universal services meet the need.
pub const LEVEL_UNIVERSAL: u8 = 1;
/// Level of need 4: acute (specialist or statutory).
pub const LEVEL_ACUTE: u8 = 4;

/// The name of a level of need, as the advisor's page and explanations show it.
pub fn level_name(level: u8) -> &'static str {
    match level {
        1 => "universal",
        2 => "early help",
        3 => "complex",
        4 => "acute",
        _ => "unknown level",
    }
}

/// A question the advisor asks for this call type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Question {
    pub id: String,
    pub text: String,
    #[serde(flatten)]
    pub kind: QuestionKind,
    pub required: bool,
    pub help: Option<String>,
}

/// The type of answer a question takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    YesNo,
    Choice { options: Vec<String> },
    MultiChoice { options: Vec<String> },
    Number { min: Option<f64>, max: Option<f64> },
    Date,
    Text,
}

impl QuestionKind {
    /// The name used for the `type` key in protocol files.
    pub fn name(&self) -> &'static str {
        match self {
            QuestionKind::YesNo => "yes_no",
            QuestionKind::Choice { .. } => "choice",
            QuestionKind::MultiChoice { .. } => "multi_choice",
            QuestionKind::Number { .. } => "number",
            QuestionKind::Date => "date",
            QuestionKind::Text => "text",
        }
    }
}

/// A rule: when its condition holds, its effects apply.
#[derive(Debug, Clone)]
pub struct Rule {
    id: String,
    description: String,
    line: usize,
    when: Condition,
    effects: Effects,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// The line of the rule's `id` in its file.
    pub fn line(&self) -> usize {
        self.line
    }

    pub fn effects(&self) -> &Effects {
        &self.effects
    }

    /// The condition in words (without any contact's values), for listings of the rules.
    pub fn condition_text(&self) -> String {
        self.when.stated()
    }
}

/// What a rule does when it fires. Every effect only adds: nothing a rule does can lower the
/// level or remove an indicator or alert.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Effects {
    /// 2, 3 or 4.
    pub raise_level: Option<u8>,
    pub add_indicator: Option<String>,
    pub raise_alert: Option<String>,
    pub require_manager_decision: bool,
}

/// One call type's script: questions and rules.
#[derive(Debug, Clone)]
pub struct Protocol {
    id: String,
    title: String,
    description: String,
    file: String,
    questions: Vec<Question>,
    rules: Vec<Rule>,
}

impl Protocol {
    /// Parses and validates the text of protocol file `file_name` (used in error messages; its
    /// name without `.toml` must equal the protocol's `id`). `known_groups` are the indicator
    /// groups rules may name (the lexicon's groups). Every problem in the file is reported.
    pub fn from_toml(file_name: &str, text: &str, known_groups: &[&str]) -> Result<Self, ProtocolErrors> {
        file::parse(file_name, text, known_groups).map_err(ProtocolErrors::sorted)
    }

    /// The call type, as the contact API's `call_type`.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// The file it was loaded from, as given to the loader.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The questions in the order the advisor is asked them.
    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// The rules in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

/// Every call type the front door offers, keyed by protocol id.
#[derive(Debug, Clone, Default)]
pub struct ProtocolSet {
    protocols: BTreeMap<String, Protocol>,
}

impl ProtocolSet {
    /// Loads every `*.toml` file directly in `dir` (other files and subdirectories are
    /// ignored). All files are read and validated before refusing: the error lists every
    /// problem of every file, sorted by file and line. Within a file, a TOML syntax error (or
    /// unknown key, or wrong value type) is the only error reported, since nothing after it can
    /// be trusted; otherwise every validation problem in the file is reported.
    pub fn load_dir(dir: impl AsRef<Path>, known_groups: &[&str]) -> Result<Self, ProtocolErrors> {
        let dir = dir.as_ref();
        let read_error = |path: &Path, source| {
            ProtocolErrors(vec![ProtocolError::Read { file: path.display().to_string(), source }])
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| read_error(dir, e))? {
            let path = entry.map_err(|e| read_error(dir, e))?.path();
            if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
                paths.push(path);
            }
        }
        // Sorted so errors, and the set, do not depend on the file system's listing order.
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        let mut errors = Vec::new();
        for path in paths {
            let name = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => files.push((name, text)),
                Err(source) => errors.push(ProtocolError::Read { file: name, source }),
            }
        }
        if files.is_empty() && errors.is_empty() {
            errors.push(ProtocolError::NoProtocols { dir: dir.display().to_string() });
        }
        match Self::from_files(files.iter().map(|(name, text)| (name.as_str(), text.as_str())), known_groups) {
            Ok(set) if errors.is_empty() => Ok(set),
            Ok(_) => Err(ProtocolErrors::sorted(errors)),
            Err(more) => {
                errors.extend(more.0);
                Err(ProtocolErrors::sorted(errors))
            }
        }
    }

    /// Builds a set from `(file name, text)` pairs, as [`ProtocolSet::load_dir`] does after
    /// reading (without touching the file system). Collects every file's problems.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        known_groups: &[&str],
    ) -> Result<Self, ProtocolErrors> {
        let mut protocols: BTreeMap<String, Protocol> = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, text) in files {
            match file::parse(name, text, known_groups) {
                // Ids equal file names, so two files clash only when they are the same name in
                // two folders; the first is kept and the second refused.
                Ok(protocol) => match protocols.get(&protocol.id) {
                    Some(first) => errors.push(ProtocolError::DuplicateProtocol {
                        file: name.to_owned(),
                        id: protocol.id.clone(),
                        first_file: first.file.clone(),
                    }),
                    None => {
                        protocols.insert(protocol.id.clone(), protocol);
                    }
                },
                Err(mut file_errors) => errors.append(&mut file_errors),
            }
        }
        if errors.is_empty() { Ok(Self { protocols }) } else { Err(ProtocolErrors::sorted(errors)) }
    }

    pub fn get(&self, call_type: &str) -> Option<&Protocol> {
        self.protocols.get(call_type)
    }

    /// The protocols in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Protocol> {
        self.protocols.values()
    }

    /// The call types in id order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.protocols.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.protocols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.protocols.is_empty()
    }
}
