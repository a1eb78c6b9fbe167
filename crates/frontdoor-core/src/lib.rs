//! Frontdoor's functional core: domain types, events and the access policy.
//!
//! Invariant: this crate never does I/O (no files, network, clock or database). Anything that
//! needs "now" takes it as an argument, so every decision here is a pure function of its inputs.

pub mod contact;
pub mod event;
pub mod ids;
pub mod org;
pub mod policy;
pub mod values;

pub use contact::{ContactDraft, ContactError, NewContact};
pub use event::{Event, EventKind, IndicatorMention};
pub use ids::{AgencyId, ChildId, ContactId, UserId};
pub use org::{AgencyKind, Role};
pub use policy::{Action, Actor, Decision, Purpose, Resource, decide};
pub use values::{Channel, DateOfBirth, Narrative, PersonName, Postcode, Sex, SourceCode, Username};
