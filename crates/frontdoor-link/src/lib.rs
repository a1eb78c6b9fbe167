//! The person index (SPEC F5): source systems' person records, imported from CSV in a canonical
//! layout or through a per-source column mapping. Pure: it parses text it is given and reports
//! every bad row; storing the records is the caller's (`frontdoor import people`).
//!
//! Probabilistic matching of the index (issue 4) builds on this crate.

pub mod import;

pub use import::{CANONICAL_HEADER, Mapping, MappingError, PersonRow, RowError, parse_people};
