//! SMB (MS-SMB2 SMB2/SMB3, SMB1 headers) over TCP 445 (direct) and 139 (NetBIOS session
//! service): request/response pairing by message id (async STATUS_PENDING interim responses
//! keep the request open), NEGOTIATE dialects and ciphers, SESSION_SETUP logins with the
//! NTLMSSP user, domain and workstation (`Txn::auth`), TREE_CONNECT shares, CREATE file names,
//! READ/WRITE lengths, IOCTL codes, SMB3 encryption noted and counted, SMB1 use visible.

mod fields;
mod parser;
mod session;

pub use fields::{Fields, CUSTOM_FIELDS};
pub use parser::{frame, message, token, Frame, Message};
pub use session::SmbParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.smb";

/// A session-service frame carrying an SMB header, or a NetBIOS session request.
fn probe(_: Transport, _: Dir, b: &[u8]) -> bool {
    match b.first() {
        Some(0x00) => matches!(b.get(4..8), Some([0xFD..=0xFF, b'S', b'M', b'B'])),
        Some(0x81) => b.len() >= 8 && b.get(1) == Some(&0),
        _ => false,
    }
}

pub static PROTOCOL: Protocol = Protocol {
    name: "smb",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[445, 139],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(SmbParser::new(ctx)),
};

/// `wirebeat.protocols.smb`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default: 445 direct, 139 NetBIOS session service).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
