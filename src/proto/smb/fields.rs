//! ECS fields of an SMB transaction (`user.name`, `user.domain`, `file.name`, `file.path`) and
//! the protocol's own under `network_traffic.smb.*`, with the custom-field list.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct File {
    pub name: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct NetworkTraffic {
    pub smb: SmbFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct SmbFields {
    /// "SMB2" (also SMB3 dialects) or "SMB1".
    pub version: &'static str,
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dialects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_required: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ciphers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlm_version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ioctl_code: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub signed: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub compounded: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interim: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted_messages: Option<u64>,
}

const fn f(name: &'static str, ty: &'static str, desc: &'static str) -> CustomField {
    (name, ty, desc)
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    f("network_traffic.smb.version", "keyword", "SMB1 or SMB2 (SMB2 and SMB3 dialects)."),
    f("network_traffic.smb.command", "keyword", "Command name (NEGOTIATE, SESSION_SETUP, CREATE, SMB_COM_NEGOTIATE, ...)."),
    f("network_traffic.smb.status", "keyword", "NT status name of the response (STATUS_SUCCESS, STATUS_LOGON_FAILURE, ...)."),
    f("network_traffic.smb.status_code", "keyword", "NT status code of the response, hexadecimal."),
    f("network_traffic.smb.message_id", "long", "SMB2 message id (SMB1: multiplex id)."),
    f("network_traffic.smb.session_id", "keyword", "Session id, hexadecimal."),
    f("network_traffic.smb.tree_id", "long", "Tree id."),
    f("network_traffic.smb.tree", "keyword", "Share path of the tree (\\\\server\\share)."),
    f("network_traffic.smb.dialects", "keyword", "Dialects the client offered in NEGOTIATE."),
    f("network_traffic.smb.dialect", "keyword", "Dialect the server selected."),
    f("network_traffic.smb.signing_required", "boolean", "Security mode of NEGOTIATE/SESSION_SETUP: signing required."),
    f("network_traffic.smb.ciphers", "keyword", "SMB 3.1.1 encryption ciphers of the negotiate contexts."),
    f("network_traffic.smb.mechanism", "keyword", "Authentication mechanism of SESSION_SETUP: ntlmssp, kerberos or spnego."),
    f("network_traffic.smb.ntlm_version", "keyword", "NTLMv1, NTLMv2 or anonymous, by the NT response length of NTLMSSP AUTHENTICATE."),
    f("network_traffic.smb.workstation", "keyword", "Workstation name of NTLMSSP AUTHENTICATE."),
    f("network_traffic.smb.length", "long", "READ/WRITE length (requested, or read/written in the response)."),
    f("network_traffic.smb.ioctl_code", "keyword", "IOCTL/FSCTL control code, hexadecimal."),
    f("network_traffic.smb.signed", "boolean", "The message was signed."),
    f("network_traffic.smb.compounded", "boolean", "The request was part of a compounded chain (NextCommand)."),
    f("network_traffic.smb.interim", "boolean", "An interim STATUS_PENDING response was seen before the final one."),
    f("network_traffic.smb.encrypted", "boolean", "The session carries SMB3 encrypted (transform header) messages."),
    f("network_traffic.smb.encrypted_messages", "long", "SMB3 transform (encrypted) messages of the connection."),
];
