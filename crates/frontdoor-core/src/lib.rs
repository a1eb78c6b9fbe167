//! Frontdoor's functional core: domain types, events and the access policy.
//!
//! Invariant: this crate never does I/O (no files, network, clock or database). Anything that
//! needs "now" takes it as an argument, so every decision here is a pure function of its inputs.

pub mod contact;
pub mod enquiry;
pub mod event;
pub mod ids;
pub mod org;
pub mod pathway;
pub mod policy;
pub mod triage;
pub mod values;

pub use contact::{ContactDraft, ContactError, NewContact};
pub use enquiry::{Confidence, ContributionText, EnquiryOutcome, EnquiryParties, PersonOfConcern, ReleaseBasis};
pub use event::{ChildMatch, Event, EventKind, Governing, IndicatorMention, MachinePair, RecordRef, ScoredLink};
pub use ids::{
    ActionItemId, AgencyId, AlertId, AuditId, CaseId, ChildId, ContactId, ContributionId, EnquiryId, NotificationId,
    UserId,
};
pub use org::{AgencyKind, Role};
pub use policy::{Action, Actor, Decision, Purpose, Resource, decide};
pub use triage::{AlertState, ChildFlag, DecisionOutcome, Reporter, SexualHealthService, Signal};
pub use values::{Channel, DateOfBirth, Narrative, PersonName, Postcode, Sex, SourceCode, Username};
