//! Cassandra: the CQL native protocol (v3, v4, v5) over TCP.
//!
//! Each message is a frame: a 9-byte header (version with the response bit 0x80, flags,
//! stream id, opcode, body length) and a body. A response carries the stream id of its request
//! (`session.rs` pairs by it, so answers in any order pair right); stream -1 is a server EVENT,
//! published alone. Bodies with the compression flag (lz4 or snappy, as STARTUP negotiated) are
//! not opened: the event says "compressed body (…) not decoded" and keeps the headers. A v5
//! connection switches to segments once the server answers its STARTUP: uncompressed segments
//! are unwrapped (their CRCs are not checked) and the frames inside read as usual; compressed
//! segments are noted and the connection is no longer followed.
//!
//! The event: Packetbeat's `method` (the request opcode, `QUERY`), `query` (the CQL text of a
//! QUERY, PREPARE or BATCH), `status` (Error for an ERROR response, with `error.code` /
//! `error.message`), and under `network_traffic.cassandra.*` Packetbeat's `request.headers.*`,
//! `request.query`, `response.headers.*`, `response.result.*`, `response.error.*`. An
//! AUTH_RESPONSE answered by AUTH_SUCCESS or by ERROR 0x0100 (bad credentials) is a login
//! (`Txn::auth`), with the PLAIN user name in `user.name`.

mod fields;
mod parser;
mod session;

pub use fields::*;
pub use session::CassandraParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.cassandra";

pub static PROTOCOL: Protocol = Protocol {
    name: "cassandra",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[9042],
    probe: |t, dir, b| t == Transport::Tcp && dir == super::Dir::ToServer && parser::probe(b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(CassandraParser::new(ctx)),
};

/// `wirebeat.protocols.cassandra`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    pub ports: Vec<u16>,
    /// Request opcodes (e.g. `OPTIONS`, `REGISTER`) whose transactions are not published
    /// (Packetbeat's `ignored_ops`).
    pub ignored_ops: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec(), ignored_ops: Vec::new() }
    }
}

#[cfg(test)]
mod tests;
