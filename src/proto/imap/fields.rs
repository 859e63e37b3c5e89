//! Fields of an IMAP transaction: `user.name` (LOGIN, in clear) and the protocol's own under
//! `network_traffic.imap.*`.

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
    pub imap: ImapFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ImapFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Command name, uppercased (`UID FETCH` keeps both words); absent for the greeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments of the command's first line (LOGIN: the user only; AUTHENTICATE: the
    /// mechanism only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub greeting: bool,
    /// Tagged completion (`OK`, `NO`, `BAD`), or the greeting's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Untagged responses (`* …`) received while the command ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untagged: Option<u64>,
    /// Bytes of literals (`{n}`) in the server's responses, skipped by count (message bodies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub literal_bytes: Option<u64>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.imap.tag", "keyword", "Tag of the IMAP command."),
    ("network_traffic.imap.command", "keyword", "IMAP command name, uppercased (absent for the greeting)."),
    (
        "network_traffic.imap.args",
        "keyword",
        "Arguments of the command's first line (LOGIN: user only; AUTHENTICATE: mechanism only).",
    ),
    ("network_traffic.imap.greeting", "boolean", "The event is the server's greeting."),
    ("network_traffic.imap.status", "keyword", "Completion status: OK, NO or BAD (greeting: OK, PREAUTH, BYE)."),
    ("network_traffic.imap.text", "keyword", "Text of the completion response."),
    ("network_traffic.imap.untagged", "long", "Untagged responses sent while the command ran."),
    ("network_traffic.imap.literal_bytes", "long", "Bytes of server literals skipped (message bodies)."),
];
