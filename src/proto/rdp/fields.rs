//! ECS fields of an RDP connection attempt (`user.name` from the `mstshash` cookie) and the
//! protocol's own under `network_traffic.rdp.*`.

use crate::proto::CustomField;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct NetworkTraffic {
    pub rdp: RdpFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct RdpFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_protocols: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_protocols_flags: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_protocol_flags: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.rdp.cookie", "keyword", "The mstshash cookie of the Connection Request (user name as typed, truncated by the client)."),
    ("network_traffic.rdp.routing_token", "keyword", "A routing token (cookie line other than mstshash) of the Connection Request."),
    ("network_traffic.rdp.requested_protocols", "keyword", "Security protocols the client requested (rdp, ssl, hybrid, rdstls, hybrid_ex)."),
    ("network_traffic.rdp.requested_protocols_flags", "long", "requestedProtocols of RDP_NEG_REQ."),
    ("network_traffic.rdp.selected_protocol", "keyword", "Security protocol the server selected."),
    ("network_traffic.rdp.selected_protocol_flags", "long", "selectedProtocol of RDP_NEG_RSP."),
    ("network_traffic.rdp.failure_code", "long", "failureCode of RDP_NEG_FAILURE."),
    ("network_traffic.rdp.failure_reason", "keyword", "Name of the RDP_NEG_FAILURE code."),
];
