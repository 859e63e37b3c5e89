//! SIP (RFC 3261) over UDP and TCP.
//!
//! - `parser.rs`: start line, headers (compact forms such as `i`, `f`, `t`, `m`, `v`, `l`, `c`
//!   expanded, folded lines joined, at most `MAX_HEADERS`), the body (TCP: framed by
//!   Content-Length, at most `MAX_BODY_BYTES`; UDP: the rest of the datagram), URIs, name-addr
//!   headers, Digest credentials and the SDP lines reported.
//! - `session.rs`: a request waits for its responses by (Call-ID, CSeq number, CSeq method);
//!   1xx responses are noted (`provisional_codes`), the first final response completes it.
//!   UDP retransmissions of a pending request are counted on it (`retransmissions`), not
//!   published again; a final response repeated after completion is dropped.
//! - Event: one per request (with its final response when seen), fields of the request and the
//!   response's code and phrase; `type` is "response" when the event has one (the prebuilt rule
//!   on REGISTER failures selects `type: response` with `code` 401/403/407 and `cseq.method`
//!   REGISTER). Top-level `method` is the SIP method, `query` "METHOD request-uri", `resource`
//!   the request URI, `status` "Error" for a final code ≥ 400.
//! - Logins: a REGISTER with credentials (Authorization / Proxy-Authorization) answered 2xx is
//!   `auth: Success`, answered 401/403/407 `Failure`; a REGISTER without credentials answered
//!   403 is `Failure` (401/407 there is the normal digest challenge, not a failure).

mod fields;
pub mod parser;
mod session;

pub use fields::*;
pub use session::SipParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.sip";

pub static PROTOCOL: Protocol = Protocol {
    name: "sip",
    dataset: DATASET,
    transports: &[Transport::Udp, Transport::Tcp],
    default_ports: &[5060],
    probe: |t, _, b| t != Transport::Icmp && parser::looks_like_sip(b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(SipParser::new(ctx)),
};

/// `wirebeat.protocols.sip`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// UDP and TCP ports (default: 5060).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
