//! Screening of contacts: the negation-aware indicator lexicon matched against narratives (F3)
//! and the authority's scripted protocols and rules (F2: levels of need, indicators, alerts,
//! each decision explained).
//!
//! Pure functions over parsed configuration; loading reads only the files it is given and
//! reports errors as file:line.

pub mod lexicon;
mod lines;
pub mod protocol;
