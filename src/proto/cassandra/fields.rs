//! ECS fields of a CQL transaction (`error.*`, `user.name`) and the protocol's own under
//! `network_traffic.cassandra.*` with Packetbeat's names (`request.headers.*`,
//! `request.query`, `response.result.*`, `response.error.*`, …).

use crate::proto::CustomField;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorFields {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub cassandra: CassandraFields,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CassandraFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Headers {
    /// Protocol version, e.g. "4".
    pub version: String,
    pub flags: String,
    pub stream: i64,
    pub op: &'static str,
    pub length: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RequestFields {
    pub headers: Headers,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<&'static str>,
    /// Id of the prepared statement an EXECUTE runs (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepared_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ResponseFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultFields>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub supported: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<EventFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ResponseError>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ResultFields {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Rows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyspace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_change: Option<SchemaChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepared: Option<Prepared>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rows {
    pub num_rows: i64,
    pub meta: RowsMeta,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowsMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyspace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    pub col_count: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SchemaChange {
    pub change: String,
    pub target: String,
    pub keyspace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Prepared {
    pub prepared_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Authentication {
    pub class: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventFields {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_change: Option<SchemaChange>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResponseError {
    pub code: i64,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

const fn f(n: &'static str, t: &'static str, d: &'static str) -> CustomField {
    (n, t, d)
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    f("network_traffic.cassandra.request.headers.version", "keyword", "Protocol version of the request frame."),
    f("network_traffic.cassandra.request.headers.flags", "keyword", "Flags of the request frame (Default, Compress, Tracing, CustomPayload, Warning, UseBeta)."),
    f("network_traffic.cassandra.request.headers.stream", "long", "Stream id of the request (pairs it with its response)."),
    f("network_traffic.cassandra.request.headers.op", "keyword", "Opcode of the request, e.g. QUERY."),
    f("network_traffic.cassandra.request.headers.length", "long", "Body length of the request frame."),
    f("network_traffic.cassandra.request.query", "keyword", "CQL text of a QUERY, PREPARE or BATCH."),
    f("network_traffic.cassandra.request.consistency", "keyword", "Consistency level of the request."),
    f("network_traffic.cassandra.request.prepared_id", "keyword", "Prepared statement an EXECUTE runs (hex)."),
    f("network_traffic.cassandra.response.headers.version", "keyword", "Protocol version of the response frame."),
    f("network_traffic.cassandra.response.headers.flags", "keyword", "Flags of the response frame."),
    f("network_traffic.cassandra.response.headers.stream", "long", "Stream id of the response."),
    f("network_traffic.cassandra.response.headers.op", "keyword", "Opcode of the response, e.g. RESULT."),
    f("network_traffic.cassandra.response.headers.length", "long", "Body length of the response frame."),
    f("network_traffic.cassandra.response.result.type", "keyword", "Kind of a RESULT: void, rows, setKeyspace, prepared, schemaChanged."),
    f("network_traffic.cassandra.response.result.rows.num_rows", "long", "Rows in a rows RESULT."),
    f("network_traffic.cassandra.response.result.rows.meta.keyspace", "keyword", "Keyspace of the rows."),
    f("network_traffic.cassandra.response.result.rows.meta.table", "keyword", "Table of the rows."),
    f("network_traffic.cassandra.response.result.rows.meta.col_count", "long", "Columns of the rows."),
    f("network_traffic.cassandra.response.result.keyspace", "keyword", "Keyspace a USE set."),
    f("network_traffic.cassandra.response.result.schema_change.change", "keyword", "CREATED, UPDATED or DROPPED."),
    f("network_traffic.cassandra.response.result.schema_change.target", "keyword", "KEYSPACE, TABLE, TYPE, FUNCTION or AGGREGATE."),
    f("network_traffic.cassandra.response.result.schema_change.keyspace", "keyword", "Keyspace of the schema change."),
    f("network_traffic.cassandra.response.result.schema_change.object", "keyword", "Table, type, function or aggregate changed."),
    f("network_traffic.cassandra.response.result.prepared.prepared_id", "keyword", "Id of the prepared statement (hex)."),
    f("network_traffic.cassandra.response.supported", "flattened", "Options of a SUPPORTED response (values joined by \", \")."),
    f("network_traffic.cassandra.response.authentication.class", "keyword", "Authenticator class the server asks for."),
    f("network_traffic.cassandra.response.warnings", "keyword", "Warnings the server attached to the response."),
    f("network_traffic.cassandra.response.event.type", "keyword", "Kind of a server EVENT: TOPOLOGY_CHANGE, STATUS_CHANGE, SCHEMA_CHANGE."),
    f("network_traffic.cassandra.response.event.change", "keyword", "Change an EVENT reports."),
    f("network_traffic.cassandra.response.event.schema_change.change", "keyword", "Change of a SCHEMA_CHANGE event."),
    f("network_traffic.cassandra.response.event.schema_change.target", "keyword", "Target of a SCHEMA_CHANGE event."),
    f("network_traffic.cassandra.response.event.schema_change.keyspace", "keyword", "Keyspace of a SCHEMA_CHANGE event."),
    f("network_traffic.cassandra.response.event.schema_change.object", "keyword", "Object of a SCHEMA_CHANGE event."),
    f("network_traffic.cassandra.response.error.code", "long", "Code of an ERROR response."),
    f("network_traffic.cassandra.response.error.msg", "keyword", "Message of an ERROR response."),
    f("network_traffic.cassandra.response.error.type", "keyword", "Name of the error code, e.g. Bad credentials."),
];
