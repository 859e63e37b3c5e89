//! memcache: the text and binary protocols over TCP and UDP.
//!
//! Text requests pair with replies in order (FIFO); a retrieval (`get k1 k2`) or `stats` reply
//! is its `VALUE`/`STAT` lines up to `END`. `noreply` requests (and `quit`) expect no reply and
//! are published at once. Binary messages pair by their opaque value; quiet opcodes (GetQ,
//! SetQ, …) are answered by nothing on success, so a later reply (typically a Noop) publishes
//! the quiet requests before it without a reply. Over UDP every datagram starts with an 8-byte
//! frame header (request id, sequence number, datagram count, reserved): requests and replies
//! pair by request id, and a reply of several datagrams is gathered first (bounded:
//! `MAX_UDP_DATAGRAMS`, `MAX_UDP_PARTIAL`).
//!
//! Fields: `network_traffic.memcached.*` with Packetbeat's `memcache.*` names below it (the
//! integration's `memcached` data stream). Top level: `method` the command, `resource` the first
//! key, `query` "set key". A binary SASL authentication is a login (`Txn::auth`).
//!
//! Lost bytes or a malformed message put a TCP direction out of sync: its bytes are dropped up to
//! a segment that starts like a message, and the pending requests are published unanswered.

mod fields;
mod parser;
mod session;

pub use fields::{Fields, MemcacheFields, NetworkTraffic, RequestFields, ResponseFields, CUSTOM_FIELDS};
pub use parser::{parse_binary, parse_text_request, parse_text_response, udp_frame, Binary, Request, Response, TextUnit};
pub use session::MemcacheParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events (the integration's data stream name).
pub const DATASET: &str = "network_traffic.memcached";

pub static PROTOCOL: Protocol = Protocol {
    name: "memcache",
    dataset: DATASET,
    transports: &[Transport::Tcp, Transport::Udp],
    default_ports: &[11211],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(MemcacheParser::new(ctx)),
};

/// Content probe: a binary request header (magic 0x80, a known opcode, zero data type) on TCP.
fn probe(t: Transport, dir: Dir, b: &[u8]) -> bool {
    t == Transport::Tcp
        && dir == Dir::ToServer
        && b.len() >= 24
        && b.first() == Some(&0x80)
        && b.get(1).is_some_and(|op| parser::opcode(*op).0 != "Unknown")
        && b.get(5) == Some(&0)
}

/// `wirebeat.protocols.memcache`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP and UDP ports (default 11211).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
