//! DNS over UDP and TCP (also mDNS on 5353 and LLMNR on 5355, which share the format).
//!
//! - `parser.rs` parses one message (header, questions, records, EDNS OPT) with bounded work;
//!   anomalies (broken names, pointer loops, bad RDATA, short messages) are flagged on the
//!   message, which is still reported. `rdata.rs` renders record data; `names.rs` holds the
//!   mnemonics. `session.rs` pairs queries and responses; `fields.rs` has the ECS fields.
//! - TCP (RFC 1035 §4.2.2, RFC 7766): a 2-byte length before each message, any number of
//!   messages per segment and messages across segments, at most `max_buffer_bytes` buffered per
//!   direction; after lost bytes the direction waits for a segment that plausibly starts a
//!   message.
//! - Pairing: a response answers the oldest pending query of the flow with the same id and the
//!   same first question (name compared case-insensitively, for 0x20 randomisation); a response
//!   without a question (FORMERR, …) answers by id alone unless the id is 0 (mDNS announcements
//!   are not answers). At most `max_pending` queries wait per flow; one unanswered after
//!   `transaction_timeout` is published alone. Every message ends up in exactly one event.
//!
//! The event follows ECS and Packetbeat: `dns.type` is `answer` when the event has a response
//! (ECS: "a second event containing all query details as well as an array of answers";
//! Packetbeat does the same) and `query` for a query nobody answered. The header fields, counts
//! and records are the response's (Packetbeat), the question is the query's; the query's own
//! header values are kept under `dns.request.*` so both messages can be read back.
//! `*_count` fields are the header's counts (what `dig` prints), the additional count without
//! the OPT record (Packetbeat); for UPDATE the four sections are zone, prerequisites, updates
//! and additional data, reported under the same names. `response_code` includes the EDNS
//! extended bits (BADVERS, BADCOOKIE). `event.outcome` is success for NOERROR, failure for any
//! other response code, unknown for an unanswered query; `status` is "OK" only for NOERROR.
//!
//! Pairing is per flow: LLMNR and mDNS answers sent to another address or port than the query
//! came from are in another flow and are published as lone responses.
//!
//! No content probe: DNS has no signature strong enough to claim a flow on other ports (tshark
//! also dissects DNS by port only).

mod fields;
pub mod names;
pub mod parser;
pub mod rdata;
mod session;

pub use fields::*;
pub use session::DnsParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.dns";

pub static PROTOCOL: Protocol = Protocol {
    name: "dns",
    dataset: DATASET,
    transports: &[Transport::Udp, Transport::Tcp],
    default_ports: &[53, 5353, 5355],
    probe: |_, _, _| false,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(DnsParser::new(ctx)),
};

/// `wirebeat.protocols.dns`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// UDP and TCP ports: DNS 53, mDNS 5353, LLMNR 5355.
    pub ports: Vec<u16>,
    /// Publish the authority section as `dns.authorities[]` (its count is always published).
    pub include_authorities: bool,
    /// Publish the additional section as `dns.additionals[]` (the OPT record is `dns.opt`).
    pub include_additionals: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            ports: PROTOCOL.default_ports.to_vec(),
            include_authorities: true,
            include_additionals: true,
        }
    }
}

#[cfg(test)]
mod tests;
