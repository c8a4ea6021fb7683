//! The DAV connector suite against a real Xandikos 0.4.

use crate::common;
use common::PeerKind;

dav_suite!(PeerKind::Xandikos);
