//! Fields of a Redis transaction (`network_traffic.redis.*`, Packetbeat's `redis.*` names), and
//! the fields outside ECS they add.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fields {
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkTraffic {
    pub redis: RedisFields,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RedisFields {
    /// The command with its (bounded, masked) arguments, as the top-level `query`: the
    /// integration's layout, which Elastic's rules read (`network_traffic.redis.query`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The command name, uppercased (`SET`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments after the command name, at most `max_args`, each cut to `max_arg_length`;
    /// secrets (`AUTH` passwords) are replaced by `*`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Number of arguments the command had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_count: Option<u64>,
    /// Some arguments were left out or cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub args_truncated: bool,
    /// The command was sent inline (a text line, not a RESP array).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
    /// RESP type of the reply (`simple_string`, `bulk_string`, `array`, `map`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_type: Option<&'static str>,
    /// The reply rendered as text (bounded), Packetbeat's `redis.return_value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_value: Option<String>,
    /// The error reply (`-ERR …`, `!…`), Packetbeat's `redis.error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    (
        "network_traffic.redis.query",
        "keyword",
        "The command and its arguments as text (bounded, secrets masked), like the top-level query.",
    ),
    ("network_traffic.redis.command", "keyword", "Redis command name, uppercased."),
    (
        "network_traffic.redis.args",
        "keyword",
        "Command arguments (bounded by max_args and max_arg_length; AUTH secrets masked).",
    ),
    ("network_traffic.redis.args_count", "long", "Number of arguments of the command."),
    (
        "network_traffic.redis.args_truncated",
        "boolean",
        "Arguments were left out or cut by max_args / max_arg_length.",
    ),
    ("network_traffic.redis.inline", "boolean", "The command was sent as an inline text line."),
    ("network_traffic.redis.reply_type", "keyword", "RESP type of the reply."),
    (
        "network_traffic.redis.return_value",
        "keyword",
        "The reply rendered as text (bounded; Packetbeat redis.return_value).",
    ),
    ("network_traffic.redis.error", "keyword", "Error reply of the server (Packetbeat redis.error)."),
];
