//! The person index (SPEC F5): source systems' person records, imported from CSV in a canonical
//! layout or through a per-source column mapping, and matched probabilistically.
//!
//! - [`import`]: parsing exports (all-or-nothing, every bad row named).
//! - [`normalise`]: names, nicknames, postcodes, phones, addresses.
//! - [`compare`]: the comparators (levels per field; household evidence folded into one).
//! - [`model`]: Fellegi–Sunter weights, u from random pairs, m by EM, term-frequency adjustment.
//! - [`index`]: blocking, scoring, the single-record check, explanations, the twin guard.
//! - [`cluster`]: links to people (human decisions win), pairwise precision and recall.
//!
//! Pure: no I/O, no clock. Storing records, links and decisions is the caller's.

pub mod cluster;
pub mod compare;
pub mod import;
pub mod index;
pub mod model;
pub mod normalise;

pub use cluster::{PairwiseScores, Verdict, cluster, cluster_verdicts, pairwise};
pub use compare::Person;
pub use import::{CANONICAL_HEADER, Mapping, PersonRow, RowError, parse_people};
pub use index::{Guard, Index, RecordKey, ScoredPair, Settings, weigh};
pub use model::{Evidence, Explanation, Model, Thresholds};
pub use normalise::Nicknames;

/// A configuration file (column mapping, nickname table) that cannot be used: where and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct FileError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl FileError {
    /// A TOML parse error, at the line its span starts on.
    fn toml(file: &str, text: &str, e: &toml::de::Error) -> FileError {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
        let message = e.message().lines().next().unwrap_or("not TOML").to_owned();
        FileError { file: file.to_owned(), line, message }
    }
}

/// The outcome of deduplicating a whole index in memory.
#[derive(Debug, Clone)]
pub struct Dedupe {
    pub model: Model,
    /// Every pair scored at or above the review threshold (or guarded), `a < b`.
    pub pairs: Vec<ScoredPair>,
    /// Each record's cluster (its smallest member's position).
    pub clusters: Vec<u32>,
}

/// Trains, scores and clusters an index without a person in the loop.
pub fn dedupe(index: &Index, settings: &Settings) -> Dedupe {
    let model = index.train(settings);
    let pairs = index.score_range(&model, 0, index.len() as u32, settings.review);
    let clusters = cluster_pairs(index.len(), &pairs, settings);
    Dedupe { model, pairs, clusters }
}

/// Clusters scored pairs with no person's decisions: automatic links joined strongest first,
/// possible twins as walls.
pub fn cluster_pairs(n: usize, pairs: &[ScoredPair], settings: &Settings) -> Vec<u32> {
    cluster_verdicts(n, pairs.iter().filter_map(|p| Some((p.a, p.b, p.verdict(settings)?))))
}
