//! Screening of contacts. Today: the negation-aware indicator lexicon matched against narratives
//! (F3). Next (issue 3): the authority's scripted protocols and rules (F2).
//!
//! Pure functions over parsed configuration; loading reads only the file it is given and reports
//! errors as file:line.

pub mod lexicon;
