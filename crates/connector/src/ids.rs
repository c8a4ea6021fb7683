//! Opaque identifiers a connector hands out. They are newtypes so that an ETag can
//! never be passed where an href is expected; their text is meaningful only to the
//! connector that produced it and is stored verbatim by the status store.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps the connector's text as-is.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The text exactly as the connector produced it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

opaque_id!(
    /// Where an item lives inside its collection (a URL path for DAV, a file name
    /// for vdir). Unique within one collection.
    Href
);
opaque_id!(
    /// The item's version as the groupware side sees it. Any write to the item,
    /// by anyone, yields a different ETag; writes are conditional on it.
    Etag
);
opaque_id!(
    /// A bookmark into a collection's change history, returned by `changes` and
    /// handed back on the next call.
    SyncToken
);
opaque_id!(
    /// Identifies one collection (address book, calendar, task list) of a mailbox.
    CollectionId
);
