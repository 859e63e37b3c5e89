//! ECS fields of a TLS session (`tls.*`, Packetbeat's `tls.detailed.*`) and the custom-field
//! list.

use super::cert::{CertFields, ChainEntry};
use crate::proto::CustomField;
use serde::Serialize;

/// The ECS fields of a TLS session (the top-level `tls` object).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    pub tls: TlsFields,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TlsFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
    pub established: bool,
    pub resumed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerFields>,
    pub detailed: Detailed,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ClientFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<String>,
    /// Not in ECS (custom field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_ciphers: Vec<String>,
    #[serde(flatten)]
    pub cert: Option<CertFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificate_chain: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ServerFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<String>,
    #[serde(flatten)]
    pub cert: Option<CertFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificate_chain: Vec<String>,
}

/// Packetbeat's `tls.detailed` (not ECS).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Detailed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumption_method: Option<&'static str>,
    pub client_certificate_requested: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_hello: Option<ClientHelloDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_hello: Option<ServerHelloDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s_string: Option<String>,
    /// Always present (empty: no plaintext alert), as Elastic's rules query it.
    pub alert_types: Vec<String>,
    pub alerts: Vec<AlertDetail>,
    /// Odd things seen on the wire (heartbleed, not_tls_record, oversized_record, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_certificate_chain: Vec<ChainEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_certificate_chain: Vec<ChainEntry>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ClientHelloDetail {
    pub version: String,
    /// The hello came in the SSLv2-compatible record format.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sslv2_format: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_compression_methods: Vec<String>,
    pub extensions: HelloExtensions,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct HelloExtensions {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_name_indication: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub application_layer_protocol_negotiation: Vec<String>,
    /// Ticket length, or "" when support is announced with an empty ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_ticket: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_versions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signature_algorithms: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ec_points_formats: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_share: Vec<String>,
    #[serde(rename = "_unparsed_", skip_serializing_if = "Vec::is_empty")]
    pub unparsed: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ServerHelloDetail {
    pub version: String,
    pub selected_cipher: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_compression_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub extensions: HelloExtensions,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AlertDetail {
    pub source: &'static str,
    pub severity: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub code: u8,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("tls.client.ja4", "keyword", "JA4 fingerprint of the ClientHello (FoxIO)."),
    ("tls.detailed.version", "keyword", "Negotiated version, e.g. TLS 1.3 (Packetbeat)."),
    ("tls.detailed.client_certificate_requested", "boolean", "The server asked for one."),
    ("tls.detailed.resumption_method", "keyword", "id, ticket or psk (resumed sessions)."),
    ("tls.detailed.client_hello.version", "keyword", "ClientHello version, e.g. 3.3."),
    ("tls.detailed.client_hello.sslv2_format", "boolean", "ClientHello in SSLv2 format."),
    ("tls.detailed.client_hello.session_id", "keyword", "Session id offered (hex)."),
    ("tls.detailed.client_hello.supported_compression_methods", "keyword", "Offered."),
    ("tls.detailed.client_hello.extensions.server_name_indication", "keyword", "SNI names."),
    (
        "tls.detailed.client_hello.extensions.application_layer_protocol_negotiation",
        "keyword",
        "ALPN protocols offered.",
    ),
    ("tls.detailed.client_hello.extensions.session_ticket", "keyword", "Ticket length."),
    ("tls.detailed.client_hello.extensions.supported_versions", "keyword", "Versions offered."),
    ("tls.detailed.client_hello.extensions.supported_groups", "keyword", "Groups offered."),
    ("tls.detailed.client_hello.extensions.signature_algorithms", "keyword", "Offered."),
    ("tls.detailed.client_hello.extensions.ec_points_formats", "keyword", "Offered."),
    ("tls.detailed.client_hello.extensions.key_share", "keyword", "Key share groups."),
    ("tls.detailed.client_hello.extensions._unparsed_", "keyword", "Other extensions."),
    ("tls.detailed.server_hello.version", "keyword", "ServerHello version, e.g. 3.3."),
    ("tls.detailed.server_hello.selected_cipher", "keyword", "Cipher suite chosen."),
    ("tls.detailed.server_hello.selected_compression_method", "keyword", "Compression."),
    ("tls.detailed.server_hello.session_id", "keyword", "Session id (hex)."),
    (
        "tls.detailed.server_hello.extensions.application_layer_protocol_negotiation",
        "keyword",
        "ALPN protocol selected.",
    ),
    ("tls.detailed.server_hello.extensions.session_ticket", "keyword", "Ticket announced."),
    ("tls.detailed.server_hello.extensions.supported_versions", "keyword", "Version chosen."),
    ("tls.detailed.server_hello.extensions.ec_points_formats", "keyword", "Formats."),
    ("tls.detailed.server_hello.extensions.key_share", "keyword", "Key share group."),
    ("tls.detailed.server_hello.extensions._unparsed_", "keyword", "Other extensions."),
    ("tls.detailed.ja3_string", "keyword", "The string hashed into tls.client.ja3."),
    ("tls.detailed.ja3s_string", "keyword", "The string hashed into tls.server.ja3s."),
    ("tls.detailed.alert_types", "keyword", "Type of every plaintext alert (Packetbeat)."),
    ("tls.detailed.alerts", "object", "Alerts: source, severity, type, code."),
    ("tls.detailed.anomalies", "keyword", "Odd records or messages seen (e.g. heartbleed)."),
    ("tls.detailed.server_certificate_chain", "object", "Certificates after the leaf."),
];
