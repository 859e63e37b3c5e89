//! TLS 1.0–1.3 and SSL 3.0 handshakes (and the SSLv2-compatible ClientHello): one event per TLS
//! session, from the first hello until the handshake is done, the flow closes or it times out.
//!
//! Per direction the record layer is framed here (headers with tls-parser): handshake records
//! are reassembled into messages that may span records and TCP segments; records the event
//! does not need (application data, anything encrypted) are skipped without buffering. The
//! messages are parsed in `hello.rs`, fingerprinted in `fingerprint.rs` (JA3, JA3S, JA4) and the
//! certificates read in `cert.rs`. `parser.rs` frames records and handshake messages (pure);
//! `session.rs` follows the handshake per connection; `fields.rs` has the ECS fields.
//!
//! When is the handshake done? TLS ≤ 1.2: each side has sent a record after its
//! ChangeCipherSpec (its encrypted Finished). TLS 1.3: each side has sent an encrypted
//! (application_data) record after the ServerHello. Then the event is published and the rest of
//! the flow ignored. Otherwise it is published on close or when `transaction_timeout` passes
//! after the first hello, with `tls.established: false`.
//!
//! Field names: ECS `tls.*` first; Packetbeat's `tls.detailed.*` for the hello details
//! (Elastic's prebuilt rules read `tls.detailed.client_hello.extensions.
//! application_layer_protocol_negotiation` and `tls.detailed.alert_types`); `tls.client.ja4`
//! because ECS has no JA4 field.

mod cert;
mod fields;
pub mod fingerprint;
pub mod hello;
pub mod names;
pub mod parser;
mod session;
pub(crate) use session::client_hello_detail;

pub use fields::*;
pub use parser::{looks_like_tls, parse_handshake, parse_record, record_header};
pub use session::TlsParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.tls";

pub static PROTOCOL: Protocol = Protocol {
    name: "tls",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[443, 465, 636, 853, 993, 995, 5223, 8443, 8883, 9243],
    probe: |t, _, b| t == Transport::Tcp && looks_like_tls(b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(TlsParser::new(ctx)),
};

/// `wirebeat.protocols.tls`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    pub ports: Vec<u16>,
    /// Also ship the certificates themselves (base64 DER) in `tls.server.certificate` and
    /// `tls.server.certificate_chain` (and the client's). Off by default: they are large.
    pub include_raw_certificates: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            ports: PROTOCOL.default_ports.to_vec(),
            include_raw_certificates: false,
        }
    }
}

#[cfg(test)]
mod tests;
