//! Helpers the binary tests share.

#![allow(dead_code)] // each test binary uses a different part

use std::net::TcpListener;

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A port of 127.0.0.1 free now, for a server the test starts.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("port")
        .port()
}
