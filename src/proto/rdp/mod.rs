//! RDP connection negotiation (MS-RDPBCGR 2.2.1.1 and 2.2.1.2): the TPKT-framed X.224
//! Connection Request (cookie or routing token, `RDP_NEG_REQ` requested protocols) and the
//! Connection Confirm (`RDP_NEG_RSP` selected protocol or `RDP_NEG_FAILURE` code) become one
//! event per connection attempt. When the server selects TLS or CredSSP the rest of the
//! stream is handed to the TLS parser ([`crate::proto::Parser::handoff`]); with standard RDP
//! security the MCS bytes that follow are not parsed.

mod fields;
mod parser;
mod session;

pub use fields::{Fields, NetworkTraffic, RdpFields, User, CUSTOM_FIELDS};
pub use parser::{parse, protocol_names, Message, Neg};
pub use session::RdpParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.rdp";

pub static PROTOCOL: Protocol = Protocol {
    name: "rdp",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[3389],
    probe: |_, dir, b| dir == Dir::ToServer && parser::looks_like_cr(b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(RdpParser::new(ctx)),
};

/// `wirebeat.protocols.rdp`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default: 3389).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
