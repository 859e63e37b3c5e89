//! Fields of a Thrift transaction (`network_traffic.thrift.*`, Packetbeat's `thrift.*` names)
//! and the custom-field list.

use crate::proto::CustomField;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub thrift: ThriftFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ThriftFields {
    /// The method name (the top-level `method`, in the integration's layout; Elastic's Thrift
    /// rule reads this one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The call's arguments rendered, `(1: 2, 2: "x")`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<String>,
    /// Field 0 of the reply, rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_value: Option<String>,
    /// A declared exception of the reply, or the TApplicationException message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<String>,
    /// Configured name of the service (`protocols.thrift.service`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// CALL or ONEWAY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<&'static str>,
    /// REPLY or EXCEPTION.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seqid: Option<i32>,
    /// TApplicationException type (1 UNKNOWN_METHOD, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception_type: Option<i32>,
    /// binary, binary-old or compact.
    pub protocol: &'static str,
    /// framed or unframed.
    pub transport: &'static str,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.thrift.method", "keyword", "Name of the called method (the top-level method, in the integration's layout)."),
    ("network_traffic.thrift.params", "keyword", "Arguments of the call, rendered (bounded): (1: 2, 2: \"x\")."),
    ("network_traffic.thrift.return_value", "keyword", "Return value (field 0 of the reply), rendered (bounded)."),
    ("network_traffic.thrift.exceptions", "keyword", "Declared exception of the reply (field id and value), or the TApplicationException message."),
    ("network_traffic.thrift.service", "keyword", "Name of the service, from the configuration."),
    ("network_traffic.thrift.request_type", "keyword", "Message type of the request: CALL or ONEWAY."),
    ("network_traffic.thrift.response_type", "keyword", "Message type of the response: REPLY or EXCEPTION."),
    ("network_traffic.thrift.seqid", "long", "Sequence id pairing the call with its reply."),
    ("network_traffic.thrift.exception_type", "long", "TApplicationException type (1 UNKNOWN_METHOD, 2 INVALID_MESSAGE_TYPE, ...)."),
    ("network_traffic.thrift.protocol", "keyword", "Thrift protocol: binary, binary-old (non-strict header) or compact."),
    ("network_traffic.thrift.transport", "keyword", "Thrift transport: framed or unframed."),
];
