//! ICMP and ICMPv6: one event per message, echo-like requests paired with their replies.
//!
//! The flow layer hands over each ICMP message whole (type, code, checksum and body), one per
//! `data()` call, for every ICMP/ICMPv6 flow (the protocol has no ports). Echo and echo reply
//! share a flow (Community ID type mapping), so pairing is per flow: ICMPv4 echo, timestamp,
//! information and address-mask requests, and ICMPv6 echo, wait for the reply with the same
//! identifier and sequence number (bounded by `max_pending`, expired after the transaction
//! timeout, flushed at close — all published with a note). Every other type is published alone.
//! Errors (unreachable, time exceeded, parameter problem, packet too big, redirect, source
//! quench) quote the offending packet: its tuple and Community ID go to
//! `network_traffic.icmp.quoted.*` so an analyst can pivot from the error to the flow.
//!
//! Field names are Packetbeat's (`icmp.version`, `icmp.request.{type,code,message}`,
//! `icmp.response.*`), which Elastic's prebuilt rules query, emitted under both `icmp.*` and
//! the integration's `network_traffic.icmp.*`. ECS has no `icmp` fields: all are custom.
//! Messages are spelled out ("Destination Unreachable (Port Unreachable)") rather than
//! gopacket's CamelCase that Packetbeat prints; rules match on type and code.
//!
//! IP version: `ParserContext` does not say whether the flow is ICMP or ICMPv6, so the parser
//! decides per flow from the first conclusive message (`parser::guess_version`: a verifying
//! ICMPv4 checksum, an assigned ICMPv6 informational type, or the quoted header's version),
//! else 4; `IcmpParser::new` takes the version directly once the flow layer can pass it.
//!
//! Files: `parser.rs` (pure: header, roles, names, quoted header), `session.rs` (pairing),
//! `fields.rs` (the ECS fields and the quoted flow's Community ID).

mod fields;
pub mod parser;
mod session;

pub use fields::*;
pub use session::IcmpParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.icmp";

pub static PROTOCOL: Protocol = Protocol {
    name: "icmp",
    dataset: DATASET,
    transports: &[Transport::Icmp],
    default_ports: &[],
    probe: |_, _, _| false,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| {
        let version = match ctx.ip_proto {
            1 => Some(4),
            58 => Some(6),
            _ => None,
        };
        Box::new(IcmpParser::new(ctx, version))
    },
};

/// `wirebeat.protocols.icmp`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// Unused: ICMP has no ports (kept for a uniform protocol section).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
