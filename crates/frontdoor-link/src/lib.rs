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

pub use cluster::{PairwiseScores, cluster, pairwise};
pub use compare::Person;
pub use import::{CANONICAL_HEADER, Mapping, MappingError, PersonRow, RowError, parse_people};
pub use index::{Guard, Index, RecordKey, ScoredPair, Settings};
pub use model::{Evidence, Explanation, Model};
pub use normalise::Nicknames;

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
    let clusters = cluster_pairs(index.len(), &pairs, settings, &[], &[]);
    Dedupe { model, pairs, clusters }
}

/// Clusters scored pairs: automatic links joined strongest first, twins and people's
/// rejections as walls, people's confirmations first.
pub fn cluster_pairs(
    n: usize,
    pairs: &[ScoredPair],
    settings: &Settings,
    confirmed: &[(u32, u32)],
    rejected: &[(u32, u32)],
) -> Vec<u32> {
    let auto = |weak: bool| -> Vec<(u32, u32, f64)> {
        pairs
            .iter()
            .filter(|p| p.auto(settings) && (p.guard == Guard::NoGivenName) == weak)
            .map(|p| (p.a, p.b, p.probability))
            .collect()
    };
    let mut walls: Vec<(u32, u32)> = pairs.iter().filter(|p| p.wall()).map(|p| (p.a, p.b)).collect();
    walls.extend_from_slice(rejected);
    cluster(n, confirmed, &auto(false), &auto(true), &walls)
}
