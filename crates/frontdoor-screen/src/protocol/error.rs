//! Why a protocol file was refused: every error names the file and, where there is one, the line,
//! so the authority's editor can go straight to the question or rule at fault.

use std::fmt;
use thiserror::Error;

/// One problem in one protocol file. Displays as `FILE:LINE: problem`.
#[derive(Debug, Error)]
pub enum ProtocolError {
    /// The file or directory could not be read at all (there is no line to point at).
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The directory holds no `*.toml` file, so the front door would offer no call type.
    #[error("{dir}: no protocol files (*.toml) found")]
    NoProtocols { dir: String },
    /// Not valid TOML, an unknown key, a missing key or a value of the wrong type.
    #[error("{file}:{line}: {message}")]
    Syntax { file: String, line: usize, message: String },
    /// The protocol's `id` is not its file name, so the call type and the file could drift apart.
    #[error("{file}:{line}: protocol id {id:?} does not match the file name (expected {expected:?})")]
    IdMismatch { file: String, line: usize, id: String, expected: String },
    /// An id that is not lower-case `snake_case`; ids become API keys and field names.
    #[error("{file}:{line}: {what} id {id:?} must be snake_case (a-z, 0-9 and _, starting with a letter)")]
    BadId { file: String, line: usize, what: &'static str, id: String },
    /// The same question id, rule id or option listed twice.
    #[error("{file}:{line}: duplicate {what} {id:?} (first at line {first_line})")]
    Duplicate { file: String, line: usize, what: &'static str, id: String, first_line: usize },
    /// Two files declare the same protocol id.
    #[error("{file}:1: protocol {id:?} is already defined by {first_file}")]
    DuplicateProtocol { file: String, id: String, first_file: String },
    /// A question whose declaration does not fit its type (options on a number, min above max…).
    #[error("{file}:{line}: question `{question}`: {problem}")]
    BadQuestion { file: String, line: usize, question: String, problem: String },
    /// A rule condition that names a question the protocol does not ask.
    #[error("{file}:{line}: rule `{rule}` refers to unknown question `{question}`")]
    UnknownQuestion { file: String, line: usize, rule: String, question: String },
    /// A comparison that does not fit the question's type (`gt` on a yes/no question…).
    #[error("{file}:{line}: rule `{rule}`: {problem}")]
    TypeMismatch { file: String, line: usize, rule: String, problem: String },
    /// A choice value that is not one of the question's options.
    #[error("{file}:{line}: rule `{rule}`: {option:?} is not an option of question `{question}` (options: {options})")]
    NotAnOption { file: String, line: usize, rule: String, question: String, option: String, options: String },
    /// A condition table that is not one of the documented forms.
    #[error("{file}:{line}: rule `{rule}`: {problem}")]
    BadCondition { file: String, line: usize, rule: String, problem: String },
    /// A rule whose condition can never be true, so it would silently never fire.
    #[error("{file}:{line}: rule `{rule}` can never fire: {reason}")]
    Unreachable { file: String, line: usize, rule: String, reason: String },
    /// A level of need outside the four levels (or level 1 as a raise, which would do nothing).
    #[error("{file}:{line}: rule `{rule}`: {key} = {level} is out of range ({allowed})")]
    LevelOutOfRange { file: String, line: usize, rule: String, key: &'static str, level: i64, allowed: &'static str },
    /// An indicator group that is not one of the lexicon's groups.
    #[error("{file}:{line}: rule `{rule}`: unknown indicator group {group:?} (known groups: {known})")]
    UnknownGroup { file: String, line: usize, rule: String, group: String, known: String },
    /// An alert kind nobody handles.
    #[error("{file}:{line}: rule `{rule}`: unknown alert kind {kind:?} (known kinds: {known})")]
    UnknownAlert { file: String, line: usize, rule: String, kind: String, known: String },
    /// A rule with no effect: firing it would change nothing.
    #[error(
        "{file}:{line}: rule `{rule}` has no effect (give it raise_level, add_indicator, raise_alert or require_manager_decision = true)"
    )]
    NoEffect { file: String, line: usize, rule: String },
}

impl ProtocolError {
    /// The file the error is in (the directory for [`ProtocolError::NoProtocols`]).
    pub fn file(&self) -> &str {
        match self {
            ProtocolError::NoProtocols { dir } => dir,
            ProtocolError::Read { file, .. }
            | ProtocolError::Syntax { file, .. }
            | ProtocolError::IdMismatch { file, .. }
            | ProtocolError::BadId { file, .. }
            | ProtocolError::Duplicate { file, .. }
            | ProtocolError::DuplicateProtocol { file, .. }
            | ProtocolError::BadQuestion { file, .. }
            | ProtocolError::UnknownQuestion { file, .. }
            | ProtocolError::TypeMismatch { file, .. }
            | ProtocolError::NotAnOption { file, .. }
            | ProtocolError::BadCondition { file, .. }
            | ProtocolError::Unreachable { file, .. }
            | ProtocolError::LevelOutOfRange { file, .. }
            | ProtocolError::UnknownGroup { file, .. }
            | ProtocolError::UnknownAlert { file, .. }
            | ProtocolError::NoEffect { file, .. } => file,
        }
    }

    /// The 1-based line the error points at, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ProtocolError::Read { .. } | ProtocolError::NoProtocols { .. } => None,
            ProtocolError::DuplicateProtocol { .. } => Some(1),
            ProtocolError::Syntax { line, .. }
            | ProtocolError::IdMismatch { line, .. }
            | ProtocolError::BadId { line, .. }
            | ProtocolError::Duplicate { line, .. }
            | ProtocolError::BadQuestion { line, .. }
            | ProtocolError::UnknownQuestion { line, .. }
            | ProtocolError::TypeMismatch { line, .. }
            | ProtocolError::NotAnOption { line, .. }
            | ProtocolError::BadCondition { line, .. }
            | ProtocolError::Unreachable { line, .. }
            | ProtocolError::LevelOutOfRange { line, .. }
            | ProtocolError::UnknownGroup { line, .. }
            | ProtocolError::UnknownAlert { line, .. }
            | ProtocolError::NoEffect { line, .. } => Some(*line),
        }
    }
}

/// Every problem found while loading: loading never stops at the first bad rule, so the author
/// can fix a whole file (or directory) in one pass. Sorted by file, then line. Displays one
/// `FILE:LINE: problem` per line.
#[derive(Debug, Error)]
pub struct ProtocolErrors(pub Vec<ProtocolError>);

impl ProtocolErrors {
    pub(super) fn sorted(mut errors: Vec<ProtocolError>) -> Self {
        // A stable sort keeps the order errors were found in for one line (e.g. two problems
        // in one condition).
        errors.sort_by(|a, b| (a.file(), a.line()).cmp(&(b.file(), b.line())));
        ProtocolErrors(errors)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ProtocolError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ProtocolErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a ProtocolErrors {
    type Item = &'a ProtocolError;
    type IntoIter = std::slice::Iter<'a, ProtocolError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
