//! ECS fields of an HTTP transaction (`http.*`, `url.*`, `user_agent.original`) and the
//! custom-field list.

use super::url;
use crate::proto::CustomField;
use serde::Serialize;
use std::collections::BTreeMap;

/// The ECS fields of an HTTP transaction (flattened at the top level of the event).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    pub http: HttpFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<url::Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<UserAgent>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserAgent {
    pub original: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HttpFields {
    /// "1.1" or "1.0".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BodyFields {
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RequestFields {
    /// As on the wire (ECS: keep the original casing).
    pub method: String,
    /// Head and body bytes on the wire.
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResponseFields {
    /// Absent when only interim responses were seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_phrase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Interim (1xx) status codes that came before the final response, e.g. 100.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interim_status_codes: Vec<u16>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    (
        "http.request.headers",
        "flattened",
        "Request headers chosen by send_headers, by lowercase name (Packetbeat field).",
    ),
    (
        "http.response.headers",
        "flattened",
        "Response headers chosen by send_headers, by lowercase name (Packetbeat field).",
    ),
    ("http.response.status_phrase", "keyword", "Reason phrase of the status line (Packetbeat)."),
    (
        "http.response.interim_status_codes",
        "long",
        "Interim 1xx responses (e.g. 100 Continue) before the final one.",
    ),
];
