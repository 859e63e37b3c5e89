//! ECS fields of an ICMP event (Packetbeat's `icmp.*` and the integration's
//! `network_traffic.icmp.*`), the quoted flow of an error with its Community ID, and the
//! custom-field list.

use super::parser::{self, Quoted};
use crate::community_id::community_id;
use crate::proto::CustomField;
use serde::Serialize;
use std::net::IpAddr;

/// Seed of the Community ID of quoted flows (the shipper's default; `ParserContext` does not
/// carry the configured one).
const COMMUNITY_ID_SEED: u16 = 0;

/// The fields of an ICMP event: Packetbeat's `icmp.*` and the integration's
/// `network_traffic.icmp.*` (which also holds the quoted flow of errors).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    pub icmp: IcmpFields,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub icmp: NetworkTrafficIcmp,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTrafficIcmp {
    #[serde(flatten)]
    pub common: IcmpFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted: Option<QuotedFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IcmpFields {
    /// 4 or 6.
    pub version: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<TypeCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<TypeCode>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeCode {
    #[serde(rename = "type")]
    pub ty: u8,
    pub code: u8,
    pub message: String,
}

/// The packet an ICMP error quotes, as the flow it belongs to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuotedFields {
    pub source: QuotedEndpoint,
    pub destination: QuotedEndpoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<&'static str>,
    pub iana_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuotedEndpoint {
    pub ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("icmp.version", "long", "ICMP version: 4 (ICMP) or 6 (ICMPv6). Packetbeat field."),
    ("icmp.request.type", "long", "Type of the request (every non-reply message)."),
    ("icmp.request.code", "long", "Code of the request."),
    ("icmp.request.message", "keyword", "Human-readable type and code of the request."),
    ("icmp.response.type", "long", "Type of the reply."),
    ("icmp.response.code", "long", "Code of the reply."),
    ("icmp.response.message", "keyword", "Human-readable type and code of the reply."),
    ("network_traffic.icmp.version", "long", "Same as icmp.version (integration name)."),
    ("network_traffic.icmp.request.type", "long", "Same as icmp.request.type."),
    ("network_traffic.icmp.request.code", "long", "Same as icmp.request.code."),
    ("network_traffic.icmp.request.message", "keyword", "Same as icmp.request.message."),
    ("network_traffic.icmp.response.type", "long", "Same as icmp.response.type."),
    ("network_traffic.icmp.response.code", "long", "Same as icmp.response.code."),
    ("network_traffic.icmp.response.message", "keyword", "Same as icmp.response.message."),
    (
        "network_traffic.icmp.quoted.source.ip",
        "ip",
        "Source address of the packet an error quotes.",
    ),
    ("network_traffic.icmp.quoted.source.port", "long", "Its source port (TCP/UDP/SCTP)."),
    (
        "network_traffic.icmp.quoted.destination.ip",
        "ip",
        "Destination address of the quoted packet.",
    ),
    ("network_traffic.icmp.quoted.destination.port", "long", "Its destination port."),
    (
        "network_traffic.icmp.quoted.transport",
        "keyword",
        "Transport of the quoted packet (tcp, udp, …).",
    ),
    (
        "network_traffic.icmp.quoted.iana_number",
        "keyword",
        "IP protocol number of the quoted packet.",
    ),
    (
        "network_traffic.icmp.quoted.community_id",
        "keyword",
        "Community ID of the quoted packet's flow.",
    ),
];

pub(super) fn quoted_fields(q: &Quoted) -> QuotedFields {
    let transport_ports = matches!(q.proto, 6 | 17 | 132);
    let port = |p: Option<u16>| if transport_ports { p } else { None };
    let (sport, dport) = match q.ports {
        Some((s, d)) => (Some(s), Some(d)),
        None => (None, None),
    };
    // Without ports a TCP/UDP tuple cannot be hashed like the flow was; ICMP and port-less
    // protocols hash as the Community ID spec says.
    let cid = match (q.proto, q.ports) {
        (6 | 17 | 132 | 1 | 58, Some((s, d))) => {
            community_id(COMMUNITY_ID_SEED, q.src, q.dst, q.proto, s, d)
        }
        (6 | 17 | 132 | 1 | 58, None) => None,
        _ => community_id(COMMUNITY_ID_SEED, q.src, q.dst, q.proto, 0, 0),
    };
    QuotedFields {
        source: QuotedEndpoint { ip: q.src, port: port(sport) },
        destination: QuotedEndpoint { ip: q.dst, port: port(dport) },
        transport: parser::transport_name(q.proto),
        iana_number: q.proto.to_string(),
        community_id: cid,
    }
}
