//! Why a lexicon file was refused: every error names the file and, where there is one, the line.

use thiserror::Error;

/// A lexicon file that cannot be used. Displays as `FILE:LINE: problem` so an administrator can
/// go straight to the entry at fault; loading stops at the first error.
#[derive(Debug, Error)]
pub enum LexiconError {
    /// The file could not be read at all (there is no line to point at).
    #[error("{file}: cannot read the lexicon: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, a missing key or a value of the wrong type.
    #[error("{file}:{line}: {message}")]
    Syntax { file: String, line: usize, message: String },
    /// A term, variant or cue that is empty once punctuation and spacing are folded away.
    #[error("{file}:{line}: empty {what}")]
    EmptyPhrase { file: String, line: usize, what: &'static str },
    /// A group name that is not one of the twelve indicator groups.
    #[error("{file}:{line}: unknown group {group:?} (known groups: {known})")]
    UnknownGroup { file: String, line: usize, group: String, known: String },
    /// The same phrase (after normalisation) listed twice, in terms or cue lists.
    #[error("{file}:{line}: duplicate phrase {phrase:?}: already listed at line {first_line} as a {first_what}")]
    DuplicatePhrase { file: String, line: usize, phrase: String, first_line: usize, first_what: &'static str },
    /// A weight outside 1 (low) ..= 3 (high).
    #[error("{file}:{line}: weight {weight} out of range (1 = low, 2 = medium, 3 = high)")]
    WeightOutOfRange { file: String, line: usize, weight: i64 },
    /// A negation window that is zero, negative or implausibly large.
    #[error("{file}:{line}: bad window {window}: must be between 1 and {max} tokens")]
    BadWindow { file: String, line: usize, window: i64, max: usize },
    /// A term or cue that contains a scope terminator, so it could never match in one scope.
    #[error("{file}:{line}: {what} {phrase:?} contains the scope terminator {terminator:?}")]
    ContainsTerminator { file: String, line: usize, what: &'static str, phrase: String, terminator: char },
    /// An abbreviation that is not written in capitals, so it could never be told apart.
    #[error("{file}:{line}: abbreviation {abbreviation:?} must be written in capitals (it matches only as written)")]
    BadAbbreviation { file: String, line: usize, abbreviation: String },
    /// A terminator that is neither a single punctuation character nor a phrase of words.
    #[error("{file}:{line}: bad terminator {terminator:?}: {reason}")]
    BadTerminator { file: String, line: usize, terminator: String, reason: &'static str },
    /// The matcher could not be built from the phrases (for example, far too many of them).
    #[error("{file}: cannot build the matcher: {message}")]
    Build { file: String, message: String },
}
