//! ECS fields of a PostgreSQL transaction (`user.name`, `error.*`) and its own fields under
//! `network_traffic.pgsql.*` (Packetbeat's `pgsql.*` names: `query`, `error_code`,
//! `error_message`, `error_severity`, `num_fields`, `num_rows`, and wirebeat's additions).

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub name: String,
}

/// ECS `error.*`: the SQLSTATE and the primary message of the server's ErrorResponse.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Error {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkTraffic {
    pub pgsql: PgsqlFields,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PgsqlFields {
    /// The SQL text (of the simple query, or of the prepared statement executed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The prepared statement's name when it is a named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The client's messages of this cycle, in order (`Query`, `Parse`, `Bind`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_messages: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command_tag: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_fields: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_rows: Option<u64>,
    /// Bytes of COPY data (either direction); the data itself is never kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    /// Of the StartupMessage, e.g. "3.0".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// ParameterStatus `server_version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The first authentication method the server asked for (md5, sasl, cleartext, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<&'static str>,
    /// SASL mechanisms the server offered (SCRAM-SHA-256, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_mechanisms: Vec<String>,
    /// The client asked for TLS (SSLRequest) or GSSAPI encryption: whether the server agreed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_upgrade: Option<bool>,
    /// BackendKeyData of the login, or the backend a CancelRequest names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_pid: Option<u64>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    (
        "network_traffic.pgsql.query",
        "wildcard",
        "SQL text of the query (Packetbeat pgsql.query); wildcard: rules search it with *COPY*.",
    ),
    ("network_traffic.pgsql.statement", "keyword", "Name of the prepared statement executed."),
    (
        "network_traffic.pgsql.request_messages",
        "keyword",
        "Client message types of the query cycle (Query, Parse, Bind, Execute, Sync, …).",
    ),
    ("network_traffic.pgsql.command_tag", "keyword", "CommandComplete tags, e.g. INSERT 0 1."),
    ("network_traffic.pgsql.num_fields", "long", "Fields per row of the result (Packetbeat)."),
    ("network_traffic.pgsql.num_rows", "long", "Rows of the result (Packetbeat)."),
    ("network_traffic.pgsql.copy_bytes", "long", "Bytes of COPY data (not kept)."),
    ("network_traffic.pgsql.error_code", "keyword", "SQLSTATE of the ErrorResponse (Packetbeat)."),
    ("network_traffic.pgsql.error_message", "keyword", "Message of the ErrorResponse (Packetbeat)."),
    ("network_traffic.pgsql.error_severity", "keyword", "Severity of the ErrorResponse (Packetbeat)."),
    ("network_traffic.pgsql.user", "keyword", "User of the StartupMessage."),
    ("network_traffic.pgsql.database", "keyword", "Database of the StartupMessage."),
    ("network_traffic.pgsql.application_name", "keyword", "application_name of the StartupMessage."),
    ("network_traffic.pgsql.protocol_version", "keyword", "Protocol version of the StartupMessage."),
    ("network_traffic.pgsql.server_version", "keyword", "server_version the server reported."),
    ("network_traffic.pgsql.auth_method", "keyword", "Authentication the server asked for (md5, sasl, …)."),
    ("network_traffic.pgsql.auth_mechanisms", "keyword", "SASL mechanisms the server offered."),
    ("network_traffic.pgsql.tls_upgrade", "boolean", "Whether the server accepted the SSLRequest/GSSENCRequest."),
    ("network_traffic.pgsql.backend_pid", "long", "Backend process of the login or of a CancelRequest."),
];
