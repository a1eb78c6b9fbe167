//! Typed identifiers. A `ContactId` can never be passed where a `ChildId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7), so ids sort roughly by creation.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A child known to the front door (the subject of contacts).
    ChildId
);
id_type!(
    /// One contact: a concern raised through any channel.
    ContactId
);
id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// One alert about a child (F4).
    AlertId
);
id_type!(
    /// A partner agency (children's services, a police force, a school, ...).
    AgencyId
);
id_type!(
    /// A multi-agency child enquiry (F6).
    EnquiryId
);
id_type!(
    /// One agency's contribution to an enquiry.
    ContributionId
);
id_type!(
    /// A case on the CSE pathway (F7).
    CaseId
);
id_type!(
    /// An action assigned to an agency, team or person, followed up until done (F9).
    ActionItemId
);
id_type!(
    /// A follow-up audit of a sample of CSE referrals (F9, Rec 23).
    AuditId
);
id_type!(
    /// A notification to a partner agency at a transition (F15).
    NotificationId
);
