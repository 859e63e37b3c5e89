//! DHCPv4 (and plain BOOTP): one event per message, like Packetbeat's `dhcpv4`.
//!
//! The messages of one exchange travel in different flows (0.0.0.0:68 → 255.255.255.255:67,
//! then server:67 → 255.255.255.255:68 or → yiaddr:68), so a per-flow parser cannot pair them
//! reliably; each message is published on its own with its message type and transaction id,
//! and a consumer pairs them on `dhcpv4.transaction_id`. Nothing is kept per flow, so there is
//! no pending queue to bound; a datagram larger than `max_buffer_bytes` is read only that far
//! (a limit hit).
//!
//! Field names are Packetbeat's `dhcpv4.*` (fields.yml of packetbeat/protos/dhcpv4 and of the
//! network_traffic integration), emitted twice: under `dhcpv4.*` (what Packetbeat and the
//! integration index) and under `network_traffic.dhcpv4.*` (the integration's data-stream
//! name, which rules may read). ECS has no DHCP fields, so all are custom. Additions of ours,
//! under the same `option` object: `client_identifier` (61), `user_class` (77),
//! `client_fqdn.{flags,name}` (81), `relay_agent_information.{circuit_id,remote_id}` (82) and
//! `option_overload` (52). The client's host name and FQDN go to `related.hosts`.

mod fields;
pub mod parser;
mod session;

pub use fields::*;
pub use session::Dhcpv4Parser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.dhcpv4";

pub static PROTOCOL: Protocol = Protocol {
    name: "dhcpv4",
    dataset: DATASET,
    transports: &[Transport::Udp],
    default_ports: &[67, 68],
    probe: |_, _, _| false,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(Dhcpv4Parser::new(ctx)),
};

/// `wirebeat.protocols.dhcpv4`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
