//! SSH (RFC 4253) over TCP: one event per connection.
//!
//! What is read in the clear: each side's identification string (`SSH-2.0-OpenSSH_8.9p1
//! Ubuntu-3`: protocol version, software version, comments; a server may send text lines
//! before it), then the binary packets up to `SSH_MSG_NEWKEYS`, of which the first
//! `SSH_MSG_KEXINIT` of each side gives the offered algorithms. From the two KEXINITs come the
//! negotiated algorithms (RFC 4253 7.1: the first client algorithm the server also lists) and
//! the Salesforce fingerprints: HASSH, md5 of `kex;enc_c2s;mac_c2s;cmp_c2s` of the client's
//! KEXINIT, and HASSHServer, md5 of `kex;enc_s2c;mac_s2c;cmp_s2c` of the server's (the
//! algorithm strings are kept beside them). SSH-1 banners (`SSH-1.5-`) end the decoding of
//! that side (its packets have another format); `SSH-1.99` speaks 2.0.
//!
//! After NEWKEYS everything is encrypted, and the login outcome is inferred, as Zeek does,
//! from the sizes of the encrypted TCP segments (one segment taken as one SSH packet), and
//! conservatively:
//! - the client's first encrypted segment is the `ssh-userauth` service request; server
//!   segments before its next one (service accept, ext-info) are ignored;
//! - every further client segment is an authentication request (`auth_attempts`) until a
//!   session is seen;
//! - the size of the server's first reply after a request is taken as the size of
//!   `USERAUTH_FAILURE` (a failure reply repeats the same method list, so it keeps its size);
//! - a server segment of another size starts a candidate session; it is a success (`Txn.auth =
//!   Success`) once the server sent 3 and the client 2 segments after it without another
//!   failure-sized reply (a public-key `PK_OK` answer alone does not make one);
//! - the login failed (`Failure`) when the connection closed with no candidate session open,
//!   after at least 2 requests and 2 failure-sized replies (a password guesser's connection);
//! - otherwise, or when bytes were lost after NEWKEYS, `Unknown`. Connections that never
//!   reached the encrypted phase carry no `auth`.
//!
//! The event is published when the flow closes, with `event.duration` from the first to the
//! last byte of the connection, bytes per side and the encrypted segment counts. Nothing is
//! buffered after NEWKEYS, so a long session holds only counters.
//!
//! Limits: `limits.max_buffer_bytes` per direction before NEWKEYS (counted in `limit_hits`;
//! the side is then not followed), at most 64 lines before the identification string, cleartext
//! packets up to 256 KiB. Malformed bytes (bad packet length, a KEXINIT shorter than its
//! name-lists) are counted and noted, and end that side's decoding.

mod fields;
mod parser;
mod session;

pub use fields::{Algorithms, Fields, Negotiated, NetworkTraffic, Side, SshFields, CUSTOM_FIELDS};
pub use parser::{
    hassh_algorithms, negotiate, parse_kexinit, parse_line, parse_packet, Banner, KexInit, Line,
    Packet,
};
pub use session::SshParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.ssh";

pub static PROTOCOL: Protocol = Protocol {
    name: "ssh",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[22],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(SshParser::new(ctx)),
};

/// Content probe: either side's first bytes start the identification string `SSH-` (or are a
/// prefix of it).
fn probe(t: Transport, _dir: Dir, b: &[u8]) -> bool {
    t == Transport::Tcp && !b.is_empty() && (b.starts_with(b"SSH-") || b"SSH-".starts_with(b))
}

/// `wirebeat.protocols.ssh`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default 22); SSH on other ports is found by its banner.
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
