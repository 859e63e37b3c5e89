//! Kerberos v5 (RFC 4120) over UDP and TCP (port 88): the KDC exchanges AS-REQ/AS-REP,
//! TGS-REQ/TGS-REP and KRB-ERROR, decoded by a small strict DER reader of its own
//! (`parser.rs`). Each request is paired with the next reply or error of its flow; AS exchanges
//! are logins (`Txn.auth`). Client principal → `user.name`/`user.domain`; the rest under
//! `network_traffic.kerberos.*`, with `weak_etype` for RC4-HMAC/DES offered or used.

mod fields;
mod parser;
mod session;

pub use fields::{Fields, KerberosFields, NetworkTraffic, CUSTOM_FIELDS};
pub use parser::{error_name, kdc_option_names, parse, read_tlv, Kind, Message, Principal, Tlv};
pub use session::KerberosParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.kerberos";

/// Content probe: a client's first datagram (UDP) or record (TCP, after the 4-byte length) is
/// an AS-REQ or TGS-REQ.
fn probe(t: Transport, dir: Dir, b: &[u8]) -> bool {
    if dir != Dir::ToServer {
        return false;
    }
    let (msg, record) = match t {
        Transport::Udp => (b, None),
        Transport::Tcp => match b.get(..4).and_then(|l| <[u8; 4]>::try_from(l).ok()) {
            Some(l) => (b.get(4..).unwrap_or_default(), Some(u32::from_be_bytes(l) as usize)),
            None => return false,
        },
        Transport::Icmp => return false,
    };
    if !matches!(msg.first(), Some(0x6a | 0x6c)) {
        return false;
    }
    // On TCP the record length must be the message's DER length, before it is complete.
    if let Some(record) = record {
        let header_and_len = match (msg.get(1), msg.get(2..)) {
            (Some(&l), _) if l < 0x80 => Some(2 + usize::from(l)),
            (Some(&l @ 0x81..=0x83), Some(rest)) => {
                let n = usize::from(l & 0x7f);
                rest.get(..n).map(|bytes| {
                    2 + n + bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
                })
            }
            _ => None,
        };
        if header_and_len != Some(record) {
            return false;
        }
    }
    match parse(msg) {
        Ok((m, _)) => m.kind() == Kind::Request,
        Err(crate::bytes::ParseError::Incomplete) => t == Transport::Tcp,
        Err(_) => false,
    }
}

pub static PROTOCOL: Protocol = Protocol {
    name: "kerberos",
    dataset: DATASET,
    transports: &[Transport::Udp, Transport::Tcp],
    default_ports: &[88],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(KerberosParser::new(ctx)),
};

/// `wirebeat.protocols.kerberos`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// UDP and TCP ports of the KDC (default: 88).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
