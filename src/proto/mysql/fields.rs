//! ECS fields of a MySQL transaction (`user.name`, `error.code`, `error.message`) and the
//! protocol's own under `network_traffic.mysql.*` (Packetbeat's `mysql.*` names, plus the
//! handshake and prepared-statement fields), with the custom-field list.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorFields>,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
}

/// ECS `error.*`: the server's ERR packet (code as a keyword, as ECS maps it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ErrorFields {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct NetworkTraffic {
    pub mysql: MysqlFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct MysqlFields {
    /// `COM_QUERY`, `COM_STMT_EXECUTE`, …; `LOGIN` for the handshake.
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_params: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_attributes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insert_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_fields: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_plugin: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_upgrade: bool,
}

const fn f(name: &'static str, ty: &'static str, desc: &'static str) -> CustomField {
    (name, ty, desc)
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    f("network_traffic.mysql.command", "keyword", "Command of the request (COM_QUERY, …; LOGIN for the handshake)."),
    f("network_traffic.mysql.query", "keyword", "SQL text of the request (prepared statements: the prepared text), up to max_query_length (Packetbeat)."),
    f("network_traffic.mysql.statement_id", "long", "Prepared statement id (COM_STMT_*)."),
    f("network_traffic.mysql.num_params", "long", "Parameters of a prepared statement."),
    f("network_traffic.mysql.query_attributes", "long", "Query attributes sent with COM_QUERY."),
    f("network_traffic.mysql.affected_rows", "long", "Rows affected, from the OK packet (Packetbeat)."),
    f("network_traffic.mysql.insert_id", "long", "Last insert id, from the OK packet (Packetbeat)."),
    f("network_traffic.mysql.num_fields", "long", "Columns of the result set (Packetbeat)."),
    f("network_traffic.mysql.num_rows", "long", "Rows of the result set, up to max_rows (Packetbeat)."),
    f("network_traffic.mysql.warnings", "long", "Warning count of the OK/EOF packet."),
    f("network_traffic.mysql.error_code", "long", "Error code of the ERR packet (Packetbeat)."),
    f("network_traffic.mysql.sql_state", "keyword", "SQL state of the ERR packet."),
    f("network_traffic.mysql.error_message", "keyword", "Message of the ERR packet (Packetbeat)."),
    f("network_traffic.mysql.user", "keyword", "User of the handshake response or COM_CHANGE_USER."),
    f("network_traffic.mysql.database", "keyword", "Database of the handshake, COM_INIT_DB or COM_CHANGE_USER."),
    f("network_traffic.mysql.server_version", "keyword", "Server version of the greeting."),
    f("network_traffic.mysql.connection_id", "long", "Connection (thread) id of the greeting."),
    f("network_traffic.mysql.auth_plugin", "keyword", "Authentication plugin in use (after any auth switch)."),
    f("network_traffic.mysql.tls_upgrade", "boolean", "The client asked for TLS (SSLRequest); the rest is encrypted."),
];
