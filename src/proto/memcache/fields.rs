//! Fields of a memcache transaction, under `network_traffic.memcached.*` (the Network Packet
//! Capture integration's data stream and namespace; Packetbeat's `memcache.*` names below it).

use crate::proto::CustomField;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fields {
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkTraffic {
    pub memcached: MemcacheFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MemcacheFields {
    /// "text" or "binary".
    pub protocol_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode_value: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_values: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exptime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cas_unique: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noreply: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opaque: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ResponseFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_values: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cas_unique: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opaque: Option<u32>,
}


macro_rules! f {
    ($name:literal, $ty:literal, $doc:literal) => {
        (concat!("network_traffic.memcached.", $name), $ty, $doc)
    };
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    f!("protocol_type", "keyword", "Memcache protocol: text or binary."),
    f!("request.command", "keyword", "Text command (binary opcodes translated: GetQ is get)."),
    f!("request.type", "keyword", "Command class: Load, Store, Delete, Counter, Info, Stats, Auth, …"),
    f!("request.opcode", "keyword", "Binary opcode name."),
    f!("request.opcode_value", "long", "Binary opcode number."),
    f!("request.keys", "keyword", "Keys of the request."),
    f!("request.count_values", "long", "Values sent by the request."),
    f!("request.bytes", "long", "Bytes of the values sent."),
    f!("request.exptime", "long", "Expiration time requested."),
    f!("request.flags", "long", "Client flags stored with the value."),
    f!("request.cas_unique", "long", "CAS value of the request."),
    f!("request.delta", "long", "Amount of an incr/decr."),
    f!("request.noreply", "boolean", "Text request with noreply (or a quiet meta flag): no reply sent."),
    f!("request.quiet", "boolean", "Binary quiet opcode: no reply on success."),
    f!("request.opaque", "long", "Binary opaque value (pairs a response with its request)."),
    f!("request.line", "keyword", "Line of an unknown text command."),
    f!("response.command", "keyword", "Text reply word (STORED, VALUE, …) or the binary command."),
    f!("response.type", "keyword", "Reply class: Success, Fail, Load, Counter, Stats, Info, …"),
    f!("response.opcode", "keyword", "Binary opcode name of the response."),
    f!("response.status", "keyword", "Binary response status name."),
    f!("response.status_code", "long", "Binary response status code (0 success)."),
    f!("response.error_msg", "keyword", "Error text of CLIENT_ERROR / SERVER_ERROR or a binary error."),
    f!("response.keys", "keyword", "Keys of the values returned."),
    f!("response.count_values", "long", "Values returned."),
    f!("response.bytes", "long", "Bytes of the values returned."),
    f!("response.value", "long", "Result of an incr/decr."),
    f!("response.version", "keyword", "Server version returned."),
    f!("response.cas_unique", "long", "CAS value returned."),
    f!("response.opaque", "long", "Binary opaque value of the response."),
];

