//! Template protocol: copy this folder to add a protocol (see "Adding a protocol" in
//! `proto/mod.rs`).
//!
//! It parses a toy line protocol — a request line `PING <text>\n` answered by `PONG <text>\n` —
//! and shows every piece a real protocol has, in the files every protocol has:
//! - here, the descriptor and the `wirebeat.protocols.template` section;
//! - `parser.rs`, the pure parser telling "need more bytes" from "malformed";
//! - `session.rs`, request/response pairing with a bounded pending queue and a timeout, a
//!   buffer limit and counters;
//! - `fields.rs`, the ECS fields struct and the custom fields it declares;
//! - `tests.rs`, its unit tests (every prefix is incomplete; pairing across segments).
//!
//! It is disabled by default and left out of the Elastic content (`in_content: false`); CI
//! keeps it compiling and tested.

mod fields;
mod parser;
mod session;

pub use fields::{Fields, NetworkTraffic, TemplateFields, CUSTOM_FIELDS};
pub use parser::{parse, Message};
pub use session::TemplateParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.template";

pub static PROTOCOL: Protocol = Protocol {
    name: "template",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[7],
    probe: |_, dir, b| dir == Dir::ToServer && b.starts_with(b"PING "),
    custom_fields: CUSTOM_FIELDS,
    in_content: false,
    make: |ctx| Box::new(TemplateParser::new(ctx)),
};

/// `wirebeat.protocols.template`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Off by default: the template is an example.
    pub enabled: bool,
    /// TCP ports (default: 7, the echo port).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: false, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
