//! Fields of an SMTP transaction: ECS `email.*` (envelope addresses, subject, message id) and
//! `user.name` (the AUTH login), and the protocol's own under `network_traffic.smtp.*`.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    pub network_traffic: NetworkTraffic,
}

/// ECS `email.*`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Email {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Addresses>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Addresses>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Addresses {
    pub address: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct NetworkTraffic {
    pub smtp: SmtpFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct SmtpFields {
    /// The command verb, uppercased (`EHLO`, `MAIL`, `BDAT`, …); absent for the greeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The command's parameters (`FROM:<a@b>`, `11 LAST`; for `AUTH` the mechanism only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<String>,
    /// The server's greeting (`220` before any command).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub greeting: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
    /// The intermediate reply of `DATA` (354) or of an `AUTH` exchange (334).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intermediate_code: Option<u16>,
    /// `EHLO` reply: the extensions the server announced (first word, uppercased).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// `AUTH` mechanism (`PLAIN`, `LOGIN`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_mechanism: Option<String>,
    /// 334 challenges of an `AUTH` exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_challenges: Option<u64>,
    /// Message bytes sent after `DATA` (up to the final dot) or in `BDAT` chunks (for the
    /// last chunk, the whole message's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_bytes: Option<u64>,
    /// `BDAT` chunks of the message so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Response {
    pub code: u16,
    /// Text of the reply's first line.
    pub text: String,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.smtp.command", "keyword", "SMTP command verb, uppercased (absent for the greeting)."),
    (
        "network_traffic.smtp.params",
        "keyword",
        "Parameters of the command (for AUTH only the mechanism; credentials are never kept).",
    ),
    ("network_traffic.smtp.greeting", "boolean", "The event is the server's greeting."),
    ("network_traffic.smtp.response.code", "long", "Reply code of the server (final reply)."),
    ("network_traffic.smtp.response.text", "keyword", "Text of the first line of the final reply."),
    (
        "network_traffic.smtp.intermediate_code",
        "long",
        "Intermediate reply: 354 after DATA, 334 during an AUTH exchange.",
    ),
    ("network_traffic.smtp.extensions", "keyword", "Extensions announced in the EHLO reply."),
    ("network_traffic.smtp.auth_mechanism", "keyword", "SASL mechanism of AUTH."),
    ("network_traffic.smtp.auth_challenges", "long", "334 challenges the server sent during AUTH."),
    (
        "network_traffic.smtp.message_bytes",
        "long",
        "Bytes of the message sent with DATA or BDAT (not emitted, counted).",
    ),
    ("network_traffic.smtp.chunks", "long", "BDAT chunks of the message so far."),
];
