//! QUIC (RFC 9000, 9001; version 2 RFC 9369) over UDP: one event per connection with the TLS
//! hellos its Initial packets carry.
//!
//! - `parser.rs`: long headers (version, DCID, SCID, type, token, Length: coalesced packets
//!   split), Version Negotiation, Retry, short headers (counted only), and the frames of a
//!   decrypted Initial (PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE); the content probe.
//! - `crypto.rs`: the Initial secrets (v1, v2, drafts 23–34 salts), header protection removal
//!   and AEAD_AES_128_GCM with `ring`.
//! - `session.rs`: per connection the keys from the client's Initial DCID (again from the new
//!   DCID after a Retry), CRYPTO frames reassembled by offset across packets, the ClientHello
//!   and ServerHello parsed with the TLS parser's `hello.rs`.
//! - Event: `tls.*` as TLS fills them (SNI, ALPN, JA3, JA4 with the "q" transport, JA3S,
//!   negotiated version and cipher; `tls.next_protocol` only when the client offered a single
//!   ALPN protocol and the server answered: the server's choice is in EncryptedExtensions, in
//!   Handshake packets, which are not decrypted), `server.domain` = SNI, and `network_traffic.quic.*`
//!   (version, connection IDs, packet counts, Retry, the versions a Version Negotiation
//!   offered). Published when the flow ends or after `transaction_timeout` without packets.

pub mod crypto;
mod fields;
pub mod parser;
mod session;

pub use fields::*;
pub use session::{CryptoStream, QuicParser};

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.quic";

pub static PROTOCOL: Protocol = Protocol {
    name: "quic",
    dataset: DATASET,
    transports: &[Transport::Udp],
    default_ports: &[443],
    probe: |t, dir: Dir, b| t == Transport::Udp && parser::probe(dir, b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(QuicParser::new(ctx)),
};

/// `wirebeat.protocols.quic`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// UDP ports (default: 443).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
