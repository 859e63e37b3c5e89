//! NFS v3 and v4 over ONC RPC (RFC 5531, RFC 1813, RFC 7530/8881), TCP and UDP.
//!
//! - `parser.rs`: TCP record marking (fragments of one record joined, at most
//!   `MAX_RECORD_BYTES` and `MAX_FRAGMENTS`), the RPC call/reply header with AUTH_UNIX
//!   credentials, NFSv3 arguments (file handle, diropargs name, READ/WRITE offset and count)
//!   and NFSv4 COMPOUND (tag, minor version, operation list up to `MAX_OPS`; arguments of the
//!   common operations are decoded to reach the next one, an operation whose arguments are not
//!   decoded ends the list).
//! - `session.rs`: a reply answers the pending call of the same xid; calls to other RPC
//!   programs on the port are ignored (their replies, too), a reply without its call is counted
//!   unmatched and not published (neither the program nor the procedure is known).
//! - Event: one per call (with its reply when seen). `network_traffic.nfs.status` is the nfsstat
//!   of the reply (Packetbeat's names: NFS_OK, NFSERR_NOENT, …); for NFSv4 the COMPOUND status,
//!   and `failed_operation` the operation that failed. Top-level `method` is the operation
//!   (v4: the main operation, Packetbeat's `opcode`), `resource` the file name or else the file
//!   handle; `status` is "Error" when the RPC or NFS status is not OK.

mod fields;
pub mod parser;
mod session;

pub use fields::*;
pub use session::NfsParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.nfs";

pub static PROTOCOL: Protocol = Protocol {
    name: "nfs",
    dataset: DATASET,
    transports: &[Transport::Tcp, Transport::Udp],
    default_ports: &[2049],
    probe: |t, dir, b| {
        dir == Dir::ToServer
            && match t {
                Transport::Tcp => b.get(4..).is_some_and(parser::looks_like_nfs_call),
                Transport::Udp => parser::looks_like_nfs_call(b),
                Transport::Icmp => false,
            }
    },
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(NfsParser::new(ctx)),
};

/// `wirebeat.protocols.nfs`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP and UDP ports (default: 2049).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
