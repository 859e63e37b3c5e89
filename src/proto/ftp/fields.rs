//! Fields of an FTP transaction: ECS `user.name` and `file.*`, and `network_traffic.ftp.*`
//! outside ECS.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    pub network_traffic: NetworkTraffic,
}

/// ECS `user.*`: the name given by `USER`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub name: String,
}

/// ECS `file.*`: the file of `RETR`, `STOR`, `DELE`, `SIZE`, ….
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkTraffic {
    pub ftp: FtpFields,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FtpFields {
    /// The command verb, uppercased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The command's arguments (never those of `PASS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// A `PASS` command was sent (its argument is not kept).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_sent: bool,
    /// The final reply's code and text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<String>,
    /// Codes of preliminary (1xx) replies before the final one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preliminary_codes: Vec<u16>,
    /// The data connection endpoint this command or its reply announced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataEndpoint>,
}

/// Where the data connection goes: `PORT`/`EPRT` (active, the client listens) or the reply to
/// `PASV`/`EPSV` (passive, the server listens).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DataEndpoint {
    /// Absent for `EPSV` (the control connection's server address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub port: u16,
    pub passive: bool,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.ftp.command", "keyword", "FTP command verb, uppercased (RETR, USER, …)."),
    (
        "network_traffic.ftp.arguments",
        "keyword",
        "Arguments of the command; never those of PASS.",
    ),
    ("network_traffic.ftp.password_sent", "boolean", "A PASS command was sent (not its text)."),
    ("network_traffic.ftp.reply_code", "long", "Code of the final reply to the command."),
    ("network_traffic.ftp.reply_text", "keyword", "Text of the final reply (lines joined)."),
    (
        "network_traffic.ftp.preliminary_codes",
        "long",
        "Codes of the preliminary (1xx) replies before the final one.",
    ),
    (
        "network_traffic.ftp.data.ip",
        "ip",
        "Address of the data connection from PORT/EPRT or the 227 reply to PASV.",
    ),
    ("network_traffic.ftp.data.port", "long", "Port of the data connection."),
    (
        "network_traffic.ftp.data.passive",
        "boolean",
        "The server listens for the data connection (PASV/EPSV); false for PORT/EPRT.",
    ),
];
