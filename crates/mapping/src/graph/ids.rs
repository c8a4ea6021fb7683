//! The ids of crmsync's own data on Graph items, in one place: the mapping
//! reads and writes them here, and the Graph connector (`crmsync-graph`)
//! `$expand`s, filters on and injects the same ones. Two copies could drift
//! apart, and then every item would look new (a duplicate per run).

/// A named MAPI string property in crmsync's own property set, holding the
/// item's UID: contacts and events have no UID property a client can set
/// (https://learn.microsoft.com/en-us/graph/api/resources/extended-properties-overview#id-formats).
pub const UID_PROPERTY: &str = "String {8d3a5f0e-6c1b-4b8e-9a27-1f0c2d7e4b91} Name crmsyncUid";
/// crmsync's open extension on To Do tasks, which have no extended
/// properties: it carries the UID and the CRM activity type
/// (https://learn.microsoft.com/en-us/graph/api/resources/opentypeextension).
pub const EXTENSION_NAME: &str = "com.crmsync.item";
/// A contact's business fax has no v1.0 property: its MAPI property
/// (PidTagBusinessFaxNumber).
pub const FAX_PROPERTY: &str = "String 0x3A24";
/// A contact's other phone has no v1.0 property: its MAPI property
/// (PidTagOtherTelephoneNumber).
pub const OTHER_PHONE_PROPERTY: &str = "String 0x3A1F";
