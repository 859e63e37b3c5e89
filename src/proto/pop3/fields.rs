//! Fields of a POP3 transaction: `user.name` (USER / APOP / AUTH PLAIN, in clear) and the
//! protocol's own under `network_traffic.pop3.*`.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
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
    pub pop3: Pop3Fields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Pop3Fields {
    /// Command keyword, uppercased; absent for the greeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments (never PASS's; APOP: the name only; AUTH: the mechanism only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub greeting: bool,
    /// `+OK` or `-ERR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Bytes of a multi-line response after its status line (RETR, TOP, LIST, …), counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_bytes: Option<u64>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.pop3.command", "keyword", "POP3 command keyword, uppercased (absent for the greeting)."),
    (
        "network_traffic.pop3.args",
        "keyword",
        "Command arguments (never the password; APOP: name only; AUTH: mechanism only).",
    ),
    ("network_traffic.pop3.greeting", "boolean", "The event is the server's greeting."),
    ("network_traffic.pop3.status", "keyword", "Status of the response: +OK or -ERR."),
    ("network_traffic.pop3.text", "keyword", "Text of the status line."),
    ("network_traffic.pop3.data_bytes", "long", "Bytes of a multi-line response (messages are counted, not emitted)."),
];
