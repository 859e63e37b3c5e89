//! Apache Thrift RPC over TCP.
//!
//! Each direction carries messages of one protocol (binary with the strict 0x8001 header or
//! the old non-strict one, compact 0x82) over one transport (framed by a 4-byte length, or
//! unframed), decided from its first bytes ([`parser::detect`]). `parser.rs` reads one message
//! header (name, type, seqid) and walks its struct, bounded by `max_depth`, rendering the
//! arguments, the return value and exceptions into short texts; `session.rs` pairs calls with
//! replies by seqid (a ONEWAY call is a transaction alone).
//!
//! Fields: Packetbeat's `thrift.params`, `return_value`, `exceptions`, `service` under
//! `network_traffic.thrift.*`; top-level `method` (the method name), `query`
//! (`add(1: 2, 2: 3)`, bounded), status Error on an EXCEPTION or a declared exception.
//! Thrift has no standard port (9090 is Packetbeat's default); flows on other ports are found
//! by content ([`parser::probe`]).

mod fields;
mod parser;
mod session;

pub use fields::{Fields, NetworkTraffic, ThriftFields, CUSTOM_FIELDS};
pub use parser::{detect, parse, probe, Encoding, Kind, Message, Mode};
pub use session::ThriftParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.thrift";

pub static PROTOCOL: Protocol = Protocol {
    name: "thrift",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[9090],
    probe: |_, _, b| probe(b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(ThriftParser::new(ctx)),
};

/// `wirebeat.protocols.thrift`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default: 9090, Packetbeat's).
    pub ports: Vec<u16>,
    /// Nesting of structs and collections walked at most (1 to [`MAX_DEPTH`]); deeper
    /// messages are malformed.
    pub max_depth: usize,
    /// Published as `network_traffic.thrift.service` when set.
    pub service: Option<String>,
}

/// Most `max_depth` applied (larger values act as this): the walk recurses once per level.
pub const MAX_DEPTH: usize = 64;

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec(), max_depth: 16, service: None }
    }
}

#[cfg(test)]
mod tests;
